#include "api/sockaddr.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <span>

namespace usnet::api {

Result<SockAddr> sockaddr_in_from_user(const sockaddr* addr, socklen_t len) {
  if (static_cast<int>(len) < 0 || len > sizeof(sockaddr_storage)) return Error::kInvalidArgument;
  if (len > 0 && addr == nullptr) return Error::kFault;
  // Copied into the larger of the two, so that a short sockaddr_in6 leaves zeros where its
  // bytes end; the family decides which view is read.
  sockaddr_in6 sin6{};
  std::memcpy(&sin6, addr, std::min<std::size_t>(len, sizeof(sin6)));
  SockAddr a;
  a.family = len >= sizeof(sa_family_t) ? sin6.sin6_family : AF_UNSPEC;
  if (a.family == AF_INET6) {
    a.addr = IpAddress(Ipv6Address::from_bytes(std::as_bytes(std::span(sin6.sin6_addr.s6_addr))));
    a.port = ntohs(sin6.sin6_port);
    a.scope_id = sin6.sin6_scope_id;
    a.flowinfo = ntohl(sin6.sin6_flowinfo);
    return a;
  }
  sockaddr_in sin{};
  std::memcpy(&sin, &sin6, sizeof(sin));
  a.addr = Ipv4Address{ntohl(sin.sin_addr.s_addr)};
  a.port = ntohs(sin.sin_port);
  return a;
}

namespace {

// Linux move_addr_to_user: min(*len, size) bytes copied, *len set to the full size.
Status copy_out(const void* src, std::size_t size, sockaddr* addr, socklen_t* len) {
  const std::size_t n = std::min<std::size_t>(*len, size);
  if (n > 0) {
    if (addr == nullptr) return Error::kFault;
    std::memcpy(addr, src, n);
  }
  *len = static_cast<socklen_t>(size);
  return {};
}

}  // namespace

Status sockaddr_to_user(const SockAddr& a, sockaddr* addr, socklen_t* len) {
  if (len == nullptr) return Error::kFault;
  if (static_cast<int>(*len) < 0) return Error::kInvalidArgument;
  if (a.family == AF_INET6) {
    // An IPv4 peer of a dual-stack socket appears in its v4-mapped form (RFC 4291 2.5.5.2).
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(a.port);
    sin6.sin6_flowinfo = htonl(a.flowinfo);
    a.addr.v6().store(std::as_writable_bytes(std::span(sin6.sin6_addr.s6_addr)));
    sin6.sin6_scope_id = a.scope_id;
    return copy_out(&sin6, sizeof(sin6), addr, len);
  }
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(a.port);
  sin.sin_addr.s_addr = htonl(a.addr.v4().value);
  return copy_out(&sin, sizeof(sin), addr, len);
}

}  // namespace usnet::api
