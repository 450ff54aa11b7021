// A network interface: what `ip link` and `ip addr` show. It binds a Device to a MAC
// address, an MTU and its IPv4 addresses. Owned by the Stack; index 0 is never used (as in
// Linux, where ifindex 0 means "any").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dev/device.h"
#include "wire/addresses.h"

namespace usnet {

struct Interface {
  std::uint32_t index = 0;
  std::string name;
  Device* dev = nullptr;  // not owned: the caller keeps the device alive as long as the stack
  MacAddress mac;
  std::size_t mtu = 1500;  // largest IP datagram the link carries (RFC 894)
  std::vector<Ipv4Cidr> addrs;
  // IPv6 addresses (RFC 4291): the link-local one first once IPv6 configures the link.
  // Invariant: only addresses usable as a source are here (DAD has finished, RFC 4862 5.4).
  std::vector<Ipv6Cidr> addrs6;

  bool has_address(Ipv4Address a) const {
    for (const auto& c : addrs) {
      if (c.address == a) return true;
    }
    return false;
  }
  bool has_address(const Ipv6Address& a) const {
    for (const auto& c : addrs6) {
      if (c.address == a) return true;
    }
    return false;
  }
  // True for 255.255.255.255 and for the directed broadcast of any of our subnets.
  bool is_broadcast_for(Ipv4Address a) const {
    if (a.is_broadcast()) return true;
    for (const auto& c : addrs) {
      if (c.prefix_len < 31 && c.directed_broadcast() == a) return true;
    }
    return false;
  }
  // The address to use as source towards `dst`: one on dst's subnet, else the first.
  std::optional<Ipv4Address> source_for(Ipv4Address dst) const {
    for (const auto& c : addrs) {
      if (c.contains(dst)) return c.address;
    }
    if (addrs.empty()) return std::nullopt;
    return addrs.front().address;
  }
};

}  // namespace usnet
