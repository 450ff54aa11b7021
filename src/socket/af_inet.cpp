#include "socket/af_inet.h"

#include <netinet/in.h>

#include "stack/stack.h"
#include "transport/ping.h"
#include "transport/tcp/tcp.h"
#include "transport/udp.h"

namespace usnet {

Result<std::unique_ptr<Socket>> inet_create(Stack& stack, int type, int protocol) {
  stack.tracer().step("inet_create");
  // Linux inet_create: the protocol must fit IPPROTO_MAX; a type with no protocols at all
  // is ESOCKTNOSUPPORT, a protocol the type does not have is EPROTONOSUPPORT.
  constexpr int kIpprotoMax = 263;  // Linux's IPPROTO_MAX (IPPROTO_MPTCP is 262)
  if (protocol < 0 || protocol >= kIpprotoMax) return Error::kInvalidArgument;
  switch (type) {
    case SOCK_DGRAM:
      if (protocol == 0 || protocol == IPPROTO_UDP) {
        return stack.udp().udp_init_sock(AF_INET, IPPROTO_UDP);
      }
      if (protocol == IPPROTO_ICMP) return stack.ping().ping_init_sock();
      return Error::kProtocolNotSupported;
    case SOCK_STREAM:
      if (protocol == 0 || protocol == IPPROTO_TCP) return stack.tcp().tcp_init_sock();
      return Error::kProtocolNotSupported;
    case SOCK_RAW:
      // Linux gives raw sockets to CAP_NET_RAW only; usnet does not offer them (yet).
      return Error::kProtocolNotSupported;
    default:
      return Error::kSocketTypeNotSupported;
  }
}

Status inet_check_bind_addr(Socket& sock, const SockAddr& addr) {
  // Linux accepts AF_UNSPEC with INADDR_ANY for old programs; anything else must be AF_INET.
  if (addr.family != AF_INET && !(addr.family == AF_UNSPEC && addr.addr.is_any())) {
    return Error::kAddressFamilyNotSupported;
  }
  Stack& stack = sock.stack;
  if (!addr.addr.is_any() && !stack.is_local_address(addr.addr) &&
      !stack.is_broadcast_address(addr.addr) && !addr.addr.is_multicast()) {
    return Error::kAddressNotAvailable;
  }
  if (sock.local.port != 0) return Error::kInvalidArgument;  // already bound
  return {};
}

bool inet_addrs_overlap(const IpAddress& a, const IpAddress& b) noexcept {
  if (a.family() != b.family()) return false;
  return a.is_any() || b.is_any() || a == b;
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
