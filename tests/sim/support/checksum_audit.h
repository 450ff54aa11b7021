// A device wrapper that judges every frame a stack receives before the stack sees it: with
// its own Internet checksum arithmetic (RFC 1071, written here from the RFC, not the
// stack's wire/ code) and in the order a host's input path looks at a frame (Ethernet type
// field, destination and type, IPv4 version, lengths and header checksum, destination address,
// then the TCP or UDP header and checksum). Its counts say what the stack must have dropped
// and counted, so a test can hold the stack's counters to them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "dev/device.h"
#include "wire/addresses.h"

namespace usnet::sim {

// The ones' complement sum of `b` (RFC 1071 section 4.1), starting from `sum`.
inline std::uint32_t rfc1071_add(ByteSpan b, std::uint32_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2)
    sum += static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[i]) << 8 |
                                      static_cast<std::uint8_t>(b[i + 1]));
  if (i < b.size()) sum += static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[i]) << 8);
  while ((sum >> 16) != 0)
    sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// True if data whose checksum field is filled in sums to all ones (the check passes).
inline bool rfc1071_ok(ByteSpan b, std::uint32_t pseudo = 0) {
  return rfc1071_add(b, pseudo) == 0xffff;
}

// The IPv4 pseudo-header's contribution (RFC 9293 3.1, RFC 768).
inline std::uint32_t pseudo_v4(ByteSpan ip, std::uint8_t proto, std::size_t len) {
  std::uint32_t s = rfc1071_add(ip.subspan(12, 8));
  return s + proto + static_cast<std::uint32_t>(len);
}

struct AuditCounts {
  std::uint64_t frames = 0;
  std::uint64_t eth_error = 0;     // an 802.3 length where the EtherType belongs
  std::uint64_t other_host = 0;    // Ethernet destination neither ours nor broadcast/multicast
  std::uint64_t unknown_type = 0;  // not IPv4 or ARP (a VLAN tag included)
  std::uint64_t arp = 0;           // ARP has no checksum: not judged
  std::uint64_t ip_header = 0;     // bad version, header length or total length
  std::uint64_t ip_truncated = 0;  // shorter than its header or total length says
  std::uint64_t ip_checksum = 0;   // header checksum fails
  std::uint64_t not_for_us = 0;    // a sound header for another address
  std::uint64_t fragments = 0;     // go to reassembly: not judged further
  std::uint64_t tcp_header = 0;    // shorter than 20 bytes or a data offset it cannot have
  std::uint64_t tcp_checksum = 0;
  std::uint64_t udp_header = 0;
  std::uint64_t udp_checksum = 0;
  std::uint64_t passed = 0;  // every checksum over it holds
};

class ChecksumAudit final : public Device {
 public:
  ChecksumAudit(Device& inner, MacAddress mac, Ipv4Address addr)
      : inner_(inner), mac_(mac), addr_(addr) {}

  const std::string& name() const override { return inner_.name(); }
  std::size_t max_frame_size() const override { return inner_.max_frame_size(); }
  std::size_t max_receive_frame_size() const override { return inner_.max_receive_frame_size(); }
  std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) override {
    const std::size_t before = out.size();
    const std::size_t n = inner_.receive(now, out, max);
    for (std::size_t i = before; i < out.size(); ++i)
      judge(out[i].data());
    return n;
  }
  void transmit(Instant now, Packet frame) override { inner_.transmit(now, std::move(frame)); }
  void flush(Instant now) override { inner_.flush(now); }
  Instant next_deadline() const override { return inner_.next_deadline(); }

  const AuditCounts& counts() const { return c_; }

 private:
  void judge(ByteSpan f) {
    c_.frames++;
    if (f.size() < 14) return;
    const std::uint16_t type = load_be<std::uint16_t>(f, 12);
    if (type < 0x0600) {
      c_.eth_error++;
      return;
    }
    const bool group = (static_cast<std::uint8_t>(f[0]) & 1) != 0;  // broadcast or multicast
    bool ours = true;
    for (std::size_t i = 0; i < 6; ++i)
      ours = ours && f[i] == static_cast<std::byte>(mac_.octets[i]);
    if (!ours && !group) {
      c_.other_host++;
      return;
    }
    if (type == 0x0806) {
      c_.arp++;
      return;
    }
    if (type != 0x0800) {
      c_.unknown_type++;
      return;
    }
    ByteSpan ip = f.subspan(14);
    if (ip.size() < 20) {
      c_.ip_truncated++;
      return;
    }
    const auto vihl = static_cast<std::uint8_t>(ip[0]);
    const std::size_t ihl = (vihl & 0x0fu) * 4u;
    const std::size_t total = load_be<std::uint16_t>(ip, 2);
    if ((vihl >> 4) != 4 || ihl < 20) {
      c_.ip_header++;
      return;
    }
    if (ihl > ip.size()) {
      c_.ip_truncated++;
      return;
    }
    if (total < ihl) {
      c_.ip_header++;
      return;
    }
    if (total > ip.size()) {
      c_.ip_truncated++;
      return;
    }
    if (!rfc1071_ok(ip.first(ihl))) {
      c_.ip_checksum++;
      return;
    }
    ip = ip.first(total);  // Ethernet padding is not part of the datagram
    if (load_be<std::uint32_t>(ip, 16) != addr_.value) {
      c_.not_for_us++;
      return;
    }
    if ((load_be<std::uint16_t>(ip, 6) & 0x3fff) != 0) {
      c_.fragments++;
      return;
    }
    const auto proto = static_cast<std::uint8_t>(ip[9]);
    const ByteSpan l4 = ip.subspan(ihl);
    if (proto == 6) {
      const std::size_t doff = l4.size() >= 20 ? (static_cast<std::uint8_t>(l4[12]) >> 4) * 4u : 0;
      if (l4.size() < 20 || doff < 20 || doff > l4.size()) {
        c_.tcp_header++;
      } else if (!rfc1071_ok(l4, pseudo_v4(ip, 6, l4.size()))) {
        c_.tcp_checksum++;
      } else {
        c_.passed++;
      }
    } else if (proto == 17) {
      const std::size_t len = l4.size() >= 8 ? load_be<std::uint16_t>(l4, 4) : 0;
      if (l4.size() < 8 || len < 8 || len > l4.size()) {
        c_.udp_header++;
      } else if (load_be<std::uint16_t>(l4, 6) != 0 &&
                 !rfc1071_ok(l4.first(len), pseudo_v4(ip, 17, len))) {
        c_.udp_checksum++;
      } else {
        c_.passed++;
      }
    } else {
      c_.passed++;
    }
  }

  Device& inner_;
  MacAddress mac_;
  Ipv4Address addr_;
  AuditCounts c_;
};

// A SimNetOptions wrap_* function that puts an audit in front of a stack and keeps a
// pointer to it in *where.
inline auto audit_into(ChecksumAudit** where, MacAddress mac, Ipv4Address addr) {
  return [where, mac, addr](Device& inner) -> std::unique_ptr<Device> {
    auto d = std::make_unique<ChecksumAudit>(inner, mac, addr);
    *where = d.get();
    return d;
  };
}

}  // namespace usnet::sim
