// The first step of every interposed call on a descriptor: what it is to usnet. One
// lock-free load (api::fd_kind); on this library's own re-entry (preload.h) the answer is
// always "the kernel's".
#pragma once

#include <cerrno>

#include "api/process.h"
#include "preload/preload.h"

namespace usnet::preload {

using api::FdKind;

inline FdKind kind_of(int fd) noexcept {
  if (inside()) return FdKind::kNone;
  return api::fd_kind(fd);
}

// A usnet descriptor of the parent's, in a forked child: acts as closed (api/process.h).
inline int inherited_fd(int fd) noexcept {
  api::note_inherited(fd);
  errno = EBADF;
  return -1;
}

}  // namespace usnet::preload
