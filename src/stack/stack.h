// A Stack is one host: its interfaces, routes, neighbour cache, IP, ICMP, UDP (TCP later),
// its sockets and counters. It owns all of that; there is no global state (DESIGN.md
// invariant 1), so any number of stacks live in one process.
//
// The stack is single-threaded and never blocks or reads a clock (invariants 2 and 3):
// the caller drives it with poll(now), which handles arrived frames and due timers and
// returns when it next needs to run. Socket calls made between polls act at the time of the
// last poll.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/packet.h"
#include "base/result.h"
#include "base/rng.h"
#include "base/siphash.h"
#include "base/time.h"
#include "base/timer_wheel.h"
#include "base/trace.h"
#include "link/ethernet.h"
#include "link/interface.h"
#include "stack/mib.h"
#include "stack/registration.h"
#include "stack/sysctl.h"
#include "wire/addresses.h"

namespace usnet {

class Arp;
class Ipv4;
class NetProtocol;
class Icmp;
class Icmpv6;
class Ipv6;
class Ndp;
class Udp;
class Tcp;
class Ping;
class RouteTable;
class SocketTable;

struct StackConfig {
  std::string name = "usnet";
  // A simulation's seed: it seeds the stack's Rng (ephemeral ports, IP ids, ARP jitter) and
  // the secrets of its keyed hashes (RFC 6528 ISNs, SYN cookies), so the same seed gives
  // the same bytes on the wire. Unset, the Rng's seed and every secret come from the
  // kernel's getrandom() (os_random), as a real host's must.
  std::optional<std::uint64_t> seed;
  // The settings the stack starts with (net.ipv4.*, net.core.*); sysctl() changes them
  // later, as `sysctl -w` does a kernel's.
  Sysctl sysctl;
};

class Stack {
 public:
  explicit Stack(StackConfig config = {});
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // --- configuration: what `ip link`, `ip addr` and `ip route` do ---
  // Attaches a device. `mtu` is the IP MTU (1500 on Ethernet). Returns the ifindex.
  Result<std::uint32_t> add_interface(std::string name, Device& dev, MacAddress mac,
                                      std::size_t mtu = 1500);
  // Adds an address and its connected route, and announces it with a gratuitous ARP.
  Status add_address(std::uint32_t ifindex, Ipv4Cidr cidr);
  // Adds an IPv6 address (`ip -6 addr add ... nodad`): usable at once, its prefix on-link.
  // Every Ethernet interface has its link-local address from the start (RFC 4862 5.3).
  Status add_address6(std::uint32_t ifindex, Ipv6Cidr cidr);
  // `ip route add dst via gateway`; gateway 0.0.0.0 means on-link through `ifindex`.
  Status add_route(Ipv4Cidr dst, Ipv4Address gateway, std::uint32_t ifindex = 0);

  // Puts another device under an interface, e.g. a PcapDevice wrapping the current one.
  Status replace_device(std::uint32_t ifindex, Device& dev);

  Interface* interface(std::uint32_t ifindex) noexcept;
  const std::vector<std::unique_ptr<Interface>>& interfaces() const noexcept { return ifs_; }
  // True if `a` is one of this host's addresses (or in 127/8).
  bool is_local_address(Ipv4Address a) const noexcept;
  // The same for an address of either family (false for a family the stack lacks).
  bool is_local_address(const IpAddress& a) const noexcept;
  // True if `a` is a broadcast address for any interface.
  bool is_broadcast_address(Ipv4Address a) const noexcept;
  bool is_broadcast_address(const IpAddress& a) const noexcept {
    return a.is_v4() && is_broadcast_address(a.v4());
  }

  // The loopback interface every stack has, as Linux's `lo` (ifindex 1, 127.0.0.1/8).
  static constexpr std::uint32_t kLoopbackIndex = 1;
  // Frames taken from one device in one poll(), so one busy device cannot starve the rest.
  static constexpr std::size_t kRxBudget = 256;

  // --- driving ---
  // Handles every frame that has arrived and every timer due by `now`; flushes devices.
  // Returns the earliest time it must be polled again even if no frame arrives (kNever if
  // none). `now` must not go backwards.
  Instant poll(Instant now);
  // When poll() must next run if no frame arrives from outside: timers, and frames already
  // scheduled on simulated devices (which another stack may have sent since our last poll,
  // so a driver of several stacks asks after polling them all).
  Instant next_deadline() const noexcept;
  Instant now() const noexcept { return now_; }
  // True if work is queued that the next poll() handles without waiting (looped-back
  // packets), so a runtime must not sleep.
  bool has_pending_work() const noexcept { return !loopback_.empty() || rx_more_; }
  // Packets taken in so far (from devices and loopback): a runtime compares it across a
  // poll() to tell whether anything arrived that a waiting call should look at.
  std::uint64_t packets_in() const noexcept { return packets_in_; }

  // --- subsystems ---
  const StackConfig& config() const noexcept { return config_; }
  // The settings under Linux's sysctl names, read by the layers as plain fields.
  Sysctl& sysctl() noexcept { return sysctl_; }
  const Sysctl& sysctl() const noexcept { return sysctl_; }
  MibCounters& mib() noexcept { return mib_; }
  const MibCounters& mib() const noexcept { return mib_; }
  Tracer& tracer() noexcept { return tracer_; }
  Rng& rng() noexcept { return rng_; }
  // A new key for a keyed hash whose outputs a peer must not predict: drawn from the Rng
  // of a seeded stack, from os_random() otherwise.
  SipKey make_secret() noexcept;
  RouteTable& routes() noexcept { return *routes_; }
  Arp& arp() noexcept { return *arp_; }
  Ndp& ndp() noexcept { return *ndp_; }
  Ipv4& ipv4() noexcept { return *ipv4_; }
  // The network protocol transports use for an address family (AF_INET, AF_INET6): null
  // for a family this stack does not have.
  NetProtocol* net_for(int family) noexcept;
  Icmp& icmp() noexcept { return *icmp_; }
  Ipv6& ipv6() noexcept { return *ipv6_; }
  Icmpv6& icmpv6() noexcept { return *icmpv6_; }
  Udp& udp() noexcept { return *udp_; }
  Tcp& tcp() noexcept { return *tcp_; }
  TimerWheel& timers() noexcept { return timers_; }
  Ping& ping() noexcept { return *ping_; }
  SocketTable& sockets() noexcept { return *sockets_; }

  // --- used by the layers ---
  // What the Ethernet layer sees of this stack; eth_output, the bottom of every transmit
  // path, takes it.
  LinkContext& link() noexcept { return link_; }
  // Queues an IP datagram addressed to this host for input at the next poll (the loopback
  // device of Linux). pkt.data() starts at the IP header.
  void loopback_xmit(Packet pkt);

 private:
  // One frame from ifc's device, handed to the link layer (eth_rcv).
  void netif_receive(Interface& ifc, Packet frame);

  StackConfig config_;
  Sysctl sysctl_;
  Instant now_ = kEpoch;
  MibCounters mib_;
  TimerWheel timers_;  // before the protocols: their sockets' timers unlink from it
  Tracer tracer_;
  Rng rng_;
  PacketTypeTable ptypes_;  // filled by the constructor: IPv4 and ARP
  LinkContext link_{mib_, tracer_, now_, ptypes_};
  std::vector<std::unique_ptr<Interface>> ifs_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<Arp> arp_;
  std::unique_ptr<Ndp> ndp_;
  std::unique_ptr<Ipv4> ipv4_;
  std::unique_ptr<Icmp> icmp_;
  std::unique_ptr<Ipv6> ipv6_;
  std::unique_ptr<Icmpv6> icmpv6_;
  std::unique_ptr<Udp> udp_;
  std::unique_ptr<Tcp> tcp_;
  std::unique_ptr<Ping> ping_;
  std::unique_ptr<SocketTable> sockets_;
  std::deque<Packet> loopback_;
  bool rx_more_ = false;          // a device filled its budget in the last poll()
  std::uint64_t packets_in_ = 0;  // see packets_in()
  std::vector<Packet> rx_batch_;  // reused by poll() to avoid an allocation per call
};

}  // namespace usnet
