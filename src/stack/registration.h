// The narrow interfaces between layers (STYLE habit 5), in one place.
//
//   Device  (dev/device.h)          frames in and out; driven with `now`.
//   Ethernet -> network protocols:  Ipv4::ip_rcv, Arp::arp_rcv (fixed: the set is small).
//   Network -> transport protocols: TransportProtocol below, registered by protocol number;
//                                   transport -> network: NetProtocol (net/net_proto.h).
//   Transport -> sockets:           the Socket/ProtoOps pair of socket/socket.h.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "base/packet.h"
#include "base/result.h"
#include "net/net_proto.h"

namespace usnet {

// An ICMP error about a datagram this stack sent, reduced to what a transport needs.
struct IcmpError {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  Error error = Error::kHostUnreachable;  // what a socket would report (Linux icmp_err_convert)
  bool fatal = false;     // a "hard" error: reported to connected sockets (RFC 1122 4.1.3.3)
  std::uint16_t mtu = 0;  // next-hop MTU for "fragmentation needed" / "packet too big"
  QuotedHeader quoted;    // the network header of the datagram we sent
};

class TransportProtocol {
 public:
  virtual ~TransportProtocol() = default;
  // A datagram for this protocol addressed to us. pkt.data() starts at the transport header;
  // `ip` says what it arrived with (after reassembly), and pkt.unpull(ip.header_length)
  // restores the network header in front (to quote the datagram in an ICMP error).
  virtual void rcv(Packet pkt, const NetRcvInfo& ip) = 0;
  // An ICMP error quoting a datagram we sent; `quoted` holds the first bytes of its
  // transport header (at least 8, RFC 792).
  virtual void err(const IcmpError& icmp, ByteSpan quoted) = 0;
};

}  // namespace usnet
