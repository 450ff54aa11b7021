#include "transport/ping.h"

#include <netinet/in.h>
#include <poll.h>

#include <fmt/format.h>

#include "socket/af_inet.h"
#include "stack/stack.h"

namespace usnet {
namespace {

PingSock& ping_sk(Socket& s) {
  return static_cast<PingSock&>(s);
}

Status ping_bind(Socket& sock, const SockAddr& addr) {
  sock.stack.tracer().step("ping_bind");
  if (auto st = inet_check_bind_addr(sock, addr); !st) return st;
  auto st = sock.stack.ping().idents().bind(sock, addr.addr, addr.port, sock.stack.rng());
  if (st) sock.bound_explicitly = true;
  return st;
}

Status ping_autobind(Socket& sock) {
  if (sock.local.port != 0) return {};
  if (!sock.stack.ping().idents().bind(sock, IpAddress::any(AF_INET), 0, sock.stack.rng())) {
    return Error::kWouldBlock;
  }
  return {};
}

// ICMP echo is IPv4's (ICMPv6 ping sockets are a protocol of their own): every ping socket
// routes and sends through the AF_INET network protocol.
NetProtocol& ping_net(Stack& stack) {
  return *stack.net_for(AF_INET);
}

Status ping_connect(Socket& sock, const SockAddr& addr, int /*flags*/) {
  if (addr.family == AF_UNSPEC) {
    sock.remote = {};
    return {};
  }
  if (addr.family != AF_INET) return Error::kAddressFamilyNotSupported;
  auto rt = ping_net(sock.stack).route_output(addr.addr, sock.local.addr, 0);
  if (!rt) return rt.error();
  if (auto st = ping_autobind(sock); !st) return st;
  sock.remote = SockAddr::inet(addr.addr.v4(), 0);
  return {};
}

Result<std::size_t> ping_sendmsg(Socket& sock, const SendMsg& msg, int /*flags*/) {
  Stack& stack = sock.stack;
  stack.tracer().step("ping_v4_sendmsg");
  const std::size_t len = msg.total();
  IpAddress dst;
  if (msg.dest != nullptr) {
    if (msg.dest->family != AF_INET) return Error::kAddressFamilyNotSupported;
    dst = msg.dest->addr;
  } else {
    if (!sock.connected()) return Error::kDestinationRequired;
    dst = sock.remote.addr;
  }
  // ping_common_sendmsg: at least an ICMP header, at most what fits in one IP datagram,
  // and only echo requests with code 0.
  if (len < wire::IcmpHeader::kSize) return Error::kInvalidArgument;
  if (len > 65535 - wire::Ipv4Header::kMinSize) return Error::kMessageTooLong;
  Packet p = gather(msg, Packet::kDefaultHeadroom);
  if (load_u8(p.data(), 0) != static_cast<std::uint8_t>(wire::IcmpType::kEchoRequest) ||
      load_u8(p.data(), 1) != 0) {
    return Error::kInvalidArgument;
  }
  if (auto e = sock.take_error()) return *e;
  if (auto st = ping_autobind(sock); !st) return st.error();
  NetProtocol& net = ping_net(stack);
  auto rt = net.route_output(dst, sock.local.addr, 0);
  if (!rt) return rt.error();
  if (rt->broadcast && !sock.opt.broadcast) return Error::kPermissionDenied;
  store_be<std::uint16_t>(p.data(), 4, sock.local.port);
  wire::IcmpHeader::finish_checksum(p.data());
  const NetOutParams ip =
      sock.ip_out_params(rt->src, dst, static_cast<std::uint8_t>(wire::IpProtocol::kIcmp));
  stack.mib().IcmpOutMsgs++;
  stack.mib().IcmpOutEchos++;
  if (auto st = net.output(std::move(p), ip); !st) return st.error();
  return len;
}

Result<RecvResult> ping_recvmsg(Socket& sock, const RecvMsg& msg, int flags) {
  sock.stack.tracer().step("ping_recvmsg");
  return dgram_recvmsg(sock, ping_sk(sock).rx, msg, flags);
}

PollMask ping_poll(Socket& sock) {
  return dgram_poll(sock, ping_sk(sock).rx);
}

Result<int> ping_ioctl(Socket& sock, unsigned long request) {
  return dgram_ioctl(ping_sk(sock).rx, request);
}

void ping_release(std::unique_ptr<Socket> owned) {
  Socket& sock = *owned;
  sock.stack.ping().idents().unbind(sock);
  ping_sk(sock).rx.clear();
}

}  // namespace

const ProtoOps kPingOps = {
    .name = "inet_dgram_ops(ping)",
    .bind = ping_bind,
    .connect = ping_connect,
    .sendmsg = ping_sendmsg,
    .recvmsg = ping_recvmsg,
    .shutdown = inet_shutdown,
    .setsockopt = nullptr,
    .getsockopt = nullptr,
    .poll = ping_poll,
    .release = ping_release,
    .listen = nullptr,
    .accept = nullptr,
    .ioctl = ping_ioctl,
    .sockopt_changed = nullptr,
    .tskey = nullptr,
    .sendmsg_done = nullptr,
};

Ping::Ping(Stack& stack) : stack_(stack), idents_(udp_bind_conflict) {}

std::unique_ptr<Socket> Ping::ping_init_sock() {
  stack_.tracer().step("ping_init_sock");
  return std::make_unique<PingSock>(stack_, AF_INET, SOCK_DGRAM, IPPROTO_ICMP, kPingOps);
}

void Ping::echo_reply(Packet pkt, const wire::Ipv4Header& ip, const wire::IcmpHeader& h) {
  for (Socket* s : idents_.on_port(h.ident)) {
    if (!s->local.addr.is_any() && s->local.addr != ip.dst) continue;
    if (s->connected() && s->remote.addr != ip.src) continue;
    auto& ps = ping_sk(*s);
    if (!ps.rx.enqueue(Datagram{std::move(pkt), SockAddr::inet(ip.src, 0), s->stack.now()},
                       s->opt.rcvbuf)) {
      stack_.tracer().step("drop: receive buffer full");
    } else {
      stack_.tracer().step(fmt::format("sock_queue_rcv fd {}", s->fd));
      sk_data_ready(*s);
    }
    return;
  }
  stack_.tracer().step("no ping socket");
}

}  // namespace usnet
