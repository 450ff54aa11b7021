// The C API's process state, at the edge where it belongs (STYLE habit 4: only the API and
// the preload shim hold process-wide state; the stacks hold none):
//   - the opaque usnet_runtime / usnet_stack handles,
//   - the descriptor map: each usnet socket's number is a kernel descriptor reserved for it
//     (an eventfd), mapped to the stack that owns the socket,
//   - the calling thread's current stack, and a lazily created default runtime and stack.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/file_object.h"
#include "runtime/runtime.h"
#include "usnet/usnet.h"

struct usnet_stack {
  usnet::Stack* stack = nullptr;
  usnet_runtime* runtime = nullptr;
  std::map<int, std::string> tap_names;  // ifindex -> kernel-side TAP name
};

struct usnet_runtime {
  usnet::Runtime rt;
  std::vector<std::unique_ptr<usnet_stack>> stacks;
  std::unique_ptr<usnet_stack> adopt(usnet::Stack& s);
};

namespace usnet::api {

// A descriptor that is not a socket: an epoll instance or a completion ring.
using ApiFile = FileObject;

struct FdEntry {
  usnet_stack* stack = nullptr;   // a socket on this stack
  std::shared_ptr<ApiFile> file;  // or another usnet object
};

class FdMap {
 public:
  // Reserves a kernel descriptor for a new socket; -1 with errno (EMFILE) on failure.
  int reserve();
  void bind(int fd, usnet_stack* stack);
  void bind_file(int fd, std::shared_ptr<ApiFile> file);
  // Forgets fd and closes its kernel descriptor.
  void release(int fd);
  // Forgets fd, leaving its kernel descriptor to the object (which closes it when freed).
  std::shared_ptr<ApiFile> forget_file(int fd);
  usnet_stack* find(int fd) const;
  std::shared_ptr<ApiFile> find_file(int fd) const;
  std::vector<int> fds_of(const usnet_runtime* rt) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<int, FdEntry> map_;
};

FdMap& fd_map();
usnet_stack* current_stack();  // the thread's stack, or the default one
void set_current_stack(usnet_stack* s);
// The USNET_TRACE environment switch: installs a stderr sink when set to a non-zero value.
void apply_trace_env(usnet::Stack& s);
void enable_trace(usnet::Stack& s, bool on);

}  // namespace usnet::api
