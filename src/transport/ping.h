// ICMP echo sockets of both families, Linux's "ping sockets" (net/ipv4/ping.c serves
// AF_INET and AF_INET6 alike, icmp(7)): socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) and
// socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6). The application sends an echo request
// header and data; the stack sets the identifier to the socket's bound "port" and computes
// the checksum (ICMPv6's over the pseudo-header, RFC 4443 2.3), and the socket receives the
// echo replies carrying that identifier (header and data, without the IP header) and the
// ICMP errors about its requests. `usnet ping` is built on them through the C API.
#pragma once

#include <memory>

#include "stack/registration.h"
#include "transport/datagram.h"
#include "transport/port_table.h"

namespace usnet {

class Stack;

struct PingSock : Socket {
  using Socket::Socket;
  DgramQueue rx;
};

// Registered with IPv4 for protocol 1 and IPv6 for 58 (Linux's ICMP layers call ping_rcv
// and ping_err): ICMP and ICMPv6 keep every other message to themselves and hand this
// only echo replies (rcv) and errors that quote an echo request (err).
class Ping final : public TransportProtocol {
 public:
  explicit Ping(Stack& stack);
  std::unique_ptr<Socket> ping_init_sock(int family);
  // ping_rcv: pkt.data() starts at the ICMP(v6) header of an echo reply.
  void rcv(Packet pkt, const NetRcvInfo& ip) override;
  // ping_err: `quoted` starts at the ICMP(v6) header of the request we sent.
  void err(const IcmpError& icmp, ByteSpan quoted) override;
  // One table for both families, as Linux's ping_table: identifiers play the role of ports.
  PortTable& idents() noexcept { return idents_; }

 private:
  PingSock* ping_lookup(int family, std::uint16_t ident, const IpAddress& local,
                        const IpAddress& peer);

  Stack& stack_;
  PortTable idents_;
};

extern const ProtoOps kPingOps;

}  // namespace usnet
