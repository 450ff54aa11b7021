// The C calls that read and write a stack's settings under Linux's sysctl names
// (stack/sysctl.h), as `sysctl(8)` reads and writes /proc/sys: one name, a list
// (USNET_SYSCTL's "name=value;name=value"), or a file in sysctl.conf syntax.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>

#include "api/errno_out.h"
#include "api/handles.h"
#include "stack/stack.h"
#include "usnet/usnet.h"

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

namespace {

usnet_stack* resolve(usnet_stack* stack) {
  return stack != nullptr ? stack : current_stack();
}

}  // namespace

extern "C" {

int usnet_sysctl_get(usnet_stack* stack, const char* name, char* buf, size_t len) {
  if (name == nullptr || (buf == nullptr && len != 0)) return fail(EINVAL);
  stack = resolve(stack);
  std::unique_lock lock(stack->runtime->rt.mutex());
  auto v = sysctl_get(stack->stack->sysctl(), name);
  lock.unlock();
  if (!v) return fail(v.error());
  if (v->size() + 1 > len) return fail(ERANGE);
  std::memcpy(buf, v->c_str(), v->size() + 1);
  return 0;
}

int usnet_sysctl_set(usnet_stack* stack, const char* name, const char* value) {
  if (name == nullptr || value == nullptr) return fail(EINVAL);
  stack = resolve(stack);
  std::lock_guard lock(stack->runtime->rt.mutex());
  if (auto st = sysctl_set(stack->stack->sysctl(), name, value); !st) return fail(st.error());
  return 0;
}

int usnet_sysctl_apply(usnet_stack* stack, const char* list) {
  if (list == nullptr) return fail(EINVAL);
  stack = resolve(stack);
  std::lock_guard lock(stack->runtime->rt.mutex());
  if (auto st = sysctl_apply(stack->stack->sysctl(), list, ';'); !st) return fail(st.error());
  return 0;
}

int usnet_sysctl_load_file(usnet_stack* stack, const char* path) {
  if (path == nullptr) return fail(EINVAL);
  std::ifstream in(path);
  if (!in) return fail(errno != 0 ? errno : ENOENT);
  std::ostringstream text;
  text << in.rdbuf();
  stack = resolve(stack);
  std::lock_guard lock(stack->runtime->rt.mutex());
  if (auto st = sysctl_apply(stack->stack->sysctl(), text.str(), '\n'); !st)
    return fail(st.error());
  return 0;
}

}  // extern "C"
