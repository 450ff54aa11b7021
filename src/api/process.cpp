#include "api/process.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "runtime/thread_waker.h"

namespace usnet::api {
namespace {

std::atomic<std::uint64_t> g_generation{0};
std::atomic<bool> g_noticed{false};

void before_fork() {
  fd_map().before_fork();
}

void after_fork_parent() {
  fd_map().after_fork_parent();
}

void after_fork_child() {
  fd_map().after_fork_child();
  ThreadWaker::forget_after_fork();
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  g_noticed.store(false, std::memory_order_relaxed);
}

}  // namespace

void register_fork_handlers() {
  static std::once_flag once;
  std::call_once(once, [] { ::pthread_atfork(before_fork, after_fork_parent, after_fork_child); });
}

std::uint64_t fork_generation() noexcept {
  return g_generation.load(std::memory_order_acquire);
}

bool in_forked_child() noexcept {
  return fork_generation() != 0;
}

bool stack_alive(const usnet_stack* h) noexcept {
  return h != nullptr && h->runtime->generation == fork_generation();
}

void note_inherited(int fd) noexcept {
  if (g_noticed.exchange(true, std::memory_order_relaxed)) return;
  char line[200];
  const int n = std::snprintf(line, sizeof(line),
                              "usnet: pid %d: descriptor %d is a usnet socket of the parent "
                              "process; after fork() it acts as closed here (EBADF)\n",
                              static_cast<int>(::getpid()), fd);
  if (n > 0) (void)!::write(STDERR_FILENO, line, static_cast<std::size_t>(n));
}

}  // namespace usnet::api
