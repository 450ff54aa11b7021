// The boundary between the transports and the network layer, the same for IPv4 and IPv6
// (Linux splits it between struct inet_connection_sock_af_ops, ipv4_specific and
// ipv6_specific, and the per-family route and output calls): a transport routes, sends and
// answers through a NetProtocol chosen by the address family, and learns of a received
// datagram only what NetRcvInfo carries. Nothing here names IPv4's header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/packet.h"
#include "base/result.h"
#include "link/interface.h"
#include "net/pmtu_cache.h"
#include "wire/addresses.h"

namespace usnet {

// Path MTU discovery modes of IP_MTU_DISCOVER (ip(7)) and IPV6_MTU_DISCOVER (ipv6(7)).
enum class PmtuMode : std::uint8_t {
  kDont,  // IP_PMTUDISC_DONT: never set DF
  kWant,  // IP_PMTUDISC_WANT (Linux's default for UDP): DF when it fits, else fragment
  kDo,    // IP_PMTUDISC_DO: always DF; larger datagrams fail with EMSGSIZE
};

// What a transport asks of the network layer for one datagram (Linux: the flowi4/flowi6
// and the inet_sock fields ip_queue_xmit reads). src and dst are of the protocol's family.
struct NetOutParams {
  IpAddress src;  // the unspecified address: chosen from the route
  IpAddress dst;
  std::uint8_t protocol = 0;  // IPv4 protocol / IPv6 next header
  std::uint8_t ttl = 64;      // TTL / hop limit
  std::uint8_t tos = 0;       // TOS / traffic class (ECN in the low two bits)
  PmtuMode pmtu = PmtuMode::kWant;
  std::uint32_t oif = 0;  // SO_BINDTODEVICE-style output interface; 0 = by route
};

// Where a datagram to a destination leaves and with what source address (Linux
// ip_route_output / ip6_route_output).
struct OutputRoute {
  Interface* ifc = nullptr;
  IpAddress src;
  IpAddress next_hop;
  bool local = false;      // to one of our own addresses: looped back
  bool broadcast = false;  // limited or directed broadcast on ifc (IPv4 only)
};

class NetProtocol;
class TransportProtocol;

// What a transport learns of the network header a datagram arrived with (after
// reassembly; Linux reads these from ip_hdr()/ipv6_hdr() and the control block).
// Invariant: pkt.unpull(header_length) restores the network header(s) in front of the
// transport header, so that an error can quote the datagram.
struct NetRcvInfo {
  NetProtocol* net = nullptr;  // the protocol it came by (never null)
  IpAddress src;
  IpAddress dst;
  std::uint8_t protocol = 0;        // the transport's protocol number
  std::uint8_t tos = 0;             // TOS / traffic class
  std::uint8_t ttl = 0;             // TTL / hop limit
  std::uint16_t header_length = 0;  // network header bytes, options and extensions included
  std::uint32_t ifindex = 0;        // the interface it arrived on
};

// The IP header of a datagram we sent, quoted by an ICMP error, reduced to what a
// transport needs to find the socket it concerns.
struct QuotedHeader {
  IpAddress src;  // us
  IpAddress dst;  // the peer
  std::uint8_t protocol = 0;
};

class NetProtocol {
 public:
  virtual ~NetProtocol() = default;
  virtual int family() const noexcept = 0;  // AF_INET or AF_INET6
  // The header a transport's segments travel behind without options: 20 for IPv4, 40 for
  // IPv6 (Linux icsk_af_ops->net_header_len), so that MSS = MTU - this - TCP header.
  virtual std::size_t header_size() const noexcept = 0;
  // The smallest path MTU a "too big" report may set: net.ipv4.route.min_pmtu (552) for
  // IPv4; 1280 for IPv6 (RFC 8200 5).
  virtual std::uint32_t min_pmtu() const noexcept = 0;
  // Route lookup for output. kNetworkUnreachable if no route; kAddressNotAvailable if `src`
  // is given (not the unspecified address) and is not ours.
  virtual Result<OutputRoute> route_output(const IpAddress& dst, const IpAddress& src,
                                           std::uint32_t oif) = 0;
  // Sends a transport datagram: pkt.data() is the transport header and payload; pushes the
  // network header, fragments if needed and hands the result to the neighbour layer.
  virtual Status output(Packet pkt, const NetOutParams& params) = 0;
  // True when `a` is one of this host's addresses (a unicast destination for us).
  virtual bool is_local_address(const IpAddress& a) const noexcept = 0;
  // Tells the sender of a datagram no socket wants (RFC 1122 4.1.3.1; RFC 4443 3.1 code
  // 4): `datagram` starts at the network header (pkt.unpull(info.header_length)).
  virtual void port_unreachable(ByteSpan datagram, const NetRcvInfo& info) = 0;

  // The transports by protocol number (Linux inet_protos / inet6_protos): UDP and TCP
  // register with both families, so one transport serves both.
  void register_protocol(std::uint8_t protocol, TransportProtocol* handler) noexcept {
    protocols_[protocol] = handler;
  }
  TransportProtocol* protocol(std::uint8_t p) const noexcept { return protocols_[p]; }

  // Path MTUs learned from ICMP(v6) reports for this family's destinations.
  PmtuCache& pmtu_cache() noexcept { return pmtu_cache_; }
  // The MTU of the path to `dst` by route `rt`: the interface's, lowered by what a report
  // taught (Linux dst_mtu of the route exception).
  std::uint32_t path_mtu(const OutputRoute& rt, const IpAddress& dst, Instant now) const noexcept {
    const std::uint32_t learned = pmtu_cache_.lookup(dst, now);
    const auto ifc_mtu = static_cast<std::uint32_t>(rt.ifc->mtu);
    return learned != 0 && learned < ifc_mtu ? learned : ifc_mtu;
  }

 private:
  std::array<TransportProtocol*, 256> protocols_{};
  PmtuCache pmtu_cache_;
};

}  // namespace usnet
