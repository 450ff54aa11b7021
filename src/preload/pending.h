// AF_INET and AF_INET6 sockets whose side is not decided yet (issue 8 item 4). socket()
// cannot know
// where the socket will talk, so it hands out a kernel socket (its number is a real kernel
// descriptor, so numbers never collide) and notes it here. The first bind, connect,
// sendto/sendmsg with an address, or listen decides: the kernel keeps it, or a usnet
// socket is put on the same number (usnet_dup3 over the kernel socket) with the options
// set so far replayed (SO_REUSEADDR, TCP_NODELAY, ...; O_NONBLOCK and FD_CLOEXEC are read
// back from the kernel socket, which held them meanwhile).
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "preload/fd_marks.h"

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
  // bind(0.0.0.0, port 0) (or `::`) was made on the kernel socket: a client choosing no
  // address, which does not say where it will talk (preload/pending.cpp). The usnet socket
  // is bound to the port the kernel chose, so getsockname's answer stays true.
  bool bound_anywhere = false;
  // The usnet epoll instances watching the kernel socket (epfd, event): the usnet socket
  // is added to them in its place (the kernel's registration goes with the kernel socket).
  std::vector<std::pair<int, epoll_event>> epolls;
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
  // epoll_ctl(epfd, op, fd, ev) succeeded on undecided fd.
  void note_epoll(int fd, int epfd, int op, const epoll_event* ev);
  // The kernel socket was bound to the wildcard with port 0 (PendingSocket::bound_anywhere).
  void note_bound_anywhere(int fd);
  // The family socket() was asked for; AF_UNSPEC if fd is not pending.
  int domain(int fd) const;
  // pthread_atfork: the lock is held across fork, so the child's is free.
  void before_fork();
  void after_fork();

 private:
  mutable std::mutex mu_;
  std::unordered_map<int, PendingSocket> map_;
  FdMarks marks_;
};

PendingTable& pending();

// The side is decided for pending fd: usnet. Puts a usnet socket on fd; 0, or -1 with
// errno (the kernel socket then stays, still undecided).
int move_to_usnet(int fd);

// Decides pending fd by a destination (connect, sendto) or a local address (bind); a
// no-op for a descriptor that is not pending. `call` names the call for the debug line.
void decide_by_destination(int fd, const sockaddr* addr, socklen_t len, const char* call);
// A bind to the wildcard with port 0 decides nothing (a client that binds before it sends
// or connects): the kernel socket takes it, and the socket stays undecided; `anywhere` says
// so, and the caller reports a successful kernel bind with note_bound_anywhere.
void decide_by_local_address(int fd, const sockaddr* addr, socklen_t len, bool& anywhere);
// listen() on an undecided socket: it would bind to the wildcard, which is usnet's.
void decide_for_listen(int fd);
// An undecided AF_INET6 socket.
bool is_v6_pending(int fd);

}  // namespace usnet::preload
