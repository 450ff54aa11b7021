// AF_INET sockets whose side is not decided yet (issue 8 item 4). socket() cannot know
// where the socket will talk, so it hands out a kernel socket (its number is a real kernel
// descriptor, so numbers never collide) and notes it here. The first bind, connect,
// sendto/sendmsg with an address, or listen decides: the kernel keeps it, or a usnet
// socket is put on the same number (usnet_dup3 over the kernel socket) with the options
// set so far replayed (SO_REUSEADDR, TCP_NODELAY, ...; O_NONBLOCK and FD_CLOEXEC are read
// back from the kernel socket, which held them meanwhile).
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace usnet::preload {

struct PendingSocket {
  int domain = AF_INET;
  int type = 0;  // as given to socket(), flags included
  int protocol = 0;
  struct Option {
    int level;
    int name;
    std::vector<std::byte> value;
  };
  std::vector<Option> options;  // in the order the program set them
};

class PendingTable {
 public:
  // One lock-free load: is fd an undecided socket?
  bool contains(int fd) const noexcept;
  void add(int fd, const PendingSocket& p);
  void record_option(int fd, int level, int name, const void* value, socklen_t len);
  // Removes fd and returns what was noted (false if it was not pending).
  bool take(int fd, PendingSocket& out);
  void forget(int fd);

 private:
  static constexpr int kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kChunks = 4096;
  void mark(int fd, bool on);

  mutable std::mutex mu_;
  std::unordered_map<int, PendingSocket> map_;
  std::array<std::atomic<std::atomic<std::uint8_t>*>, kChunks> marks_{};
  std::atomic<bool> any_{false};  // nothing was ever pending: skip even the chunk load
};

PendingTable& pending();

// The side is decided for pending fd: usnet. Puts a usnet socket on fd; 0, or -1 with
// errno (the kernel socket then stays, still undecided).
int move_to_usnet(int fd);

// Decides pending fd by a destination (connect, sendto) or a local address (bind); a
// no-op for a descriptor that is not pending. `call` names the call for the debug line.
void decide_by_destination(int fd, const sockaddr* addr, socklen_t len, const char* call);
void decide_by_local_address(int fd, const sockaddr* addr, socklen_t len);
// listen() on an undecided socket: it would bind to INADDR_ANY, which is usnet's.
void decide_for_listen(int fd);

}  // namespace usnet::preload
