// IPv4 for a host (RFC 791, RFC 1122 3.2.1): input validation and local delivery, output
// with routing, fragmentation (RFC 791 3.2, RFC 815 on the receive side in ip_reassembly.h)
// and neighbour resolution. No forwarding: datagrams not addressed to this host are counted
// (IpInAddrErrors) and dropped.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/packet.h"
#include "base/result.h"
#include "link/interface.h"
#include "net/ip_reassembly.h"
#include "stack/registration.h"
#include "wire/ipv4.h"

namespace usnet {

class Stack;

// net.ipv4.route.min_pmtu: the smallest path MTU a Fragmentation Needed may set (512 bytes
// of data with IPv4 and TCP headers).
inline constexpr std::uint32_t kIpRtMinPmtu = 552;

// Path MTU discovery modes of IP_MTU_DISCOVER (ip(7)).
enum class PmtuMode : std::uint8_t {
  kDont,  // IP_PMTUDISC_DONT: never set DF
  kWant,  // IP_PMTUDISC_WANT (Linux's default for UDP): DF when it fits, else fragment
  kDo,    // IP_PMTUDISC_DO: always DF; larger datagrams fail with EMSGSIZE
};

struct IpOutParams {
  Ipv4Address src;  // 0.0.0.0: chosen from the route
  Ipv4Address dst;
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  PmtuMode pmtu = PmtuMode::kWant;
  std::uint32_t oif = 0;  // SO_BINDTODEVICE-style output interface; 0 = by route
};

// Where a datagram to `dst` leaves and with what source address (Linux ip_route_output).
struct OutputRoute {
  Interface* ifc = nullptr;
  Ipv4Address src;
  Ipv4Address next_hop;
  bool local = false;      // to one of our own addresses: looped back
  bool broadcast = false;  // limited or directed broadcast on ifc
};

class Ipv4 : public NetworkProtocol {
 public:
  explicit Ipv4(Stack& stack);

  void register_protocol(std::uint8_t protocol, TransportProtocol* handler) {
    protocols_[protocol] = handler;
  }
  TransportProtocol* protocol(std::uint8_t p) const noexcept { return protocols_[p]; }

  // An IP datagram received on `ifc` (pkt.data() starts at the IP header).
  void ip_rcv(Interface& ifc, Packet pkt);
  // The link layer's way in, registered for EtherType 0x0800.
  void rcv(Interface& ifc, Packet pkt) override { ip_rcv(ifc, std::move(pkt)); }

  // Sends a transport datagram: pkt.data() is the transport header and payload; pushes the
  // IP header, fragments if needed and hands the result to the neighbour layer.
  Status ip_output(Packet pkt, const IpOutParams& params);

  // Route lookup for output. kNetworkUnreachable if no route; kAddressNotAvailable if `src`
  // is given and is not ours.
  Result<OutputRoute> route_output(Ipv4Address dst, Ipv4Address src = {}, std::uint32_t oif = 0);

  Ipv4Reassembly& reassembly() noexcept { return reasm_; }
  std::uint16_t next_id() noexcept { return id_++; }

 private:
  // Invariant for every handler below: payload.data() starts at the transport header and
  // payload.unpull(ip.header_length) restores the IP header in front of it.
  void ip_local_deliver(Interface& ifc, const wire::Ipv4Header& ip, Packet payload);
  Status ip_fragment(const OutputRoute& rt, const wire::Ipv4Header& base, Packet payload);
  void ip_finish_output(const OutputRoute& rt, Ipv4Address dst, Packet pkt);

  Stack& stack_;
  std::array<TransportProtocol*, 256> protocols_{};
  Ipv4Reassembly reasm_;
  std::uint16_t id_;
};

}  // namespace usnet
