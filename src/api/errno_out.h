// The C convention at the API edge: set errno, return -1.
#pragma once

#include <cerrno>

#include "base/errno_map.h"

namespace usnet::api {

inline int fail(int err) noexcept {
  errno = err;
  return -1;
}
inline int fail(Error e) noexcept {
  return fail(to_errno(e));
}

}  // namespace usnet::api
