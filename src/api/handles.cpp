#include "api/handles.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "api/process.h"

namespace usnet::api {
namespace {

thread_local usnet_stack* t_current = nullptr;
std::atomic<usnet_stack*> g_default{nullptr};

}  // namespace

int FdMap::reserve() {
  // Close-on-exec always (handles.h). Not EFD_NONBLOCK: the descriptor's own status flags
  // are never read (the socket's are Socket::nonblocking), and a read() of it that got past
  // the preload would block rather than spin.
  return ::eventfd(0, EFD_CLOEXEC);
}

void FdMap::set_kind(int fd, FdKind k) {
  const auto c = static_cast<std::size_t>(fd) >> kChunkBits;
  if (c >= kChunks) return;  // beyond the lock-free range: kind() asks the map
  auto* chunk = kinds_[c].load(std::memory_order_acquire);
  if (chunk == nullptr) {
    // Chunks are made once and never freed, so a lock-free reader can never see one go.
    auto* fresh = new std::atomic<std::uint8_t>[kChunkSize]();  // NOLINT: immortal
    if (kinds_[c].compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
      chunk = fresh;
    } else {
      delete[] fresh;  // NOLINT: lost the race; `chunk` holds the winner
    }
  }
  chunk[static_cast<std::size_t>(fd) & (kChunkSize - 1)].store(static_cast<std::uint8_t>(k),
                                                               std::memory_order_release);
}

FdKind FdMap::kind(int fd) const noexcept {
  if (fd < 0) return FdKind::kNone;
  const auto c = static_cast<std::size_t>(fd) >> kChunkBits;
  if (c >= kChunks) {
    std::lock_guard lock(mu_);
    auto it = map_.find(fd);
    if (it != map_.end()) {
      return it->second.file->stack != nullptr ? FdKind::kSocket : FdKind::kObject;
    }
    return std::find(inherited_.begin(), inherited_.end(), fd) != inherited_.end()
               ? FdKind::kInherited
               : FdKind::kNone;
  }
  const auto* chunk = kinds_[c].load(std::memory_order_acquire);
  if (chunk == nullptr) return FdKind::kNone;
  return static_cast<FdKind>(
      chunk[static_cast<std::size_t>(fd) & (kChunkSize - 1)].load(std::memory_order_acquire));
}

void FdMap::install(int fd, const std::shared_ptr<File>& file, bool cloexec) {
  std::lock_guard lock(mu_);
  file->fds.push_back(fd);
  map_[fd] = Entry{file, cloexec};
  std::erase(inherited_, fd);
  set_kind(fd, file->stack != nullptr ? FdKind::kSocket : FdKind::kObject);
}

std::shared_ptr<File> FdMap::get(int fd) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  return it == map_.end() ? nullptr : it->second.file;
}

bool FdMap::get_cloexec(int fd, bool& cloexec) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it == map_.end()) return false;
  cloexec = it->second.cloexec;
  return true;
}

bool FdMap::set_cloexec(int fd, bool cloexec) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it == map_.end()) return false;
  it->second.cloexec = cloexec;
  return true;
}

std::shared_ptr<File> FdMap::remove(int fd, bool& last, int& other) {
  std::lock_guard lock(mu_);
  last = false;
  other = -1;
  if (auto in = std::find(inherited_.begin(), inherited_.end(), fd); in != inherited_.end()) {
    inherited_.erase(in);
    set_kind(fd, FdKind::kNone);
    return nullptr;
  }
  auto it = map_.find(fd);
  if (it == map_.end()) return nullptr;
  auto file = std::move(it->second.file);
  map_.erase(it);
  set_kind(fd, FdKind::kNone);
  std::erase(file->fds, fd);
  last = file->fds.empty();
  if (!last) other = file->fds.front();
  return file;
}

std::vector<int> FdMap::fds_of(const usnet_runtime* rt) const {
  std::lock_guard lock(mu_);
  std::vector<int> out;
  for (const auto& [fd, e] : map_) {
    if (e.file->stack != nullptr && e.file->stack->runtime == rt) out.push_back(fd);
  }
  return out;
}

void FdMap::before_fork() {
  mu_.lock();  // NOLINT: released by after_fork_parent / after_fork_child
}

void FdMap::after_fork_parent() {
  mu_.unlock();
}

void FdMap::after_fork_child() {
  // The parent's Files stay as they were, unreachable: releasing them here would run
  // socket and epoll code against runtimes that have no thread in the child and whose
  // locks another thread of the parent may have held at the fork.
  for (const auto& [fd, e] : map_) {
    inherited_.push_back(fd);
    set_kind(fd, FdKind::kInherited);
  }
  new std::unordered_map<int, Entry>(std::move(map_));  // NOLINT: see above
  map_.clear();
  mu_.unlock();
}

FdMap& fd_map() {
  // Process state of the API edge (see handles.h), deliberately never destroyed: network
  // threads of runtimes the program did not free still wake epoll instances and rings the
  // map owns while static destructors run at exit.
  static FdMap* map = [] {
    auto* m = new FdMap;  // NOLINT(cppcoreguidelines-owning-memory)
    register_fork_handlers();
    return m;
  }();
  return *map;
}

void enable_trace(usnet::Stack& s, bool on) {
  if (!on) {
    s.tracer().set_sink({});
    return;
  }
  s.tracer().set_prefix("[" + s.config().name + "] ");
  s.tracer().set_sink([](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  });
}

void apply_trace_env(usnet::Stack& s) {
  const char* v = std::getenv("USNET_TRACE");
  if (v != nullptr && *v != '\0' && std::string_view(v) != "0") enable_trace(s, true);
}

usnet_stack* current_stack() {
  if (t_current != nullptr) return t_current;
  if (usnet_stack* d = g_default.load(std::memory_order_acquire)) return d;
  // The default: a runtime with one stack that has only the loopback interface. Created on
  // first use and kept for the life of the process.
  static usnet_runtime* default_rt = [] {
    auto* rt = new usnet_runtime;  // NOLINT: deliberately immortal, like a process's kernel
    StackConfig cfg;
    cfg.name = "default";  // no seed: its Rng and secrets come from getrandom()
    std::lock_guard lock(rt->rt.mutex());
    Stack& s = rt->rt.add_stack(cfg);
    apply_trace_env(s);
    rt->stacks.push_back(rt->adopt(s));
    return rt;
  }();
  return default_rt->stacks.front().get();
}

void set_current_stack(usnet_stack* s) {
  t_current = s;
}

void set_default_stack(usnet_stack* s) {
  g_default.store(s, std::memory_order_release);
}

}  // namespace usnet::api

usnet_runtime::usnet_runtime() : generation(usnet::api::fork_generation()) {
  (void)usnet::api::fd_map();  // the fork handlers are in place before any thread is
}

std::unique_ptr<usnet_stack> usnet_runtime::adopt(usnet::Stack& s) {
  auto h = std::make_unique<usnet_stack>();
  h->stack = &s;
  h->runtime = this;
  return h;
}
