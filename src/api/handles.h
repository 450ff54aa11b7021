// The C API's process state, at the edge where it belongs (STYLE habit 4: only the API and
// the preload shim hold process-wide state; the stacks hold none):
//   - the opaque usnet_runtime / usnet_stack handles,
//   - the descriptor table: each usnet descriptor is a kernel descriptor reserved for it
//     (an eventfd, or an epoll instance's own descriptor), mapped to an open file (File),
//     which refers to the socket or object. Duplicates (dup, dup2, dup3, F_DUPFD) are
//     kernel duplicates of the reserved descriptor that refer to the same File, as Linux
//     descriptors refer to one struct file. A socket's kernel descriptors are always
//     close-on-exec, so no usnet socket outlives an exec (it lives in this process's
//     memory); the FD_CLOEXEC the program set or asked for is kept here, per descriptor,
//     and is what F_GETFD reports. An epoll instance's descriptor is the kernel's own, with
//     the kernel's flag,
//   - the calling thread's current stack, and a lazily created default runtime and stack.
//
// Invariants:
//   - a socket of the C API is keyed in its stack's SocketTable by one of its open
//     descriptors (Socket::fd), so a reserved number, which no open descriptor has, never
//     collides with a live socket; closing that descriptor re-keys the socket under another;
//   - an object's own descriptor (FileObject::own_fd) is likewise one of its open ones;
//   - a File leaves the table's care when its last descriptor is closed: the socket is
//     released (sock_close) or the object told (on_close). Calls in progress hold their own
//     references (Socket::users, a shared_ptr to the object), separate from descriptors.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
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
  usnet_runtime();
  usnet::Runtime rt;
  std::vector<std::unique_ptr<usnet_stack>> stacks;
  // The fork generation it was made in (api/process.h): a runtime from before a fork has
  // no network thread in the child and must not be touched there.
  std::uint64_t generation;
  std::unique_ptr<usnet_stack> adopt(usnet::Stack& s);
};

namespace usnet::api {

// An open file description (Linux struct file). A socket's file is one to one with the
// socket, as in Linux, so its status flags (O_NONBLOCK) are the socket's own
// (Socket::nonblocking) and are shared by every duplicate.
struct File {
  usnet_stack* stack = nullptr;  // a socket's file: the socket's stack
  // Guarded by the stack's runtime lock; null once the last descriptor was closed.
  Socket* sock = nullptr;
  std::shared_ptr<FileObject> object;  // or an epoll instance
  std::vector<int> fds;                // the descriptors referring to it (FdMap's lock)
};

// What a descriptor is to usnet, answered without a lock.
enum class FdKind : std::uint8_t {
  kNone = 0,   // not usnet's: the kernel's, or nothing
  kSocket,     // a usnet socket
  kObject,     // a usnet epoll instance
  kInherited,  // in a forked child: a usnet descriptor of the parent (acts as closed)
};

class FdMap {
 public:
  // A kernel descriptor to stand for a new socket (an eventfd costs no file system object);
  // -1 with errno (EMFILE, ENFILE) on failure.
  static int reserve();

  // fd, a kernel descriptor reserved or duplicated for it, now refers to `file`; `cloexec`
  // is its FD_CLOEXEC as the program sees it.
  void install(int fd, const std::shared_ptr<File>& file, bool cloexec);
  std::shared_ptr<File> get(int fd) const;
  // F_GETFD / F_SETFD of a socket's descriptor; false if fd is not in the table.
  bool get_cloexec(int fd, bool& cloexec) const;
  bool set_cloexec(int fd, bool cloexec);
  FdKind kind(int fd) const noexcept;
  // Forgets fd (the caller then closes the kernel descriptor). Returns its file, and sets
  // `last` if fd was the file's last descriptor; else names in `other` a descriptor that
  // still refers to it (for re-keying). Null if fd is not in the table.
  std::shared_ptr<File> remove(int fd, bool& last, int& other);
  // Descriptors of sockets on stacks of `rt`.
  std::vector<int> fds_of(const usnet_runtime* rt) const;

  // pthread_atfork handlers (api/process.cpp): the child gets a consistent table whose
  // entries are all kInherited, and no File of the parent's is touched there.
  void before_fork();
  void after_fork_parent();
  void after_fork_child();

 private:
  static constexpr int kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kChunks = 4096;  // lock-free kinds for fds below 2^24
  void set_kind(int fd, FdKind k);

  struct Entry {
    std::shared_ptr<File> file;
    bool cloexec = false;
  };
  mutable std::mutex mu_;
  std::unordered_map<int, Entry> map_;
  std::vector<int> inherited_;  // a forked child's dead descriptors (for exec)
  std::array<std::atomic<std::atomic<std::uint8_t>*>, kChunks> kinds_{};
};

FdMap& fd_map();
// The thread's stack (usnet_stack_use), else the process default (usnet_stack_set_default),
// else the loopback-only default stack, made on first use.
usnet_stack* current_stack();
void set_current_stack(usnet_stack* s);
void set_default_stack(usnet_stack* s);
// The USNET_TRACE environment switch: installs a stderr sink when set to a non-zero value.
void apply_trace_env(usnet::Stack& s);
void enable_trace(usnet::Stack& s, bool on);

}  // namespace usnet::api
