// The socket calls: socket(2) and the calls that decide an undecided socket's
// side (preload/pending.h), then the rest of the per-socket calls.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "preload/dispatch.h"
#include "preload/pending.h"
#include "preload/v4mapped.h"
#include "usnet/usnet.h"

using namespace usnet::preload;  // NOLINT(google-build-using-namespace): the C edge

namespace {

// The sockets usnet has: TCP, UDP and ICMP echo ("ping") sockets of AF_INET, and the
// IPv4 part of dual-stack AF_INET6 TCP and UDP sockets (preload/v4mapped.h).
bool usnet_kind_of_socket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return false;  // AF_UNIX, ...: the kernel's
  switch (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    case SOCK_STREAM:
      return protocol == 0 || protocol == IPPROTO_TCP;
    case SOCK_DGRAM:
      return protocol == 0 || protocol == IPPROTO_UDP ||
             (domain == AF_INET && protocol == IPPROTO_ICMP);
    default:
      return false;
  }
}

int fail(int err) {
  errno = err;
  return -1;
}

// The address a call on a v4-in-v6 socket gives usnet: its IPv4 form (or the address
// itself when the program passed an AF_INET or AF_UNSPEC one). false: an IPv6 address
// usnet cannot reach.
bool v4_arg(const sockaddr* addr, socklen_t len, sockaddr_in& tmp, const sockaddr*& out,
            socklen_t& out_len) {
  if (addr != nullptr && len >= static_cast<socklen_t>(sizeof(sa_family_t)) &&
      addr->sa_family == AF_INET6) {
    if (!v4_of_v6(addr, len, tmp)) return false;
    out = reinterpret_cast<const sockaddr*>(&tmp);  // NOLINT: the sockaddr convention
    out_len = sizeof(tmp);
    return true;
  }
  out = addr;
  out_len = len;
  return true;
}

// getsockname/getpeername/accept on a v4-in-v6 socket: usnet's IPv4 answer, returned in
// the program's AF_INET6 form.
template <typename Call>
int v6_result(sockaddr* addr, socklen_t* len, Call call) {
  if (addr == nullptr || len == nullptr) return call(nullptr, nullptr);
  if (static_cast<int>(*len) < 0) return fail(EINVAL);
  sockaddr_in in{};
  socklen_t in_len = sizeof(in);
  const int r = call(reinterpret_cast<sockaddr*>(&in), &in_len);  // NOLINT
  if (r >= 0) v6_of_v4(in, addr, len);
  return r;
}

}  // namespace

extern "C" {

int socket(int domain, int type, int protocol) {
  const int fd = real().socket(domain, type, protocol);
  if (fd < 0 || inside() || !usnet_kind_of_socket(domain, type, protocol) || !configured()) {
    return fd;
  }
  PendingSocket p;
  p.domain = domain;
  p.type = type;
  p.protocol = protocol;
  pending().add(fd, p);
  return fd;
}

int bind(int fd, const sockaddr* addr, socklen_t len) {
  bool anywhere = false;
  if (!inside()) decide_by_local_address(fd, addr, len, anywhere);
  if (anywhere) {
    const int r = real().bind(fd, addr, len);
    if (r == 0) pending().note_bound_anywhere(fd);
    return r;
  }
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (is_v4_in_v6(fd)) {
        sockaddr_in tmp{};
        const sockaddr* a = nullptr;
        socklen_t l = 0;
        if (!v4_arg(addr, len, tmp, a, l)) return fail(EADDRNOTAVAIL);
        return usnet_bind(fd, a, l);
      }
      return usnet_bind(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().bind(fd, addr, len);
  }
}

int listen(int fd, int backlog) {
  if (!inside()) decide_for_listen(fd);
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_listen(fd, backlog);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().listen(fd, backlog);
  }
}

int connect(int fd, const sockaddr* addr, socklen_t len) {
  if (!inside()) decide_by_destination(fd, addr, len, "connect");
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (is_v4_in_v6(fd)) {
        sockaddr_in tmp{};
        const sockaddr* a = nullptr;
        socklen_t l = 0;
        if (!v4_arg(addr, len, tmp, a, l)) return fail(ENETUNREACH);  // usnet has no IPv6
        return usnet_connect(fd, a, l);
      }
      return usnet_connect(fd, addr, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().connect(fd, addr, len);
  }
}

int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (!is_v4_in_v6(fd)) return usnet_accept4(fd, addr, len, flags);
      const int nfd = v6_result(
          addr, len, [&](sockaddr* a, socklen_t* l) { return usnet_accept4(fd, a, l, flags); });
      if (nfd >= 0) v4_in_v6().set(nfd, true);
      return nfd;
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().accept4(fd, addr, len, flags);
  }
}

int accept(int fd, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (!is_v4_in_v6(fd)) return usnet_accept(fd, addr, len);
      const int nfd =
          v6_result(addr, len, [&](sockaddr* a, socklen_t* l) { return usnet_accept(fd, a, l); });
      if (nfd >= 0) v4_in_v6().set(nfd, true);
      return nfd;
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().accept(fd, addr, len);
  }
}

int shutdown(int fd, int how) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      return usnet_shutdown(fd, how);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().shutdown(fd, how);
  }
}

int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (!is_v4_in_v6(fd)) return usnet_getsockname(fd, addr, len);
      return v6_result(addr, len,
                       [&](sockaddr* a, socklen_t* l) { return usnet_getsockname(fd, a, l); });
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().getsockname(fd, addr, len);
  }
}

int getpeername(int fd, sockaddr* addr, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (!is_v4_in_v6(fd)) return usnet_getpeername(fd, addr, len);
      return v6_result(addr, len,
                       [&](sockaddr* a, socklen_t* l) { return usnet_getpeername(fd, a, l); });
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().getpeername(fd, addr, len);
  }
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (is_v4_in_v6(fd)) {
        int answer = -1;
        if (level == SOL_SOCKET && name == SO_DOMAIN) answer = AF_INET6;
        if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) answer = 0;
        if (answer >= 0) {
          if (len == nullptr || value == nullptr) return fail(EFAULT);
          if (static_cast<int>(*len) < 0) return fail(EINVAL);
          const socklen_t n = *len < sizeof(answer) ? *len : sizeof(answer);
          std::memcpy(value, &answer, n);
          *len = n;
          return 0;
        }
        if (level == IPPROTO_IPV6) return fail(ENOPROTOOPT);
      }
      return usnet_getsockopt(fd, level, name, value, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      return real().getsockopt(fd, level, name, value, len);
  }
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  switch (kind_of(fd)) {
    case FdKind::kSocket: {
      Inside in;
      if (is_v4_in_v6(fd) && level == IPPROTO_IPV6) {
        // Only IPv4 flows here: setting IPV6_V6ONLY now is refused as on a bound socket
        // (EINVAL); the other IPv6 options have nothing to act on and are accepted.
        if (name == IPV6_V6ONLY) {
          int v = 0;
          if (value == nullptr || len < static_cast<socklen_t>(sizeof(v))) return fail(EINVAL);
          std::memcpy(&v, value, sizeof(v));
          return v == 0 ? 0 : fail(EINVAL);
        }
        return 0;
      }
      return usnet_setsockopt(fd, level, name, value, len);
    }
    case FdKind::kInherited:
      return inherited_fd(fd);
    default:
      break;
  }
  const int r = real().setsockopt(fd, level, name, value, len);
  // An undecided socket: the kernel socket checked and took it; usnet gets it too if the
  // socket moves there.
  if (r == 0 && !inside() && pending().contains(fd))
    pending().record_option(fd, level, name, value, len);
  return r;
}

}  // extern "C"
