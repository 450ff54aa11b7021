// A socket's wait queue (Linux wait_queue_head_t in struct socket_wq) and the four wake-ups
// the protocols raise on it, named as Linux's sock callbacks:
//   sk_data_ready    data, a FIN or a connection to accept was queued   (key POLLIN)
//   sk_write_space   send-buffer space was freed for a writer that ran out (key POLLOUT)
//   sk_state_change  the connection changed state                        (key 0: anything)
//   sk_error_report  an asynchronous error is pending                    (key POLLERR)
// The key tells an entry what happened, so an epoll entry that asked for POLLOUT only is
// not queued by arriving data, exactly as ep_poll_callback() filters on the key.
//
// Entries belong to whoever waits: a blocked call, an epoll instance, a poll() in progress,
// a completion ring's parked operation. Their callbacks run at once, on the thread driving
// the stack and under the runtime lock; a callback records and notifies, it never calls
// back into the stack (the stack is in the middle of processing a segment).
//
// Invariant: an entry is removed before the memory holding it goes away; a socket is not
// destroyed while an entry is queued on it (the runtime holds a reference while it waits).
#pragma once

#include <poll.h>

#include <cstdint>

namespace usnet {

class Socket;
using PollMask = std::uint32_t;

struct WaitEntry {
  // Returns true if the entry took the wake-up (an exclusive wake-up stops at the first).
  using Func = bool (*)(WaitEntry& entry, Socket& sock, PollMask key);
  Func func = nullptr;
  // The socket's descriptor was closed: the owner takes the entry off (epoll items, as
  // eventpoll_release); null for entries of calls that hold a reference and keep waiting.
  using Release = void (*)(WaitEntry& entry, Socket& sock);
  Release release = nullptr;
  void* ctx = nullptr;
  bool exclusive = false;  // EPOLLEXCLUSIVE: woken one at a time, after the others

  WaitEntry* prev = nullptr;  // intrusive links, owned by the queue the entry is on
  WaitEntry* next = nullptr;
  bool queued = false;
};

class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;

  // Non-exclusive entries go to the front, exclusive ones to the back (Linux
  // add_wait_queue / add_wait_queue_exclusive), so every non-exclusive entry is woken
  // before the first exclusive one.
  void add(WaitEntry& e) noexcept;
  void remove(WaitEntry& e) noexcept;
  bool empty() const noexcept { return head_ == nullptr; }

  // Wakes every non-exclusive entry and exclusive entries up to the first that takes it.
  void wake(Socket& sock, PollMask key);
  // Removes every entry that has a release callback and calls it.
  void release_all(Socket& sock);

 private:
  WaitEntry* head_ = nullptr;
  WaitEntry* tail_ = nullptr;
};

inline constexpr PollMask kKeyIn = POLLIN | POLLRDNORM | POLLRDBAND | POLLPRI;
inline constexpr PollMask kKeyOut = POLLOUT | POLLWRNORM | POLLWRBAND;

void sk_data_ready(Socket& sock);
void sk_write_space(Socket& sock);
void sk_state_change(Socket& sock);
void sk_error_report(Socket& sock);
// A datagram left the socket (Linux sock_wfree -> sock_def_write_space): writers are told
// there is room, whether or not they ran out.
void sock_wfree(Socket& sock);

}  // namespace usnet
