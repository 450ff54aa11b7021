// The descriptor table of one stack: owns its sockets and maps descriptor numbers to them.
//
// Numbers are either chosen by the table (lowest free from 3, as a process's fd table
// would, used in simulations) or given by the caller (the C API reserves a kernel
// descriptor for each socket so usnet numbers never collide with the process's own files).
#pragma once

#include <map>
#include <memory>

#include "base/result.h"
#include "socket/socket.h"

namespace usnet {

class SocketTable {
 public:
  static constexpr std::size_t kMaxSockets = 65536;  // RLIMIT_NOFILE-like bound

  // Installs `sock` under `fd` (or the lowest free number >= 3 if fd < 0). kTooManyOpenFiles
  // past kMaxSockets; kInvalidArgument if fd is taken.
  Result<int> install(std::unique_ptr<Socket> sock, int fd = -1);
  Socket* get(int fd) const noexcept;
  // Removes and returns the socket (the caller releases it).
  std::unique_ptr<Socket> remove(int fd);
  // The socket under `from` is known as `to` from now on (Socket::fd too): its descriptor
  // `from` was closed while a duplicate `to` stays open. kInvalidArgument if `to` is taken
  // or `from` is not there.
  Status rekey(int from, int to);
  std::size_t size() const noexcept { return table_.size(); }

  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [fd, s] : table_)
      fn(*s);
  }

 private:
  std::map<int, std::unique_ptr<Socket>> table_;
};

}  // namespace usnet
