// An epoll instance (Linux fs/eventpoll.c) over usnet sockets and kernel descriptors.
//
// Its descriptor is a real kernel epoll (`outer`), so the kernel's poll/epoll can wait on
// it beside kernel descriptors. Inside it are two things: `inner`, a kernel epoll holding
// the kernel descriptors the user added (the kernel keeps their LT/ET/ONESHOT state), and
// an eventfd that is readable while usnet sockets are on the ready list. usnet sockets are
// watched through their wait queues: a wake-up whose key the item wants puts the item on
// the ready list (ep_poll_callback); epoll_wait re-polls each ready item, reports what it
// finds, and puts level-triggered items back (ep_send_events).
//
// Locking (runtime/runtime.h rules 3 and 5): mu_ is taken after a runtime lock, never
// before. Wake-up callbacks run under the socket's runtime lock and take mu_. Items keep a
// reference-free pointer to their socket; it is valid while the item is not `removed`,
// because a socket's close() detaches its items (release_all) under its runtime lock
// before the socket can go.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/result.h"
#include "runtime/file_object.h"
#include "socket/wait_queue.h"

namespace usnet {

class Runtime;
class Socket;

class EventPoll : public FileObject, public std::enable_shared_from_this<EventPoll> {
 public:
  // epoll_create1(): flags may hold EPOLL_CLOEXEC only (checked by the caller). Null with
  // errno (EMFILE, ENFILE, ENOMEM) when the kernel descriptors cannot be had.
  static std::shared_ptr<EventPoll> create(int flags);
  ~EventPoll() override;

  int fd() const noexcept { return outer_.load(std::memory_order_acquire); }
  int own_fd() const noexcept override { return fd(); }
  void move_to(int fd) noexcept override { outer_.store(fd, std::memory_order_release); }

  // EPOLL_CTL_ADD/MOD/DEL of a usnet socket. The caller holds rt's lock; `ev` is non-null
  // for ADD and MOD and has passed the checks every target shares.
  Status ctl_socket(int op, int fd, Runtime& rt, Socket& sock, const epoll_event* ev);
  // The same for a kernel descriptor (or another epoll instance): the kernel decides, and
  // its errno (ELOOP, EPERM, ...) is returned as it is; 0 on success. `nested` is the usnet
  // epoll instance behind fd, if it is one.
  int ctl_kernel(int op, int fd, epoll_event* ev, const std::shared_ptr<EventPoll>& nested);
  // ep_eventpoll_poll: drops ready-list items that are no longer ready (re-polling them,
  // and the usnet epoll instances nested in this one), so that this instance's descriptor
  // is readable exactly while it has events. The kernel cannot ask usnet when it polls the
  // descriptor, so callers that are about to (epoll_wait of an instance that holds this
  // one, usnet_poll) call this first. Call with no lock held.
  void refresh(int depth = 0);
  // epoll_wait(): up to `max` events; timeout_ms < 0 waits forever. Call with no lock held.
  Result<int> wait(epoll_event* out, int max, int timeout_ms);

  // close() of the descriptor: new calls fail with EBADF; the instance detaches from the
  // sockets it watches when the last call using it returns (see on_close in the .cpp).
  void on_close() override;

 private:
  EventPoll() = default;

  struct Item {
    EventPoll* ep = nullptr;
    int fd = -1;
    Runtime* rt = nullptr;
    Socket* sock = nullptr;
    std::uint32_t events = 0;  // what the user asked for, plus EPOLLERR | EPOLLHUP
    epoll_data_t data{};
    WaitEntry wait;
    bool on_ready = false;  // on ready_ (or being reported by a wait in progress)
    bool removed = false;
  };

  static bool wake_cb(WaitEntry& e, Socket& sock, PollMask key);
  static void release_cb(WaitEntry& e, Socket& sock);
  void queue_ready_locked(const std::shared_ptr<Item>& it);
  void signal_locked();
  // Makes evfd_ readable exactly while ready_ is not empty.
  void sync_signal_locked();
  int send_events(epoll_event* out, int max);
  void refresh_nested(int depth);
  // Takes every item off its socket's wait queue. Call with no lock held.
  void detach();

  std::mutex mu_;
  std::unordered_map<int, std::shared_ptr<Item>> items_;  // usnet sockets, by descriptor
  std::deque<std::shared_ptr<Item>> ready_;
  // usnet epoll instances added to inner_, by descriptor (refresh() looks at them first).
  std::unordered_map<int, std::weak_ptr<EventPoll>> nested_;
  // A kernel descriptor was ever added (the kernel drops closed ones by itself, so this is
  // not a count): until then epoll_wait skips asking the inner kernel epoll.
  bool kernel_items_ = false;
  bool has_kernel_items() {
    std::lock_guard lock(mu_);
    return kernel_items_;
  }
  // Threads asleep in wait() (Linux: waitqueue_active(&ep->wq)). An EPOLLEXCLUSIVE wake-up
  // counts as taken only by an instance with one; otherwise it goes on to the next.
  int waiters_ = 0;
  bool signalled_ = false;  // evfd_ holds a count
  bool closed_ = false;
  std::atomic<int> outer_{-1};
  int inner_ = -1;
  int evfd_ = -1;
};

}  // namespace usnet
