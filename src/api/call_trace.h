// The trace of one C call (README "--trace"): a path named for the call, closed with its
// result, so each call's way through the layers reads as one line. Nothing is formatted
// while tracing is off: a call costs one test of the tracer then.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "stack/stack.h"

namespace usnet::api {

class CallTrace {
 public:
  template <typename... Args>
  CallTrace(Stack& s, fmt::format_string<Args...> head, Args&&... args) : s_(s) {
    if (s_.tracer().enabled()) s_.tracer().begin(fmt::format(head, std::forward<Args>(args)...));
  }
  ~CallTrace() { s_.tracer().end(tail_); }
  CallTrace(const CallTrace&) = delete;
  CallTrace& operator=(const CallTrace&) = delete;
  long long ret(long long v) {
    if (s_.tracer().enabled()) {
      tail_ = v < 0 ? fmt::format(" = -1 {}", std::strerror(errno)) : fmt::format(" = {}", v);
    }
    return v;
  }

 private:
  Stack& s_;
  std::string tail_;
};

}  // namespace usnet::api
