#include "socket/af_inet.h"

#include <netinet/in.h>

#include "stack/stack.h"
#include "transport/ping.h"
#include "transport/tcp/tcp.h"
#include "transport/udp.h"

namespace usnet {

Result<std::unique_ptr<Socket>> inet_create(Stack& stack, int family, int type, int protocol) {
  stack.tracer().step(family == AF_INET6 ? "inet6_create" : "inet_create");
  // Linux inet_create: the protocol must fit IPPROTO_MAX; a type with no protocols at all
  // is ESOCKTNOSUPPORT, a protocol the type does not have is EPROTONOSUPPORT.
  constexpr int kIpprotoMax = 263;  // Linux's IPPROTO_MAX (IPPROTO_MPTCP is 262)
  if (protocol < 0 || protocol >= kIpprotoMax) return Error::kInvalidArgument;
  switch (type) {
    case SOCK_DGRAM:
      if (protocol == 0 || protocol == IPPROTO_UDP) {
        return stack.udp().udp_init_sock(family, IPPROTO_UDP);
      }
      // Ping sockets (Linux net/ipv4/ping.c): ICMP for AF_INET, ICMPv6 for AF_INET6; the
      // other family's protocol is one the type does not have.
      if ((protocol == IPPROTO_ICMP && family == AF_INET) ||
          (protocol == IPPROTO_ICMPV6 && family == AF_INET6)) {
        return stack.ping().ping_init_sock(family);
      }
      return Error::kProtocolNotSupported;
    case SOCK_STREAM:
      if (protocol == 0 || protocol == IPPROTO_TCP) return stack.tcp().tcp_init_sock(family);
      return Error::kProtocolNotSupported;
    case SOCK_RAW:
      // Linux gives raw sockets to CAP_NET_RAW only; usnet does not offer them (yet).
      return Error::kProtocolNotSupported;
    default:
      return Error::kSocketTypeNotSupported;
  }
}

Status inet_check_bind_addr(Socket& sock, const SockAddr& addr) {
  // Linux accepts AF_UNSPEC with INADDR_ANY for old programs on AF_INET sockets; anything
  // else must be the socket's family (inet_bind, inet6_bind).
  if (addr.family != sock.family &&
      !(sock.family == AF_INET && addr.family == AF_UNSPEC && addr.addr.is_any())) {
    return Error::kAddressFamilyNotSupported;
  }
  Stack& stack = sock.stack;
  // inet6_bind: a link-local address names an interface only with its scope id.
  if (addr.addr.is_link_local() && addr.scope_id == 0) return Error::kInvalidArgument;
  if (!addr.addr.is_any() && !stack.is_local_address(addr.addr) &&
      !stack.is_broadcast_address(addr.addr) && !addr.addr.is_multicast()) {
    return Error::kAddressNotAvailable;
  }
  if (sock.local.port != 0) return Error::kInvalidArgument;  // already bound
  return {};
}

namespace {

// An AF_INET6 socket's :: without IPV6_V6ONLY: the wildcard of both families.
bool dual_wildcard(const Socket& s, const IpAddress& a) noexcept {
  return s.family == AF_INET6 && !s.opt.v6only && a.is_v6() && a.is_any();
}

}  // namespace

bool inet_addrs_overlap(const Socket& a, const IpAddress& a_addr, const Socket& b) noexcept {
  const IpAddress& b_addr = b.local.addr;
  if (a_addr.family() == b_addr.family())
    return a_addr.is_any() || b_addr.is_any() || a_addr == b_addr;
  return dual_wildcard(a, a_addr) || dual_wildcard(b, b_addr);
}

bool inet_rcv_saddr_match(const Socket& s, const IpAddress& daddr) noexcept {
  const IpAddress& l = s.local.addr;
  if (l.family() == daddr.family()) return l.is_any() || l == daddr;
  return daddr.is_v4() && dual_wildcard(s, l);
}

IpAddress inet_saddr_for(const Socket& s, const IpAddress& dst) noexcept {
  return s.local.addr.family() == dst.family() ? s.local.addr : IpAddress::any(dst.family());
}

Result<SockAddr> inet_addr_in(const Socket& s, const SockAddr& a, Error mapped_error) {
  if (a.family != s.family) return Error::kAddressFamilyNotSupported;
  SockAddr out = a;
  if (s.family == AF_INET6 && a.addr.is_v6() && a.addr.v6().is_v4_mapped()) {
    if (s.opt.v6only) return mapped_error;
    out.addr = a.addr.unmapped();
    out.scope_id = 0;
  }
  return out;
}

Status inet_shutdown(Socket& sock, int how) {
  sock.stack.tracer().step("inet_shutdown");
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return Error::kInvalidArgument;
  if (how == SHUT_RD || how == SHUT_RDWR) sock.shut_rd = true;
  if (how == SHUT_WR || how == SHUT_RDWR) sock.shut_wr = true;
  if (!sock.connected()) return Error::kNotConnected;
  return {};
}

}  // namespace usnet
