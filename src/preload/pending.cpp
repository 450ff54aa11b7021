#include "preload/pending.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>

#include <cerrno>
#include <cstring>

#include "api/process.h"
#include "api/sockaddr.h"
#include "preload/preload.h"
#include "usnet/usnet.h"

namespace usnet::preload {

bool PendingTable::contains(int fd) const noexcept {
  return marks_.test(fd);
}

void PendingTable::add(int fd, const PendingSocket& p) {
  std::lock_guard lock(mu_);
  map_[fd] = p;
  marks_.set(fd, true);
}

void PendingTable::record_option(int fd, int level, int name, const void* value, socklen_t len) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it == map_.end()) return;
  PendingSocket::Option o{level, name, {}};
  if (value != nullptr && len > 0) {
    const auto* b = static_cast<const std::byte*>(value);
    o.value.assign(b, b + len);
  }
  it->second.options.push_back(std::move(o));
}

bool PendingTable::take(int fd, PendingSocket& out) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it == map_.end()) return false;
  out = std::move(it->second);
  map_.erase(it);
  marks_.set(fd, false);
  return true;
}

void PendingTable::note_epoll(int fd, int epfd, int op, const epoll_event* ev) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it == map_.end()) return;
  auto& regs = it->second.epolls;
  std::erase_if(regs, [&](const auto& r) { return r.first == epfd; });
  if (op != EPOLL_CTL_DEL && ev != nullptr) regs.emplace_back(epfd, *ev);
}

void PendingTable::note_bound_anywhere(int fd) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it != map_.end()) it->second.bound_anywhere = true;
}

int PendingTable::domain(int fd) const {
  if (!contains(fd)) return AF_UNSPEC;
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  return it == map_.end() ? AF_UNSPEC : it->second.domain;
}

void PendingTable::forget(int fd) {
  if (!contains(fd)) return;
  std::lock_guard lock(mu_);
  map_.erase(fd);
  marks_.set(fd, false);
}

void PendingTable::before_fork() {
  mu_.lock();  // NOLINT: released by after_fork
}

void PendingTable::after_fork() {
  mu_.unlock();
}

PendingTable& pending() {
  static auto* table = [] {
    auto* t = new PendingTable;  // NOLINT: immortal, used until the last exit handler
    // A child must not inherit the lock held by another thread of the parent.
    ::pthread_atfork([] { pending().before_fork(); }, [] { pending().after_fork(); },
                     [] { pending().after_fork(); });
    return t;
  }();
  return *table;
}

namespace {

// 198.18.0.1:80 or [2001:db8::1]:80 (SockAddr::to_string), for a debug line.
std::string describe(const sockaddr* addr, socklen_t len) {
  auto a = api::sockaddr_in_from_user(addr, len);
  return a ? a->to_string() : std::string("(no IP address)");
}

int install_usnet(int fd, const PendingSocket& p) {
  Inside in;
  const int fl = real().fcntl(fd, F_GETFL);
  const int fdfl = real().fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0) return -1;
  const int base_type = p.type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  // The family the program asked for: an AF_INET6 socket is usnet's own, dual-stack unless
  // IPV6_V6ONLY is among the options replayed below (before any bind, as it must be).
  const int u = usnet_socket(p.domain, base_type | SOCK_CLOEXEC, p.protocol);
  if (u < 0) return -1;
  for (const auto& o : p.options) {
    // The kernel took these; one usnet does not have is noted, not fatal (the program
    // was told it worked, as it would have been on the kernel).
    if (usnet_setsockopt(u, o.level, o.name, o.value.data(),
                         static_cast<socklen_t>(o.value.size())) != 0) {
      debug_line("usnet preload: fd %d: setsockopt(%d, %d) not replayed on usnet: %s", fd, o.level,
                 o.name, std::strerror(errno));
    }
  }
  if (p.bound_anywhere) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    sockaddr_in6 any{};  // sin_port and sin6_port sit at the same offset, as the families
    any.sin6_family = static_cast<sa_family_t>(p.domain);
    const socklen_t any_len = p.domain == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (real().getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {  // NOLINT
      std::memcpy(&any.sin6_port, reinterpret_cast<const char*>(&ss) + 2, 2);   // NOLINT
    }
    if (usnet_bind(u, reinterpret_cast<const sockaddr*>(&any), any_len) != 0) {  // NOLINT
      any.sin6_port = 0;  // the kernel's port is taken in usnet: any other
      (void)usnet_bind(u, reinterpret_cast<const sockaddr*>(&any), any_len);  // NOLINT
    }
  }
  if ((fl & O_NONBLOCK) != 0) (void)usnet_fcntl(u, F_SETFL, O_NONBLOCK);
  // Onto the program's number; the kernel socket there is closed by the kernel's dup3.
  const int r = usnet_dup3(u, fd, (fdfl & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
  const int saved = errno;
  if (r >= 0) {
    for (auto [epfd, ev] : p.epolls) {
      if (usnet_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        debug_line("usnet preload: fd %d: not watched again by epoll %d: %s", fd, epfd,
                   std::strerror(errno));
      }
    }
  }
  (void)usnet_close(u);
  errno = saved;
  return r < 0 ? -1 : 0;
}

}  // namespace

int move_to_usnet(int fd) {
  PendingSocket p;
  if (!pending().take(fd, p)) return 0;
  if (install_usnet(fd, p) != 0) {
    const int saved = errno;
    debug_line("usnet preload: fd %d: cannot move to usnet (%s): stays in the kernel", fd,
               std::strerror(saved));
    errno = saved;
    return -1;
  }
  return 0;
}

namespace {

// An undecided AF_INET6 socket that also serves IPv4: IPV6_V6ONLY is clear, as the kernel
// socket says (it holds the sysctl default and what was set).
bool dual_stack(int fd) {
  int v6only = 1;
  socklen_t len = sizeof(v6only);
  Inside in;
  return real().getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && v6only == 0;
}

// The address of the family the socket was made for, long enough to read; else nothing is
// decided (the kernel reports the mistake, or an AF_INET address on an AF_INET6 socket is
// the kernel's to take, and the socket stays undecided).
bool own_family(int fd, const sockaddr* addr, socklen_t len) {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return false;
  const int want = pending().domain(fd);
  return addr->sa_family == want && len >= api::addr_min_len(want);
}

// The address of own_family(fd, addr, len), parsed as the calls parse it.
SockAddr parsed(const sockaddr* addr, socklen_t len) {
  auto a = api::sockaddr_in_from_user(addr, len);
  return a ? *a : SockAddr{};
}

void decide(int fd, bool usnet, const char* call, const sockaddr* addr, socklen_t len) {
  debug_line("usnet preload: fd %d: %s %s -> %s", fd, call, describe(addr, len).c_str(),
             usnet ? "usnet" : "kernel");
  if (usnet) {
    (void)move_to_usnet(fd);
  } else {
    pending().forget(fd);
  }
}

}  // namespace

bool is_v6_pending(int fd) {
  return pending().domain(fd) == AF_INET6;
}

void decide_by_destination(int fd, const sockaddr* addr, socklen_t len, const char* call) {
  if (!pending().contains(fd) || !configured() || !own_family(fd, addr, len)) return;
  // A v4-mapped destination of an IPv6-only socket: unreachable (ENETUNREACH), as the
  // kernel socket will say.
  const bool refused =
      addr->sa_family == AF_INET6 && parsed(addr, len).addr.v6().is_v4_mapped() && !dual_stack(fd);
  decide(fd, !refused && served_by_usnet(addr, len), call, addr, len);
}

void decide_by_local_address(int fd, const sockaddr* addr, socklen_t len, bool& anywhere) {
  anywhere = false;
  if (!pending().contains(fd) || !configured() || !own_family(fd, addr, len)) return;
  const SockAddr a = parsed(addr, len);
  if (a.addr.is_any() && a.port == 0) {
    debug_line("usnet preload: fd %d: bind to the wildcard, port 0: not decided yet", fd);
    anywhere = true;
    return;
  }
  bool usnet = true;
  if (addr->sa_family == AF_INET6 && !dual_stack(fd)) {
    // IPv6 only: a v4-mapped address is refused (the kernel's EINVAL); the wildcard is
    // usnet's only if usnet has IPv6 of its own, else the program's IPv6 is the kernel's.
    if (a.addr.v6().is_v4_mapped()) usnet = false;
    if (a.addr.is_any() && !(ensure_stack() && usnet_has_ipv6())) usnet = false;
  }
  decide(fd, usnet && bound_by_usnet(addr, len), "bind", addr, len);
}

void decide_for_listen(int fd) {
  if (!pending().contains(fd) || !configured()) return;
  const bool usnet = ensure_stack() && (!is_v6_pending(fd) || dual_stack(fd) || usnet_has_ipv6());
  debug_line("usnet preload: fd %d: listen without bind (the wildcard) -> %s", fd,
             usnet ? "usnet" : "kernel");
  if (usnet) {
    (void)move_to_usnet(fd);
  } else {
    pending().forget(fd);
  }
}

}  // namespace usnet::preload
