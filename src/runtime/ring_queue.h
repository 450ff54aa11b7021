// The memory of a completion ring's two queues and the only code that moves their indices
// (include/usnet/ring.h, "THREADS AND MEMORY ORDERING", is the contract written here).
//
// Both queues are single-producer/single-consumer rings of free-running 32-bit indices:
//   SQ  producer: the application (get_sqe fills, submit publishes the tail)
//       consumer: the ring core, on the submitting thread
//   CQ  producer: the ring core, under the ring lock (so one writer whatever the thread)
//       consumer: the application (peek/wait read, cqe_seen/cq_advance free)
// Each index has one writer. A writer publishes with a release store after the slot writes
// (or reads) it orders; the other side loads with acquire before it touches the slots. An
// index's own writer may read it relaxed. Indices sit on separate cache lines so producer
// and consumer do not share one line.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

#include "usnet/ring.h"

namespace usnet {

inline unsigned load_acquire(const unsigned* p) noexcept {
  // atomic_ref needs a mutable object; the load does not write.
  return std::atomic_ref<unsigned>(*const_cast<unsigned*>(p)).load(std::memory_order_acquire);
}
inline unsigned load_relaxed(const unsigned* p) noexcept {
  return std::atomic_ref<unsigned>(*const_cast<unsigned*>(p)).load(std::memory_order_relaxed);
}
inline void store_release(unsigned* p, unsigned v) noexcept {
  std::atomic_ref<unsigned>(*p).store(v, std::memory_order_release);
}

struct RingIndices {
  alignas(64) unsigned sq_head = 0;  // core writes
  alignas(64) unsigned sq_tail = 0;  // application writes
  unsigned sq_flags = 0;             // core writes, under the ring lock (USNET_SQ_*)
  alignas(64) unsigned cq_head = 0;  // application writes
  alignas(64) unsigned cq_tail = 0;  // core writes, under the ring lock
};
static_assert(std::atomic_ref<unsigned>::required_alignment <= alignof(unsigned));

class RingMemory {
 public:
  // Entries are powers of two (the caller rounds them).
  RingMemory(unsigned sq_entries, unsigned cq_entries)
      : sq_entries_(sq_entries),
        cq_entries_(cq_entries),
        idx_(std::make_unique<RingIndices>()),
        sqes_(std::make_unique<usnet_sqe[]>(sq_entries)),
        cqes_(std::make_unique<usnet_cqe[]>(cq_entries)) {}

  // Points the application's view (struct usnet_ring) at the queues.
  void export_to(usnet_ring& r) noexcept {
    r.sq.khead = &idx_->sq_head;
    r.sq.ktail = &idx_->sq_tail;
    r.sq.kflags = &idx_->sq_flags;
    r.sq.sqes = sqes_.get();
    r.sq.sqe_tail = 0;
    r.sq.ring_mask = sq_entries_ - 1;
    r.sq.ring_entries = sq_entries_;
    r.cq.khead = &idx_->cq_head;
    r.cq.ktail = &idx_->cq_tail;
    r.cq.cqes = cqes_.get();
    r.cq.ring_mask = cq_entries_ - 1;
    r.cq.ring_entries = cq_entries_;
  }

  unsigned sq_entries() const noexcept { return sq_entries_; }
  unsigned cq_entries() const noexcept { return cq_entries_; }

  // --- core side of the SQ (the submitting thread) ---
  // Copies out every published SQE (at most a ring's worth, whatever the tail says), then
  // releases their slots with one store. Returns how many.
  template <typename Fn>
  unsigned sq_consume(Fn&& fn) {
    const unsigned head = load_relaxed(&idx_->sq_head);
    const unsigned tail = load_acquire(&idx_->sq_tail);
    const unsigned n = std::min(tail - head, sq_entries_);
    for (unsigned i = 0; i < n; ++i)
      fn(sqes_[(head + i) & (sq_entries_ - 1)]);
    store_release(&idx_->sq_head, head + n);
    return n;
  }

  // --- core side of the CQ (ring lock held: one producer) ---
  bool cq_full() const noexcept {
    return load_relaxed(&idx_->cq_tail) - load_acquire(&idx_->cq_head) >= cq_entries_;
  }
  // Writes a CQE; the caller checked cq_full().
  void cq_post(const usnet_cqe& cqe) noexcept {
    const unsigned tail = load_relaxed(&idx_->cq_tail);
    cqes_[tail & (cq_entries_ - 1)] = cqe;
    store_release(&idx_->cq_tail, tail + 1);
  }
  unsigned cq_ready() const noexcept {
    return load_acquire(&idx_->cq_tail) - load_acquire(&idx_->cq_head);
  }
  void set_flags(unsigned f) noexcept { store_release(&idx_->sq_flags, f); }
  unsigned flags() const noexcept { return load_acquire(&idx_->sq_flags); }

 private:
  unsigned sq_entries_;
  unsigned cq_entries_;
  std::unique_ptr<RingIndices> idx_;
  std::unique_ptr<usnet_sqe[]> sqes_;
  std::unique_ptr<usnet_cqe[]> cqes_;
};

// --- application side, over the pointers in struct usnet_ring ---

inline usnet_sqe* sq_get(usnet_ring& r) noexcept {
  if (r.sq.sqe_tail - load_acquire(r.sq.khead) >= r.sq.ring_entries) return nullptr;
  return &r.sq.sqes[r.sq.sqe_tail++ & r.sq.ring_mask];
}
// Publishes what sq_get handed out; returns how many are waiting for the core.
inline unsigned sq_publish(usnet_ring& r) noexcept {
  store_release(r.sq.ktail, r.sq.sqe_tail);
  return r.sq.sqe_tail - load_acquire(r.sq.khead);
}
inline unsigned cq_app_ready(const usnet_ring& r) noexcept {
  return load_acquire(r.cq.ktail) - load_relaxed(r.cq.khead);
}
inline usnet_cqe* cq_peek(usnet_ring& r) noexcept {
  const unsigned head = load_relaxed(r.cq.khead);
  if (head == load_acquire(r.cq.ktail)) return nullptr;
  return &r.cq.cqes[head & r.cq.ring_mask];
}
inline void cq_advance(usnet_ring& r, unsigned n) noexcept {
  if (n != 0) store_release(r.cq.khead, load_relaxed(r.cq.khead) + n);
}
inline unsigned sq_flags(const usnet_ring& r) noexcept {
  return load_acquire(r.sq.kflags);
}

}  // namespace usnet
