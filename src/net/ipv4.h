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
#include "net/net_proto.h"
#include "stack/registration.h"
#include "wire/ipv4.h"

namespace usnet {

class Stack;

// net.ipv4.route.min_pmtu: the smallest path MTU a Fragmentation Needed may set (512 bytes
// of data with IPv4 and TCP headers).
inline constexpr std::uint32_t kIpRtMinPmtu = 552;

class Ipv4 final : public NetProtocol, public PacketHandler {
 public:
  explicit Ipv4(Stack& stack);

  int family() const noexcept override { return AF_INET; }
  std::size_t header_size() const noexcept override { return wire::Ipv4Header::kMinSize; }
  std::uint32_t min_pmtu() const noexcept override { return kIpRtMinPmtu; }
  Result<OutputRoute> route_output(const IpAddress& dst, const IpAddress& src,
                                   std::uint32_t oif) override;
  Status output(Packet pkt, const NetOutParams& params) override {
    return ip_output(std::move(pkt), params);
  }
  bool is_local_address(const IpAddress& a) const noexcept override;
  void port_unreachable(ByteSpan datagram, const NetRcvInfo& info) override;

  // An IP datagram received on `ifc` (pkt.data() starts at the IP header).
  void ip_rcv(Interface& ifc, Packet pkt);
  // The link layer's way in, registered for EtherType 0x0800.
  void rcv(Interface& ifc, Packet pkt) override { ip_rcv(ifc, std::move(pkt)); }

  // Sends a transport datagram: pkt.data() is the transport header and payload; pushes the
  // IP header, fragments if needed and hands the result to the neighbour layer.
  // src and dst are IPv4 addresses (the NetProtocol contract).
  Status ip_output(Packet pkt, const NetOutParams& params);

  Ipv4Reassembly& reassembly() noexcept { return reasm_; }
  std::uint16_t next_id() noexcept { return id_++; }

 private:
  // Invariant for every handler below: payload.data() starts at the transport header and
  // payload.unpull(ip.header_length) restores the IP header in front of it.
  void ip_local_deliver(Interface& ifc, const wire::Ipv4Header& ip, Packet payload);
  // Cuts the datagram into fragments that fit `mtu` (the path's).
  Status ip_fragment(const OutputRoute& rt, const wire::Ipv4Header& base, Packet payload,
                     std::size_t mtu);
  void ip_finish_output(const OutputRoute& rt, Ipv4Address dst, Packet pkt);

  Stack& stack_;
  Ipv4Reassembly reasm_;
  std::uint16_t id_;
};

}  // namespace usnet
