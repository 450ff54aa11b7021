// ICMP echo sockets: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), Linux's "ping sockets"
// (net/ipv4/ping.c, icmp(7)). The application sends an ICMP echo request header and data;
// the stack sets the identifier to the socket's bound "port" and computes the checksum,
// and the socket receives the echo replies carrying that identifier (header and data,
// without the IP header). `usnet ping` is built on them through the C API.
#pragma once

#include <memory>

#include "net/icmp.h"
#include "transport/datagram.h"
#include "transport/port_table.h"

namespace usnet {

class Stack;

struct PingSock : Socket {
  using Socket::Socket;
  DgramQueue rx;
};

class Ping : public IcmpEchoListener {
 public:
  explicit Ping(Stack& stack);
  std::unique_ptr<Socket> ping_init_sock();
  void echo_reply(Packet pkt, const wire::Ipv4Header& ip, const wire::IcmpHeader& h) override;
  PortTable& idents() noexcept { return idents_; }

 private:
  Stack& stack_;
  PortTable idents_;  // identifiers play the role of ports
};

extern const ProtoOps kPingOps;

}  // namespace usnet
