#include "api/sockaddr.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace usnet::api {

Result<SockAddr> sockaddr_in_from_user(const sockaddr* addr, socklen_t len) {
  if (static_cast<int>(len) < 0 || len > sizeof(sockaddr_storage)) return Error::kInvalidArgument;
  if (len > 0 && addr == nullptr) return Error::kFault;
  sockaddr_in sin{};
  std::memcpy(&sin, addr, std::min<std::size_t>(len, sizeof(sin)));
  SockAddr a;
  a.family = len >= sizeof(sa_family_t) ? sin.sin_family : AF_UNSPEC;
  a.addr.value = ntohl(sin.sin_addr.s_addr);
  a.port = ntohs(sin.sin_port);
  return a;
}

Status sockaddr_to_user(const SockAddr& a, sockaddr* addr, socklen_t* len) {
  if (len == nullptr) return Error::kFault;
  if (static_cast<int>(*len) < 0) return Error::kInvalidArgument;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(a.port);
  sin.sin_addr.s_addr = htonl(a.addr.value);
  const std::size_t n = std::min<std::size_t>(*len, sizeof(sin));
  if (n > 0) {
    if (addr == nullptr) return Error::kFault;
    std::memcpy(addr, &sin, n);
  }
  *len = sizeof(sin);
  return {};
}

}  // namespace usnet::api
