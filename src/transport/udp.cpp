#include "transport/udp.h"

#include <poll.h>

#include <fmt/format.h>

#include "net/icmp.h"
#include "socket/af_inet.h"
#include "stack/stack.h"
#include "wire/udp.h"

namespace usnet {
namespace {

UdpSock& udp_sk(Socket& s) {
  return static_cast<UdpSock&>(s);
}

// Linux keeps UDP's counters per family, Udp* and Udp6*, chosen by the datagram's own
// family: a dual-stack socket's IPv4 traffic counts as IPv4 (udpv6_recvmsg's is_udp4).
struct UdpMib {
  std::uint64_t& in_datagrams;
  std::uint64_t& no_ports;
  std::uint64_t& in_errors;
  std::uint64_t& out_datagrams;
  std::uint64_t& rcvbuf_errors;
  std::uint64_t& sndbuf_errors;
  std::uint64_t& in_csum_errors;
  std::uint64_t& ignored_multi;
};

UdpMib udp_mib(MibCounters& m, const IpAddress& a) {
  if (a.is_v6()) {
    return {m.Udp6InDatagrams,  m.Udp6NoPorts,      m.Udp6InErrors,     m.Udp6OutDatagrams,
            m.Udp6RcvbufErrors, m.Udp6SndbufErrors, m.Udp6InCsumErrors, m.Udp6IgnoredMulti};
  }
  return {m.UdpInDatagrams,  m.UdpNoPorts,      m.UdpInErrors,     m.UdpOutDatagrams,
          m.UdpRcvbufErrors, m.UdpSndbufErrors, m.UdpInCsumErrors, m.UdpIgnoredMulti};
}

Status udp_bind(Socket& sock, const SockAddr& addr_in) {
  sock.stack.tracer().step("inet_bind");
  if (auto st = inet_check_bind_addr(sock, addr_in); !st) return st;
  auto norm = inet_addr_in(sock, addr_in, Error::kInvalidArgument);
  const SockAddr addr = norm ? *norm : addr_in;  // AF_UNSPEC any: kept as given
  sock.stack.tracer().step("udp_v4_get_port");
  if (auto st = sock.stack.udp().ports().bind(sock, addr.addr, addr.port, sock.stack.rng()); !st) {
    return st;
  }
  sock.bound_explicitly = true;
  return {};
}

// inet_autobind: a socket used before bind() gets the wildcard address and an ephemeral port.
Status udp_autobind(Socket& sock) {
  if (sock.local.port != 0) return {};
  sock.stack.tracer().step("inet_autobind");
  auto st = sock.stack.udp().ports().bind(sock, IpAddress::any(sock.family), 0, sock.stack.rng());
  if (!st) return Error::kWouldBlock;  // Linux: EAGAIN when no ephemeral port is free
  return {};
}

Status udp_connect(Socket& sock, const SockAddr& addr_in, int /*flags*/) {
  Stack& stack = sock.stack;
  stack.tracer().step("inet_dgram_connect");
  if (addr_in.family == AF_UNSPEC) {
    // udp_disconnect: forget the peer; an address chosen by connect() is forgotten too.
    stack.tracer().step("udp_disconnect");
    sock.remote = {};
    if (!sock.bound_explicitly && sock.local.port != 0) {
      // Keep the port (Linux keeps it unless SO_REUSE... userlocks); drop the address.
      auto& ports = stack.udp().ports();
      const auto port = sock.local.port;
      ports.unbind(sock);
      (void)ports.bind(sock, IpAddress::any(sock.family), port, stack.rng());
    }
    return {};
  }
  auto norm = inet_addr_in(sock, addr_in, Error::kNetworkUnreachable);
  if (!norm) return norm.error();
  const SockAddr& addr = *norm;
  NetProtocol* net = stack.net_for(addr.addr.family());
  if (net == nullptr) return Error::kAddressFamilyNotSupported;
  stack.tracer().step(addr.addr.is_v4() ? "ip4_datagram_connect" : "ip6_datagram_connect");
  auto rt = net->route_output(addr.addr, inet_saddr_for(sock, addr.addr), addr.scope_id);
  if (!rt) return rt.error();
  if (rt->broadcast && !sock.opt.broadcast) return Error::kPermissionDenied;
  if (auto st = udp_autobind(sock); !st) return st;
  if (sock.local.addr.is_any()) {
    // The socket now receives only on the address the route chose, as Linux rehashes it.
    auto& ports = stack.udp().ports();
    const auto port = sock.local.port;
    ports.unbind(sock);
    if (auto st = ports.bind(sock, rt->src, port, stack.rng()); !st) {
      (void)ports.bind(sock, IpAddress::any(sock.family), port, stack.rng());
      return st;
    }
  }
  sock.remote = addr;
  return {};
}

Result<std::size_t> udp_sendmsg(Socket& sock, const SendMsg& msg, int /*flags*/) {
  Stack& stack = sock.stack;
  stack.tracer().step("udp_sendmsg");
  const std::size_t len = msg.total();
  SockAddr dst;
  if (msg.dest != nullptr) {
    auto norm = inet_addr_in(sock, *msg.dest, Error::kNetworkUnreachable);
    if (!norm) return norm.error();
    if (norm->port == 0) return Error::kInvalidArgument;
    dst = *norm;
  } else {
    if (!sock.connected()) return Error::kDestinationRequired;
    dst = sock.remote;
  }
  if (len > kMaxUdpPayload) return Error::kMessageTooLong;
  if (auto e = sock.take_error()) return *e;
  if (sock.shut_wr) return Error::kBrokenPipe;
  if (auto st = udp_autobind(sock); !st) return st.error();

  NetProtocol* net = stack.net_for(dst.addr.family());
  if (net == nullptr) return Error::kAddressFamilyNotSupported;
  auto rt = net->route_output(dst.addr, inet_saddr_for(sock, dst.addr), dst.scope_id);
  if (!rt) return rt.error();
  if (rt->broadcast && !sock.opt.broadcast) return Error::kPermissionDenied;

  Packet p = gather(msg, Packet::kDefaultHeadroom);
  wire::UdpHeader h;
  h.src_port = sock.local.port;
  h.dst_port = dst.port;
  h.length = static_cast<std::uint16_t>(len + wire::UdpHeader::kSize);
  h.emit(p.push(wire::UdpHeader::kSize));
  wire::UdpHeader::finish_checksum(p.data(), rt->src, dst.addr);

  const NetOutParams ip =
      sock.ip_out_params(rt->src, dst.addr, static_cast<std::uint8_t>(wire::IpProtocol::kUdp));
  if (auto st = net->output(std::move(p), ip); !st) {
    if (st.error() == Error::kMessageTooLong) udp_mib(stack.mib(), dst.addr).sndbuf_errors++;
    return st.error();
  }
  udp_mib(stack.mib(), dst.addr).out_datagrams++;
  return len;
}

Result<RecvResult> udp_recvmsg(Socket& sock, const RecvMsg& msg, int flags) {
  sock.stack.tracer().step("udp_recvmsg");
  auto r = dgram_recvmsg(sock, udp_sk(sock).rx, msg, flags);
  if (r && r->from && (flags & MSG_PEEK) == 0) {
    udp_mib(sock.stack.mib(), r->from->addr).in_datagrams++;
  }
  return r;
}

PollMask udp_poll(Socket& sock) {
  return dgram_poll(sock, udp_sk(sock).rx);
}

Result<int> udp_ioctl(Socket& sock, unsigned long request) {
  return dgram_ioctl(udp_sk(sock).rx, request);
}

void udp_release(std::unique_ptr<Socket> owned) {
  Socket& sock = *owned;
  sock.stack.tracer().step("udp_lib_unhash");
  sock.stack.udp().ports().unbind(sock);
  udp_sk(sock).rx.clear();
}

}  // namespace

const ProtoOps kUdpOps = {
    .name = "inet_dgram_ops",
    .bind = udp_bind,
    .connect = udp_connect,
    .sendmsg = udp_sendmsg,
    .recvmsg = udp_recvmsg,
    .shutdown = inet_shutdown,
    .setsockopt = nullptr,
    .getsockopt = nullptr,
    .poll = udp_poll,
    .release = udp_release,
    .listen = nullptr,
    .accept = nullptr,
    .ioctl = udp_ioctl,
    .sockopt_changed = nullptr,
    .tskey = nullptr,
    .sendmsg_done = nullptr,
};

Udp::Udp(Stack& stack) : stack_(stack), ports_(udp_bind_conflict) {}

std::unique_ptr<Socket> Udp::udp_init_sock(int family, int protocol) {
  stack_.tracer().step("udp_init_sock");
  return std::make_unique<UdpSock>(stack_, family, SOCK_DGRAM, protocol, kUdpOps);
}

UdpSock* Udp::lookup(IpAddress saddr, std::uint16_t sport, IpAddress daddr, std::uint16_t dport) {
  // Linux compute_score: a socket matches if each field it has set matches; the one with
  // the most fields set wins (connected and specifically bound beat wildcard).
  UdpSock* best = nullptr;
  int best_score = -1;
  for (Socket* s : ports_.on_port(dport)) {
    if (!inet_rcv_saddr_match(*s, daddr)) continue;
    int score = s->local.addr.family() == daddr.family() ? 1 : 0;  // own family first
    if (!s->local.addr.is_any()) score += 4;
    if (s->connected()) {
      if (s->remote.addr != saddr || s->remote.port != sport) continue;
      score += 8;
    }
    if (score > best_score) {
      best = &udp_sk(*s);
      best_score = score;
    }
  }
  return best;
}

void Udp::deliver(UdpSock& sk, Packet data, std::size_t len, const SockAddr& from_wire) {
  data.truncate(len);
  // An AF_INET6 socket names an IPv4 sender in its v4-mapped form (the API writes it so).
  SockAddr from = from_wire;
  from.family = sk.family;
  // Queued after SHUT_RD too: Linux's UDP receive path does not look at the shutdown.
  if (!sk.rx.enqueue(Datagram{std::move(data), from, sk.stack.now()}, sk.opt.rcvbuf)) {
    const UdpMib mib = udp_mib(stack_.mib(), from_wire.addr);
    mib.rcvbuf_errors++;
    mib.in_errors++;
    stack_.tracer().step("drop: receive buffer full");
    return;
  }
  stack_.tracer().step(fmt::format("sock_queue_rcv fd {}", sk.fd));
  sk_data_ready(sk);
}

void Udp::rcv(Packet pkt, const NetRcvInfo& ip) {
  stack_.tracer().step(ip.src.is_v6() ? "udpv6_rcv" : "udp_rcv");
  const UdpMib mib = udp_mib(stack_.mib(), ip.src);
  auto parsed = wire::UdpHeader::parse(pkt.data(), ip.src, ip.dst);
  if (!parsed) {
    if (parsed.error() == wire::ParseError::kBadChecksum) mib.in_csum_errors++;
    mib.in_errors++;
    stack_.tracer().step("drop: bad udp");
    return;
  }
  const wire::UdpHeader& h = *parsed;
  const SockAddr from{ip.src.family(), ip.src, h.src_port};
  const std::size_t len = h.length - wire::UdpHeader::kSize;
  pkt.pull(wire::UdpHeader::kSize);

  if (!stack_.is_local_address(ip.dst)) {
    // Broadcast: every socket on the port bound to the wildcard or to that address
    // (Linux __udp4_lib_mcast_deliver / __udp_is_mcast_sock).
    std::vector<UdpSock*> targets;
    for (Socket* s : ports_.on_port(h.dst_port)) {
      if (!inet_rcv_saddr_match(*s, ip.dst)) continue;
      if (s->connected() && (s->remote.addr != ip.src || s->remote.port != h.src_port)) continue;
      targets.push_back(&udp_sk(*s));
    }
    if (targets.empty()) {
      mib.ignored_multi++;
      return;
    }
    // Every receiver but the last gets a copy; the last takes the packet itself.
    for (std::size_t i = 0; i + 1 < targets.size(); ++i) {
      deliver(*targets[i], pkt.clone(), len, from);
    }
    deliver(*targets.back(), std::move(pkt), len, from);
    return;
  }

  UdpSock* sk = lookup(ip.src, h.src_port, ip.dst, h.dst_port);
  if (sk == nullptr) {
    // RFC 1122 4.1.3.1: port unreachable for a datagram no socket wants.
    mib.no_ports++;
    stack_.tracer().step("no socket");
    pkt.unpull(wire::UdpHeader::kSize + ip.header_length);
    ip.net->port_unreachable(pkt.data(), ip);
    return;
  }
  deliver(*sk, std::move(pkt), len, from);
}

void Udp::err(const IcmpError& icmp, ByteSpan quoted) {
  stack_.tracer().step("udp_err");
  if (quoted.size() < wire::UdpHeader::kSize) return;
  const auto sport = load_be<std::uint16_t>(quoted, 0);
  const auto dport = load_be<std::uint16_t>(quoted, 2);
  // The datagram went from us (quoted src) to the peer (quoted dst): look it up reversed.
  UdpSock* sk = lookup(icmp.quoted.dst, dport, icmp.quoted.src, sport);
  if (sk == nullptr) return;
  const bool v6 = icmp.quoted.src.is_v6();
  bool harderr = icmp.fatal;
  if (icmp.mtu != 0) {
    // Fragmentation Needed / Packet Too Big (the network layer recorded the path MTU):
    // __udp4_lib_err and __udp6_lib_err make it a hard EMSGSIZE unless the socket never
    // sets DF (IP_PMTUDISC_DONT / IPV6_PMTUDISC_DONT), in which case IPv4 ignores it.
    const PmtuMode mode = v6 ? sk->opt.pmtu6 : sk->opt.pmtu;
    if (mode == PmtuMode::kDont && !v6) return;
    harderr = mode != PmtuMode::kDont;
  }
  // Linux __udp4_lib_err / __udp6_lib_err: without IP_RECVERR (IPV6_RECVERR for an IPv6
  // datagram) only hard errors on connected sockets are reported.
  const bool recverr = v6 ? sk->opt.recverr6 : sk->opt.recverr;
  if (!recverr && (!harderr || !sk->connected())) return;
  sk->pending_error = icmp.error;
  stack_.tracer().step(fmt::format("sk_err fd {} = {}", sk->fd, error_name(icmp.error)));
  sk_error_report(*sk);
}

}  // namespace usnet
