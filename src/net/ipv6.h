// IPv6 for a host (RFC 8200): header validation, the extension-header chain, local
// delivery to ICMPv6 and the transports, and output with routing, fragmentation (RFC 8200
// 4.5) and neighbour discovery. No forwarding: packets for other hosts are counted
// (Ip6InAddrErrors) and dropped, as a Linux host with forwarding off drops them.
//
// Fragments are reassembled (RFC 8200 4.5) by the family-independent queues of
// net/ip_reassembly.h, overlaps dropping the whole packet (RFC 5722); an atomic fragment
// is taken at once (RFC 6946). Not yet: routes other than on-link prefixes and the
// loopback, and address configuration beyond what is added by hand (SLAAC, DAD).
#pragma once

#include <array>
#include <cstdint>

#include "base/packet.h"
#include "base/result.h"
#include "link/interface.h"
#include "net/ip_reassembly.h"
#include "net/net_proto.h"
#include "stack/registration.h"
#include "wire/ipv6.h"
#include "wire/ipv6_ext.h"

namespace usnet {

class Stack;

class Ipv6 final : public NetProtocol, public PacketHandler {
 public:
  explicit Ipv6(Stack& stack);

  int family() const noexcept override { return AF_INET6; }
  std::size_t header_size() const noexcept override { return wire::Ipv6Header::kSize; }
  std::uint32_t min_pmtu() const noexcept override { return kIpv6MinMtu; }
  Result<OutputRoute> route_output(const IpAddress& dst, const IpAddress& src,
                                   std::uint32_t oif) override;
  Status output(Packet pkt, const NetOutParams& params) override {
    return ip6_output(std::move(pkt), params);
  }
  bool is_local_address(const IpAddress& a) const noexcept override;
  void port_unreachable(ByteSpan datagram, const NetRcvInfo& info) override;

  // An IPv6 packet received on `ifc` (pkt.data() starts at the fixed header).
  void ip6_rcv(Interface& ifc, Packet pkt);
  // The link layer's way in, registered for EtherType 0x86dd.
  void rcv(Interface& ifc, Packet pkt) override { ip6_rcv(ifc, std::move(pkt)); }

  // Sends a transport datagram (pkt.data() at the upper-layer header): pushes the fixed
  // header, fragments if it does not fit the link (RFC 8200 4.5; only the source
  // fragments in IPv6) and hands the result to neighbour discovery.
  Status ip6_output(Packet pkt, const NetOutParams& params);

  // True for the multicast groups a host listens to on every link: all-nodes ff02::1
  // (RFC 4291 2.7.1) and the solicited-node group of each of ifc's addresses.
  bool in_multicast_group(const Interface& ifc, const Ipv6Address& group) const noexcept;

  // Reassembly timers (ip6frag_time): packets whose time ran out are dropped, their
  // sender told with a time exceeded (code 1) if the first fragment had come.
  void tick(Instant now);
  Instant next_deadline() const noexcept { return reasm_.next_deadline(); }
  const FragQueues<Ipv6FragFirst>& reassembly() const noexcept { return reasm_; }

  // RFC 8200 5: every link carries at least 1280 bytes.
  static constexpr std::uint32_t kIpv6MinMtu = 1280;

 private:
  // Walks the extension headers after the fixed header; returns false if the packet was
  // dropped (and answered, where RFC 8200 4 says so). On success `upper` is the offset of
  // the upper-layer header and `nh` its protocol number.
  bool ip6_parse_exthdrs(Interface& ifc, const wire::Ipv6Header& ip, Packet& pkt,
                         std::size_t& upper, std::uint8_t& nh);
  // A fragment (not atomic) whose fragment header `h` says `fh`: queued; when its packet
  // is whole, that packet goes through the input path again.
  void ip6_frag_rcv(Interface& ifc, const wire::Ipv6Header& ip, Packet pkt,
                    const wire::Ipv6ExtHeader& h, const wire::Ipv6FragmentHeader& fh);
  void ip6_input_finish(Interface& ifc, const wire::Ipv6Header& ip, Packet pkt, std::size_t upper,
                        std::uint8_t nh);
  // Cuts the packet into fragments that fit `mtu` (the path's, at least 1280).
  Status ip6_fragment(const OutputRoute& rt, const wire::Ipv6Header& base, Packet payload,
                      std::size_t mtu);
  void ip6_finish_output(const OutputRoute& rt, const Ipv6Address& dst, Packet pkt);
  // Source address selection (RFC 6724 5, reduced): an address of `ifc` of the
  // destination's scope, preferring the longest matching prefix; else any of ifc's.
  const Ipv6Address* select_source(const Interface& ifc, const Ipv6Address& dst) const noexcept;

  Stack& stack_;
  std::uint32_t frag_id_;
  FragQueues<Ipv6FragFirst> reasm_;
};

}  // namespace usnet
