// Dual-stack sockets on usnet. A server that listens on the IPv6 wildcard `::` (nginx's
// `listen [::]:80`, node's and python's default, iperf3 -s) takes IPv4 connections on it
// as v4-mapped addresses (::ffff:a.b.c.d, RFC 4291 2.5.5.2) unless IPV6_V6ONLY is set. usnet
// has no IPv6 yet, but it can serve that IPv4 part: such an AF_INET6 socket, when bound to
// `::` or a v4-mapped address or connected to a v4-mapped one that usnet serves, becomes a
// usnet AF_INET socket behind an AF_INET6 face: every address the program passes is taken
// from its v4-mapped form, every address it is given back is put in that form (0.0.0.0 as
// `::`), and SO_DOMAIN says AF_INET6. It then hears IPv4 only (usnet's); real IPv6
// destinations go to the kernel with sockets of their own.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "preload/fd_marks.h"

namespace usnet::preload {

// The usnet sockets that show an AF_INET6 face (lock-free, as every per-call check).
FdMarks& v4_in_v6();

inline bool is_v4_in_v6(int fd) noexcept {
  return v4_in_v6().test(fd);
}

// An AF_INET6 address as the IPv4 address it stands for: `::` as 0.0.0.0, ::ffff:a.b.c.d
// as a.b.c.d (port kept). false for any other address, or a length short of sockaddr_in6.
bool v4_of_v6(const sockaddr* addr, socklen_t len, sockaddr_in& out) noexcept;

// Writes `in` as the program's AF_INET6 address into addr (at most *len bytes, as the
// kernel truncates) and sets *len to the full size, as accept/getsockname/recvfrom do.
void v6_of_v4(const sockaddr_in& in, sockaddr* addr, socklen_t* len) noexcept;

}  // namespace usnet::preload
