// Frames a test (or fuzz harness) plays as a peer: a TCP segment wrapped in IPv4 and
// Ethernet with correct checksums, so that it reaches the code under test.
#pragma once

#include "base/packet.h"
#include "wire/addresses.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::frames {

// Puts an Ethernet header in front of `p` (which starts at the network header).
inline void push_ethernet(Packet& p, MacAddress src, MacAddress dst, std::uint16_t ethertype) {
  wire::EthernetHeader eth;
  eth.dst = dst;
  eth.src = src;
  eth.ethertype = ethertype;
  eth.emit(p.push(wire::EthernetHeader::kSize));
}

// A whole frame carrying `h` and `payload` from src to dst (IPv4 with DF, TCP checksummed).
// `tos` is the IP TOS byte (DSCP and the ECN field).
inline Packet tcp_frame(const wire::TcpHeader& h, ByteSpan payload, Ipv4Address src,
                        Ipv4Address dst, MacAddress src_mac, MacAddress dst_mac,
                        std::uint8_t tos = 0) {
  Packet p = Packet::copy_of(payload);
  h.emit(p.push(h.size()));
  wire::TcpHeader::finish_checksum(p.data(), src, dst);
  wire::Ipv4Header ip;
  ip.protocol = static_cast<std::uint8_t>(wire::IpProtocol::kTcp);
  ip.src = src;
  ip.dst = dst;
  ip.total_length = static_cast<std::uint16_t>(p.size() + wire::Ipv4Header::kMinSize);
  ip.dont_fragment = true;
  ip.tos = tos;
  ip.emit(p.push(wire::Ipv4Header::kMinSize));
  push_ethernet(p, src_mac, dst_mac, 0x0800);
  return p;
}

}  // namespace usnet::frames
