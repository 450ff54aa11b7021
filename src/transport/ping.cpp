#include "transport/ping.h"

#include <netinet/in.h>
#include <poll.h>

#include <fmt/format.h>

#include "net/icmp.h"
#include "net/icmpv6.h"
#include "socket/af_inet.h"
#include "stack/stack.h"
#include "wire/icmpv4.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"

namespace usnet {
namespace {

constexpr std::size_t kEchoHeader = 8;  // type, code, checksum, identifier, sequence

PingSock& ping_sk(Socket& s) {
  return static_cast<PingSock&>(s);
}

std::uint8_t echo_request_type(int family) {
  return family == AF_INET6 ? static_cast<std::uint8_t>(wire::Icmpv6Type::kEchoRequest)
                            : static_cast<std::uint8_t>(wire::IcmpType::kEchoRequest);
}

// ping_check_bind_addr: the socket's own family; for IPv4 no multicast or broadcast
// address (EADDRNOTAVAIL), for IPv6 no multicast or v4-mapped one (EINVAL).
Status ping_check_bind_addr(Socket& sock, const SockAddr& addr) {
  if (addr.family == sock.family) {
    const IpAddress& a = addr.addr;
    if (a.is_v6() && (a.is_multicast() || a.v6().is_v4_mapped())) return Error::kInvalidArgument;
    if (a.is_v4() && (a.is_multicast() || sock.stack.is_broadcast_address(a) || a.is_broadcast())) {
      return Error::kAddressNotAvailable;
    }
  }
  return inet_check_bind_addr(sock, addr);
}

Status ping_bind(Socket& sock, const SockAddr& addr) {
  sock.stack.tracer().step("ping_bind");
  if (auto st = ping_check_bind_addr(sock, addr); !st) return st;
  auto st = sock.stack.ping().idents().bind(sock, addr.addr, addr.port, sock.stack.rng());
  if (st) {
    sock.local.family = sock.family;
    sock.local.scope_id = addr.scope_id;
    sock.bound_explicitly = true;
  }
  return st;
}

Status ping_autobind(Socket& sock) {
  if (sock.local.port != 0) return {};
  auto st = sock.stack.ping().idents().bind(sock, IpAddress::any(sock.family), 0, sock.stack.rng());
  if (!st) return Error::kWouldBlock;
  sock.local.family = sock.family;
  return {};
}

// A destination as ping_v4_sendmsg / ping_v6_sendmsg and ip{,6}_datagram_connect take it:
// the socket's family only (ping sockets are not dual-stack: a v4-mapped address is
// refused), and a link-local IPv6 address only with an interface.
Result<SockAddr> ping_dest(const Socket& sock, const SockAddr& a, Error mapped_error) {
  if (a.family != sock.family) return Error::kAddressFamilyNotSupported;
  SockAddr out = a;
  if (sock.family == AF_INET6) {
    if (a.addr.v6().is_v4_mapped()) return mapped_error;
    if (!a.addr.is_link_local() && !a.addr.is_multicast()) out.scope_id = 0;
    if (a.addr.is_link_local() && out.scope_id == 0) out.scope_id = sock.local.scope_id;
    if (a.addr.is_link_local() && out.scope_id == 0) return Error::kInvalidArgument;
  }
  out.port = 0;
  return out;
}

Status ping_connect(Socket& sock, const SockAddr& addr_in, int /*flags*/) {
  sock.stack.tracer().step(sock.family == AF_INET6 ? "ip6_datagram_connect_v6_only"
                                                   : "ip4_datagram_connect");
  if (addr_in.family == AF_UNSPEC) {
    sock.remote = {};
    return {};
  }
  // A ping6 socket is IPv6-only: __ip6_datagram_connect answers a v4-mapped peer with
  // ENETUNREACH (the kernel's ping6 socket agrees in the errno table).
  auto addr = ping_dest(sock, addr_in, Error::kNetworkUnreachable);
  if (!addr) return addr.error();
  auto rt = sock.stack.net_for(sock.family)
                ->route_output(addr->addr, inet_saddr_for(sock, addr->addr), addr->scope_id);
  if (!rt) return rt.error();
  if (rt->broadcast && !sock.opt.broadcast) return Error::kPermissionDenied;
  if (auto st = ping_autobind(sock); !st) return st;
  sock.remote = *addr;
  return {};
}

Result<std::size_t> ping_sendmsg(Socket& sock, const SendMsg& msg, int /*flags*/) {
  Stack& stack = sock.stack;
  const bool v6 = sock.family == AF_INET6;
  stack.tracer().step(v6 ? "ping_v6_sendmsg" : "ping_v4_sendmsg");
  const std::size_t len = msg.total();
  // ping_common_sendmsg, before the address is looked at: at most 64 KiB, at least an
  // echo header, and only echo requests with code 0.
  if (len > 0xffff) return Error::kMessageTooLong;
  if (len < kEchoHeader) return Error::kInvalidArgument;
  Packet p = gather(msg, Packet::kDefaultHeadroom);
  if (load_u8(p.data(), 0) != echo_request_type(sock.family) || load_u8(p.data(), 1) != 0) {
    return Error::kInvalidArgument;
  }
  SockAddr dst;
  if (msg.dest != nullptr) {
    auto d = ping_dest(sock, *msg.dest, Error::kInvalidArgument);
    if (!d) return d.error();
    dst = *d;
  } else {
    if (!sock.connected()) return Error::kDestinationRequired;
    dst = sock.remote;
  }
  // ip_append_data: an IPv4 datagram's 16-bit total length counts its header as well.
  if (!v6 && len > 0xffff - wire::Ipv4Header::kMinSize) return Error::kMessageTooLong;
  if (auto e = sock.take_error()) return *e;
  if (auto st = ping_autobind(sock); !st) return st.error();
  NetProtocol& net = *stack.net_for(sock.family);
  auto rt = net.route_output(dst.addr, inet_saddr_for(sock, dst.addr), dst.scope_id);
  if (!rt) return rt.error();
  if (rt->broadcast && !sock.opt.broadcast) return Error::kPermissionDenied;
  store_be<std::uint16_t>(p.data(), 4, sock.local.port);
  MibCounters& mib = stack.mib();
  std::uint8_t proto = 0;
  if (v6) {
    wire::Icmpv6Header::finish_checksum(p.data(), rt->src.v6(), dst.addr.v6());
    proto = static_cast<std::uint8_t>(IPPROTO_ICMPV6);
    mib.Icmp6OutMsgs++;
    mib.Icmp6OutEchos++;
  } else {
    wire::IcmpHeader::finish_checksum(p.data());
    proto = static_cast<std::uint8_t>(wire::IpProtocol::kIcmp);
    mib.IcmpOutMsgs++;
    mib.IcmpOutEchos++;
  }
  NetOutParams ip = sock.ip_out_params(rt->src, dst.addr, proto);
  ip.oif = dst.scope_id;
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

std::unique_ptr<Socket> Ping::ping_init_sock(int family) {
  stack_.tracer().step("ping_init_sock");
  const int proto = family == AF_INET6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
  return std::make_unique<PingSock>(stack_, family, SOCK_DGRAM, proto, kPingOps);
}

PingSock* Ping::ping_lookup(int family, std::uint16_t ident, const IpAddress& local,
                            const IpAddress& peer) {
  // Linux ping_lookup: a socket of the packet's own family holding the identifier, bound
  // to the wildcard or to the address the packet concerns.
  for (Socket* s : idents_.on_port(ident)) {
    if (s->family != family) continue;
    if (!s->local.addr.is_any() && s->local.addr != local) continue;
    if (s->connected() && s->remote.addr != peer) continue;
    return &ping_sk(*s);
  }
  return nullptr;
}

void Ping::rcv(Packet pkt, const NetRcvInfo& ip) {
  stack_.tracer().step("ping_rcv");
  if (pkt.size() < kEchoHeader) return;
  const int family = ip.src.family();
  const auto ident = load_be<std::uint16_t>(pkt.data(), 4);
  PingSock* s = ping_lookup(family, ident, ip.dst, ip.src);
  if (s == nullptr) {
    stack_.tracer().step("no ping socket");
    return;
  }
  // A link-local peer is named with the interface it answered on (sin6_scope_id).
  const SockAddr from =
      family == AF_INET6 ? SockAddr::inet6(ip.src.v6(), 0, ip.src.is_link_local() ? ip.ifindex : 0)
                         : SockAddr::inet(ip.src.v4(), 0);
  if (!s->rx.enqueue(Datagram{std::move(pkt), from, stack_.now()}, s->opt.rcvbuf)) {
    stack_.tracer().step("drop: receive buffer full");
    return;
  }
  stack_.tracer().step(fmt::format("sock_queue_rcv fd {}", s->fd));
  sk_data_ready(*s);
}

void Ping::err(const IcmpError& icmp, ByteSpan quoted) {
  stack_.tracer().step("ping_err");
  if (quoted.size() < kEchoHeader) return;
  const int family = icmp.quoted.src.family();
  if (load_u8(quoted, 0) != echo_request_type(family)) return;  // not a request of ours
  const auto ident = load_be<std::uint16_t>(quoted, 4);
  PingSock* s = ping_lookup(family, ident, icmp.quoted.src, icmp.quoted.dst);
  if (s == nullptr) return;
  Error err = icmp.error;
  bool harderr = icmp.fatal;
  if (family == AF_INET &&
      icmp.type == static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable) &&
      icmp.code == static_cast<std::uint8_t>(wire::UnreachCode::kFragNeeded)) {
    // Linux ping_err: Fragmentation Needed is a hard EMSGSIZE unless IP_PMTUDISC_DONT.
    if (s->opt.pmtu == PmtuMode::kDont) return;
    err = Error::kMessageTooLong;
    harderr = true;
  }
  // RFC 1122 4.1.3.3 as ping_err reads it: without IP_RECVERR (IPV6_RECVERR) only a hard
  // error on a connected socket is reported.
  const bool recverr = family == AF_INET6 ? s->opt.recverr6 : s->opt.recverr;
  if (!recverr && (!harderr || !s->connected())) return;
  s->pending_error = err;
  stack_.tracer().step(fmt::format("sk_err fd {} = {}", s->fd, error_name(err)));
  sk_error_report(*s);
}

}  // namespace usnet
