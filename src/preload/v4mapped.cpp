#include "preload/v4mapped.h"

#include <algorithm>
#include <cstring>

namespace usnet::preload {

FdMarks& v4_in_v6() {
  static auto* marks = new FdMarks;  // NOLINT: immortal, read by every call until exit
  return *marks;
}

bool v4_of_v6(const sockaddr* addr, socklen_t len, sockaddr_in& out) noexcept {
  if (addr == nullptr || addr->sa_family != AF_INET6 ||
      len < static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    return false;
  }
  sockaddr_in6 in6{};
  std::memcpy(&in6, addr, sizeof(in6));
  out = sockaddr_in{};
  out.sin_family = AF_INET;
  out.sin_port = in6.sin6_port;
  if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) return true;
  if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) return false;
  std::memcpy(&out.sin_addr, &in6.sin6_addr.s6_addr[12], 4);
  return true;
}

void v6_of_v4(const sockaddr_in& in, sockaddr* addr, socklen_t* len) noexcept {
  if (addr == nullptr || len == nullptr) return;
  sockaddr_in6 out{};
  out.sin6_family = AF_INET6;
  out.sin6_port = in.sin_port;
  if (in.sin_addr.s_addr != htonl(INADDR_ANY)) {
    out.sin6_addr.s6_addr[10] = 0xff;
    out.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&out.sin6_addr.s6_addr[12], &in.sin_addr, 4);
  }
  const auto n = std::min<std::size_t>(*len, sizeof(out));
  std::memcpy(addr, &out, n);
  *len = sizeof(out);
}

}  // namespace usnet::preload
