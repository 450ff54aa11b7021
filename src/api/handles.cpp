#include "api/handles.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace usnet::api {
namespace {

thread_local usnet_stack* t_current = nullptr;

}  // namespace

int FdMap::reserve() {
  // An eventfd costs no file system object and can later signal readiness to a kernel
  // poll/epoll waiting on the socket (the threaded runtime's plan).
  return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void FdMap::bind(int fd, usnet_stack* stack) {
  std::lock_guard lock(mu_);
  map_[fd] = FdEntry{stack, nullptr};
}

void FdMap::release(int fd) {
  {
    std::lock_guard lock(mu_);
    map_.erase(fd);
  }
  ::close(fd);
}

usnet_stack* FdMap::find(int fd) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  return it == map_.end() ? nullptr : it->second.stack;
}

void FdMap::bind_file(int fd, std::shared_ptr<ApiFile> file) {
  std::lock_guard lock(mu_);
  map_[fd] = FdEntry{nullptr, std::move(file)};
}

std::shared_ptr<ApiFile> FdMap::forget_file(int fd) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  if (it == map_.end() || !it->second.file) return nullptr;
  auto f = std::move(it->second.file);
  map_.erase(it);
  return f;
}

std::shared_ptr<ApiFile> FdMap::find_file(int fd) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(fd);
  return it == map_.end() ? nullptr : it->second.file;
}

std::vector<int> FdMap::fds_of(const usnet_runtime* rt) const {
  std::lock_guard lock(mu_);
  std::vector<int> out;
  for (const auto& [fd, e] : map_) {
    if (e.stack != nullptr && e.stack->runtime == rt) out.push_back(fd);
  }
  return out;
}

FdMap& fd_map() {
  // Process state of the API edge (see handles.h), deliberately never destroyed: network
  // threads of runtimes the program did not free still wake epoll instances and rings the
  // map owns while static destructors run at exit.
  static FdMap* map = new FdMap;  // NOLINT(cppcoreguidelines-owning-memory)
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

}  // namespace usnet::api

std::unique_ptr<usnet_stack> usnet_runtime::adopt(usnet::Stack& s) {
  auto h = std::make_unique<usnet_stack>();
  h->stack = &s;
  h->runtime = this;
  return h;
}
