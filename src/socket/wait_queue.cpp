#include "socket/wait_queue.h"

#include "socket/socket.h"

namespace usnet {

void WaitQueue::add(WaitEntry& e) noexcept {
  if (e.queued) return;
  e.queued = true;
  if (!e.exclusive) {
    e.prev = nullptr;
    e.next = head_;
    if (head_ != nullptr) head_->prev = &e;
    head_ = &e;
    if (tail_ == nullptr) tail_ = &e;
    return;
  }
  e.next = nullptr;
  e.prev = tail_;
  if (tail_ != nullptr) tail_->next = &e;
  tail_ = &e;
  if (head_ == nullptr) head_ = &e;
}

void WaitQueue::remove(WaitEntry& e) noexcept {
  if (!e.queued) return;
  if (e.prev != nullptr)
    e.prev->next = e.next;
  else
    head_ = e.next;
  if (e.next != nullptr)
    e.next->prev = e.prev;
  else
    tail_ = e.prev;
  e.prev = e.next = nullptr;
  e.queued = false;
}

void WaitQueue::wake(Socket& sock, PollMask key) {
  // Callbacks must not touch the queue; the next link is read first all the same.
  for (WaitEntry* e = head_; e != nullptr;) {
    WaitEntry* next = e->next;
    if (e->func(*e, sock, key) && e->exclusive) return;
    e = next;
  }
}

void WaitQueue::release_all(Socket& sock) {
  for (WaitEntry* e = head_; e != nullptr;) {
    WaitEntry* next = e->next;
    if (e->release != nullptr) {
      remove(*e);
      e->release(*e, sock);
    }
    e = next;
  }
}

void sk_data_ready(Socket& sock) {
  if (!sock.wq.empty()) sock.wq.wake(sock, kKeyIn);
}

void sk_write_space(Socket& sock) {
  // Linux sk_stream_write_space: only a writer that found the buffer full (SOCK_NOSPACE)
  // is told that space came back.
  if (!sock.nospace) return;
  sock.nospace = false;
  if (!sock.wq.empty()) sock.wq.wake(sock, kKeyOut);
}

void sock_wfree(Socket& sock) {
  if (!sock.wq.empty()) sock.wq.wake(sock, kKeyOut);
}

void sk_state_change(Socket& sock) {
  if (!sock.wq.empty()) sock.wq.wake(sock, 0);
}

void sk_error_report(Socket& sock) {
  if (!sock.wq.empty()) sock.wq.wake(sock, POLLERR);
}

}  // namespace usnet
