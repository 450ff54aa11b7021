// UDP (RFC 768, RFC 1122 4.1) and its sockets (udp(7)).
#pragma once

#include <memory>

#include "stack/registration.h"
#include "transport/datagram.h"
#include "transport/port_table.h"

namespace usnet {

class Stack;

// The largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP).
inline constexpr std::size_t kMaxUdpPayload = 65507;

struct UdpSock : Socket {
  using Socket::Socket;
  DgramQueue rx;
};

class Udp : public TransportProtocol {
 public:
  explicit Udp(Stack& stack);

  // inet_create's UDP branch: a new, unbound socket.
  std::unique_ptr<Socket> udp_init_sock(int family, int protocol);

  void rcv(Packet pkt, const NetRcvInfo& ip) override;        // udp_rcv
  void err(const IcmpError& icmp, ByteSpan quoted) override;  // udp_err

  PortTable& ports() noexcept { return ports_; }

 private:
  UdpSock* lookup(IpAddress saddr, std::uint16_t sport, IpAddress daddr, std::uint16_t dport);
  void deliver(UdpSock& sk, Packet data, std::size_t len, const SockAddr& from);

  Stack& stack_;
  PortTable ports_;
};

// The operations of UDP sockets (Linux inet_dgram_ops with udp_prot).
extern const ProtoOps kUdpOps;

}  // namespace usnet
