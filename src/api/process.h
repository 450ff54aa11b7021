// The process model of usnet's descriptors across fork() and exec() (the C API's and the
// preload's; README "Running programs" states it for users):
//   - fork(): the parent keeps every socket working. The child has a copy of the parent's
//     memory but none of its threads, so the parent's runtimes cannot run there: every
//     usnet descriptor it inherited acts as a closed one (EBADF from every call but
//     close(), which succeeds), and a one-line notice says so the first time the child
//     touches one. Stacks made in the child work as anywhere.
//   - exec(): usnet sockets live in the process's memory, so none survives into the new
//     image, whatever FD_CLOEXEC the program gave it: their kernel descriptors are always
//     close-on-exec, and the flag the program sees is kept apart (api/handles.h).
#pragma once

#include <cstdint>

#include "api/handles.h"

namespace usnet::api {

// Installs the pthread_atfork handlers (once; fd_map() calls it when first used).
void register_fork_handlers();
// Incremented in each forked child; a runtime made in an earlier generation is dead here.
std::uint64_t fork_generation() noexcept;
// True in a process forked from one that had usnet state, until it execs.
bool in_forked_child() noexcept;
// What fd is to usnet, with one lock-free load (the preload's fast path).
inline FdKind fd_kind(int fd) noexcept {
  return fd_map().kind(fd);
}
// Says once per process, on stderr, that an inherited usnet descriptor was used.
void note_inherited(int fd) noexcept;
// True if `h` belongs to a runtime that can run in this process (not a parent's).
bool stack_alive(const usnet_stack* h) noexcept;

}  // namespace usnet::api
