// The completion-ring calls of include/usnet/ring.h: the application's side of the queues
// (runtime/ring_queue.h holds the index code) over the ring core (runtime/ring.h).
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <new>

#include "api/handles.h"
#include "api/ring_ops.h"
#include "runtime/ring.h"
#include "usnet/ring.h"

struct usnet_ring_core {
  std::unique_ptr<usnet::Ring> ring;
};

using namespace usnet;       // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::api;  // NOLINT(google-build-using-namespace)

namespace {

unsigned round_up_pow2(unsigned v) {
  unsigned p = 1;
  while (p < v)
    p <<= 1;
  return p;
}

Ring& core(usnet_ring* r) {
  return *r->core->ring;
}

}  // namespace

extern "C" {

int usnet_ring_queue_init_params(unsigned entries, usnet_ring* ring, usnet_ring_params* p) {
  if (ring == nullptr || p == nullptr) return -EFAULT;
  if ((p->flags & ~USNET_SETUP_CQSIZE) != 0) return -EINVAL;
  if (entries == 0 || entries > Ring::kMaxSqEntries) return -EINVAL;
  const unsigned sq = round_up_pow2(entries);
  unsigned cq = 2 * sq;
  if ((p->flags & USNET_SETUP_CQSIZE) != 0) {
    if (p->cq_entries == 0 || p->cq_entries > Ring::kMaxCqEntries) return -EINVAL;
    cq = round_up_pow2(p->cq_entries);
    if (cq < sq) return -EINVAL;
  }
  usnet_stack* home = current_stack();
  auto* c = new (std::nothrow) usnet_ring_core;  // NOLINT: freed by usnet_ring_queue_exit
  if (c == nullptr) return -ENOMEM;
  c->ring = std::make_unique<Ring>(sq, cq, home->runtime->rt, *home->stack, &make_socket_op);
  *ring = usnet_ring{};
  c->ring->memory().export_to(*ring);
  ring->flags = p->flags;
  ring->core = c;
  p->sq_entries = sq;
  p->cq_entries = cq;
  return 0;
}

int usnet_ring_queue_init(unsigned entries, usnet_ring* ring, unsigned flags) {
  usnet_ring_params p{};
  p.flags = flags;
  if ((flags & USNET_SETUP_CQSIZE) != 0) return -EINVAL;  // needs params
  return usnet_ring_queue_init_params(entries, ring, &p);
}

void usnet_ring_queue_exit(usnet_ring* ring) {
  if (ring == nullptr || ring->core == nullptr) return;
  delete ring->core;  // NOLINT: pairs with usnet_ring_queue_init_params
  *ring = usnet_ring{};
}

int usnet_ring_register_eventfd(usnet_ring* ring, int fd) {
  if (fd < 0) return -EBADF;
  return core(ring).register_eventfd(fd);
}

int usnet_ring_unregister_eventfd(usnet_ring* ring) {
  return core(ring).unregister_eventfd();
}

usnet_sqe* usnet_ring_get_sqe(usnet_ring* ring) {
  usnet_sqe* sqe = sq_get(*ring);
  if (sqe != nullptr) *sqe = usnet_sqe{};
  return sqe;
}

int usnet_ring_submit(usnet_ring* ring) {
  if (sq_publish(*ring) == 0) return 0;
  return static_cast<int>(core(ring).submit());
}

int usnet_ring_submit_and_wait(usnet_ring* ring, unsigned wait_nr) {
  const int n = usnet_ring_submit(ring);
  if (n < 0 || wait_nr == 0) return n;
  const int w = core(ring).wait(wait_nr, nullptr);
  return w < 0 ? w : n;
}

unsigned usnet_ring_sq_ready(const usnet_ring* ring) {
  return ring->sq.sqe_tail - load_acquire(ring->sq.khead);
}

unsigned usnet_ring_sq_space_left(const usnet_ring* ring) {
  return ring->sq.ring_entries - usnet_ring_sq_ready(ring);
}

int usnet_ring_peek_cqe(usnet_ring* ring, usnet_cqe** cqe_ptr) {
  if (usnet_cqe* c = cq_peek(*ring)) {
    *cqe_ptr = c;
    return 0;
  }
  // Work only the application runs (DEFER_TASKRUN), or CQEs that overflowed: do it now.
  if (sq_flags(*ring) != 0) {
    core(ring).run_deferred();
    if (usnet_cqe* c = cq_peek(*ring)) {
      *cqe_ptr = c;
      return 0;
    }
  }
  *cqe_ptr = nullptr;
  return -EAGAIN;
}

unsigned usnet_ring_peek_batch_cqe(usnet_ring* ring, usnet_cqe** cqes, unsigned count) {
  if (cq_app_ready(*ring) == 0 && sq_flags(*ring) != 0) core(ring).run_deferred();
  const unsigned n = std::min(count, cq_app_ready(*ring));
  const unsigned head = load_relaxed(ring->cq.khead);
  for (unsigned i = 0; i < n; ++i)
    cqes[i] = &ring->cq.cqes[(head + i) & ring->cq.ring_mask];
  return n;
}

int usnet_ring_wait_cqe_nr(usnet_ring* ring, usnet_cqe** cqe_ptr, unsigned wait_nr) {
  if (wait_nr > 0 && cq_app_ready(*ring) < wait_nr) {
    if (const int w = core(ring).wait(wait_nr, nullptr); w < 0) return w;
  }
  return usnet_ring_peek_cqe(ring, cqe_ptr);
}

int usnet_ring_wait_cqe(usnet_ring* ring, usnet_cqe** cqe_ptr) {
  return usnet_ring_wait_cqe_nr(ring, cqe_ptr, 1);
}

int usnet_ring_wait_cqe_timeout(usnet_ring* ring, usnet_cqe** cqe_ptr, usnet_timespec* ts) {
  if (ts == nullptr) return usnet_ring_wait_cqe(ring, cqe_ptr);
  if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1'000'000'000) return -EINVAL;
  if (usnet_ring_peek_cqe(ring, cqe_ptr) == 0) return 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ts->tv_sec) +
                        std::chrono::nanoseconds(ts->tv_nsec);
  if (const int w = core(ring).wait(1, &deadline); w < 0) {
    *cqe_ptr = nullptr;
    return w;
  }
  return usnet_ring_peek_cqe(ring, cqe_ptr);
}

void usnet_ring_cqe_seen(usnet_ring* ring, usnet_cqe* cqe) {
  if (cqe != nullptr) cq_advance(*ring, 1);
}

void usnet_ring_cq_advance(usnet_ring* ring, unsigned nr) {
  cq_advance(*ring, nr);
}

unsigned usnet_ring_cq_ready(const usnet_ring* ring) {
  return cq_app_ready(*ring);
}

usnet_buf_ring* usnet_ring_setup_buf_ring(usnet_ring* ring, unsigned nentries, int bgid,
                                          unsigned flags, int* err) {
  if (flags != 0) {
    if (err != nullptr) *err = -EINVAL;
    return nullptr;
  }
  return core(ring).setup_buf_ring(nentries, bgid, err);
}

int usnet_ring_free_buf_ring(usnet_ring* ring, usnet_buf_ring* br, unsigned /*nentries*/,
                             int bgid) {
  return core(ring).free_buf_ring(br, bgid);
}

void usnet_buf_ring_add(usnet_buf_ring* br, void* addr, unsigned len, unsigned short bid,
                        int /*mask*/, int buf_offset) {
  // The ring knows its own mask; liburing's parameter stays for source compatibility. The
  // tail is ours alone (the application's): a relaxed load of it is enough.
  const unsigned tail = br->tail.load(std::memory_order_relaxed);
  BufSlot& s = br->slots[(tail + static_cast<unsigned>(buf_offset)) & br->mask];
  s.addr = reinterpret_cast<std::uintptr_t>(addr);
  s.len = len;
  s.bid = bid;
}

void usnet_buf_ring_advance(usnet_buf_ring* br, int count) {
  const unsigned tail = br->tail.load(std::memory_order_relaxed);
  br->tail.store(tail + static_cast<unsigned>(count), std::memory_order_release);
}

}  // extern "C"
