#include "preload/pending.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "api/process.h"
#include "preload/preload.h"
#include "usnet/usnet.h"

namespace usnet::preload {

bool PendingTable::contains(int fd) const noexcept {
  if (fd < 0 || !any_.load(std::memory_order_relaxed)) return false;
  const auto c = static_cast<std::size_t>(fd) >> kChunkBits;
  if (c >= kChunks) {
    std::lock_guard lock(mu_);
    return map_.contains(fd);
  }
  const auto* chunk = marks_[c].load(std::memory_order_acquire);
  return chunk != nullptr &&
         chunk[static_cast<std::size_t>(fd) & (kChunkSize - 1)].load(std::memory_order_acquire) !=
             0;
}

void PendingTable::mark(int fd, bool on) {
  const auto c = static_cast<std::size_t>(fd) >> kChunkBits;
  if (c >= kChunks) return;  // beyond the lock-free range: contains() asks the map
  auto* chunk = marks_[c].load(std::memory_order_acquire);
  if (chunk == nullptr) {
    if (!on) return;
    // Chunks are never freed, so a lock-free reader never sees one go (as api::FdMap).
    auto* fresh = new std::atomic<std::uint8_t>[kChunkSize]();  // NOLINT: immortal
    if (marks_[c].compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
      chunk = fresh;
    } else {
      delete[] fresh;  // NOLINT: lost the race
    }
  }
  chunk[static_cast<std::size_t>(fd) & (kChunkSize - 1)].store(on ? 1 : 0,
                                                               std::memory_order_release);
}

void PendingTable::add(int fd, const PendingSocket& p) {
  std::lock_guard lock(mu_);
  map_[fd] = p;
  any_.store(true, std::memory_order_relaxed);
  mark(fd, true);
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
  mark(fd, false);
  return true;
}

void PendingTable::forget(int fd) {
  if (!contains(fd)) return;
  std::lock_guard lock(mu_);
  map_.erase(fd);
  mark(fd, false);
}

PendingTable& pending() {
  static auto* table = new PendingTable;  // NOLINT: immortal, used until the last exit handler
  return *table;
}

namespace {

std::string describe(const sockaddr* addr, socklen_t len) {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in)) ||
      addr->sa_family != AF_INET) {
    return "(no IPv4 address)";
  }
  sockaddr_in in{};
  std::memcpy(&in, addr, sizeof(in));
  char ip[INET_ADDRSTRLEN] = "?";
  ::inet_ntop(AF_INET, &in.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(in.sin_port));
}

int install_usnet(int fd, const PendingSocket& p) {
  Inside in;
  const int fl = real().fcntl(fd, F_GETFL);
  const int fdfl = real().fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0) return -1;
  const int base_type = p.type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const int u = usnet_socket(p.domain, base_type | SOCK_CLOEXEC, p.protocol);
  if (u < 0) return -1;
  for (const auto& o : p.options) {
    // The kernel took these; one usnet does not have is noted, not fatal (the program
    // was told it worked, as it would have been on the kernel).
    if (usnet_setsockopt(u, o.level, o.name, o.value.data(),
                         static_cast<socklen_t>(o.value.size())) != 0) {
      debug_line("usnet preload: fd %d: setsockopt(%d, %d) not replayed on usnet: %s", fd,
                 o.level, o.name, std::strerror(errno));
    }
  }
  if ((fl & O_NONBLOCK) != 0) (void)usnet_fcntl(u, F_SETFL, O_NONBLOCK);
  // Onto the program's number; the kernel socket there is closed by the kernel's dup3.
  const int r = usnet_dup3(u, fd, (fdfl & FD_CLOEXEC) != 0 ? O_CLOEXEC : 0);
  const int saved = errno;
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

void decide_by_destination(int fd, const sockaddr* addr, socklen_t len, const char* call) {
  if (!pending().contains(fd) || api::in_forked_child()) return;
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t)) ||
      addr->sa_family != AF_INET) {
    return;  // the kernel reports the mistake; still undecided
  }
  const bool usnet = served_by_usnet(addr, len);
  debug_line("usnet preload: fd %d: %s %s -> %s", fd, call, describe(addr, len).c_str(),
             usnet ? "usnet" : "kernel");
  if (usnet) {
    (void)move_to_usnet(fd);
  } else {
    pending().forget(fd);
  }
}

void decide_by_local_address(int fd, const sockaddr* addr, socklen_t len) {
  if (!pending().contains(fd) || api::in_forked_child()) return;
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in)) ||
      addr->sa_family != AF_INET) {
    return;
  }
  const bool usnet = bound_by_usnet(addr, len);
  debug_line("usnet preload: fd %d: bind %s -> %s", fd, describe(addr, len).c_str(),
             usnet ? "usnet" : "kernel");
  if (usnet) {
    (void)move_to_usnet(fd);
  } else {
    pending().forget(fd);
  }
}

void decide_for_listen(int fd) {
  if (!pending().contains(fd) || api::in_forked_child()) return;
  const bool usnet = ensure_stack();
  debug_line("usnet preload: fd %d: listen without bind (0.0.0.0) -> %s", fd,
             usnet ? "usnet" : "kernel");
  if (usnet) {
    (void)move_to_usnet(fd);
  } else {
    pending().forget(fd);
  }
}

}  // namespace usnet::preload
