/*
 * usnet completion rings: io_uring's programming model over usnet sockets.
 *
 * A ring is a submission queue (SQ) of operations the application asks for and a completion
 * queue (CQ) of their results, both single-producer/single-consumer rings in memory. The
 * program fills SQEs, submits them in a batch, and reaps CQEs in a batch; every SQE carries a
 * user_data that comes back in its CQE, and every result is a byte count, a descriptor, a
 * mask or -errno. A liburing program ports by renaming:
 *
 *   struct io_uring, io_uring_sqe, io_uring_cqe  -> struct usnet_ring, usnet_sqe, usnet_cqe
 *   struct __kernel_timespec                     -> struct usnet_timespec
 *   io_uring_queue_init, _exit, _get_sqe, ...    -> usnet_ring_queue_init, _exit, _get_sqe, ...
 *   io_uring_submit, _wait_cqe, _cqe_seen, ...   -> usnet_ring_submit, _wait_cqe, _cqe_seen, ...
 *   io_uring_for_each_cqe                        -> usnet_ring_for_each_cqe
 *   io_uring_register_eventfd                    -> usnet_ring_register_eventfd
 *   io_uring_setup_buf_ring, io_uring_free_buf_ring -> usnet_ring_setup_buf_ring, _free_buf_ring
 *   io_uring_buf_ring_add, _advance, _mask       -> usnet_buf_ring_add, _advance, _mask
 *   io_uring_prep_X                              -> usnet_prep_X
 *   io_uring_sqe_set_data, io_uring_cqe_get_data -> usnet_sqe_set_data, usnet_cqe_get_data
 *   IORING_OP_X, IOSQE_X, IORING_CQE_F_X         -> USNET_OP_X, USNET_SQE_X, USNET_CQE_F_X
 *   IORING_TIMEOUT_X, IORING_ASYNC_CANCEL_ALL    -> USNET_TIMEOUT_X, USNET_ASYNC_CANCEL_ALL
 *   IORING_ACCEPT_MULTISHOT                      -> USNET_ACCEPT_MULTISHOT
 * Like liburing, these functions return -errno and leave errno alone.
 *
 * OPERATIONS AND THEIR RESULTS (res)
 *   NOP                                            0
 *   ACCEPT (USNET_ACCEPT_MULTISHOT: one CQE per    the new descriptor; op_flags as accept4's
 *     connection, USNET_CQE_F_MORE while armed)
 *   CONNECT                                        0
 *   SEND, SENDMSG / RECV, RECVMSG                  bytes sent / received (0: end of stream);
 *     op_flags are MSG_* flags; MSG_WAITALL on a stream completes only when the whole length
 *     moved (or with what moved when the stream ends or fails)
 *   RECV, RECVMSG with USNET_SQE_BUFFER_SELECT     bytes, USNET_CQE_F_BUFFER and the buffer id
 *     in flags >> USNET_CQE_BUFFER_SHIFT; -ENOBUFS when the group has no buffer left
 *   SHUTDOWN (len: how), CLOSE                     0
 *   POLL_ADD (op_flags: poll events)               the events that are ready (one-shot)
 *   POLL_REMOVE, TIMEOUT_REMOVE, ASYNC_CANCEL      0 (or the count with USNET_ASYNC_CANCEL_ALL);
 *     (addr: the target's user_data)               -ENOENT if nothing matched; the target
 *                                                  completes with -ECANCELED
 *   TIMEOUT (addr: usnet_timespec, off: count)     -ETIME when the time passes, 0 when `count`
 *                                                  other completions were posted first
 * Linked operations (USNET_SQE_IO_LINK on every SQE of a chain but the last): each starts only
 * when the one before it completed successfully (res >= 0; a short transfer with MSG_WAITALL
 * and an -ETIME timeout count as failures); after a failure the rest of the chain completes
 * with -ECANCELED. USNET_SQE_IO_HARDLINK continues the chain whatever the result.
 *
 * THREADS AND MEMORY ORDERING
 * One thread at a time may use the submission side (get_sqe, prep, submit) and one thread at a
 * time the completion side (peek, wait, cqe_seen, cq_advance); they may be two different
 * threads. usnet_ring_queue_exit must not run concurrently with any other call on the ring.
 * Completions are posted by the ring core on whichever thread finishes an operation (the
 * submitter, the network thread, or a thread that drives the stack), always under the ring's
 * own lock, so each ring has one producer at a time for its CQ.
 * The indices below are free-running unsigned counters; an entry's slot is index & ring_mask
 * and tail - head is the number of entries, across wrap-around.
 *   sq.ktail   written only by the application: usnet_ring_submit stores it with RELEASE
 *              after the SQEs are filled; the core loads it with ACQUIRE before it reads them.
 *   sq.khead   written only by the core: a RELEASE store once it has copied the SQEs out;
 *              usnet_ring_get_sqe loads it with ACQUIRE, so no slot is reused while read.
 *   cq.ktail   written only by the core (under its lock): a RELEASE store after the CQE is
 *              written; peek, wait and usnet_ring_for_each_cqe load it with ACQUIRE.
 *   cq.khead   written only by the application (cqe_seen, cq_advance): a RELEASE store after
 *              it has read the CQEs; the core loads it with ACQUIRE before it reuses a slot.
 *   sq.kflags  written by the core under its lock (RELEASE), read by peek (ACQUIRE):
 *              USNET_SQ_TASKRUN (work is waiting for the application to enter the ring, see
 *              below) and USNET_SQ_CQ_OVERFLOW (CQEs are waiting for room in the CQ).
 *   buffer ring tail  written only by the application (usnet_buf_ring_advance, RELEASE after
 *              the slots are written); the core loads it with ACQUIRE before it reads a slot.
 * A registered eventfd is written after the CQE or the work it announces is published.
 *
 * WHAT DIFFERS FROM IO_URING
 *   - Operations act on usnet sockets only (accept, connect, send, recv, sendmsg, recvmsg,
 *     shutdown, poll); a kernel descriptor gives -ENOTSOCK, a closed one -EBADF. CLOSE closes
 *     usnet sockets and kernel descriptors alike (usnet_close). There are no fixed files,
 *     registered buffers, SQPOLL, IOSQE_IO_DRAIN, IOSQE_ASYNC, CQE_SKIP_SUCCESS, multishot
 *     recv or poll, or LINK_TIMEOUT; an SQE with an unknown opcode or flag completes -EINVAL.
 *   - There is no mmap: the rings live in the process; usnet_ring_submit is the system call.
 *   - Completion work runs as with IORING_SETUP_DEFER_TASKRUN when the network thread cannot
 *     do it: an operation woken outside a pass of the network thread, or a linked successor
 *     made runnable by one, waits until the application enters the ring (submit, peek, wait);
 *     USNET_SQ_TASKRUN says so, and peek runs it. The network thread finishes all else.
 *   - A recv with USNET_SQE_BUFFER_SELECT takes its buffer when data is there to copy. A recv
 *     that ends with 0 bytes or an error gives its buffer back (no USNET_CQE_F_BUFFER), where
 *     io_uring consumes it. MSG_WAITALL cannot be combined with BUFFER_SELECT (-EINVAL).
 *   - A send never raises SIGPIPE: a broken stream completes with -EPIPE.
 *   - A multishot accept that finds the CQ full posts its CQE without USNET_CQE_F_MORE and
 *     ends (as io_uring does on overflow); other CQEs wait in an overflow list, never dropped.
 *   - usnet_ring_wait_cqe_timeout waits on the ring itself (no TIMEOUT SQE is used).
 *   - Rings use the runtime of the calling thread's current stack (usnet_stack_use) for their
 *     timeouts. Exit every ring (or cancel its operations) before usnet_runtime_free of a
 *     runtime its sockets or timeouts live on.
 *   - Pending operations hold a reference on their socket: close() of the descriptor does not
 *     end them (as on Linux); cancel them, or exit the ring.
 */
#ifndef USNET_RING_H
#define USNET_RING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The null pointer of the inline helpers below, in the language of the includer. */
#ifdef __cplusplus
#define USNET_RING_NULL nullptr
#else
#define USNET_RING_NULL NULL
#endif

/* ---- opcodes (sqe->opcode) ---- */
enum {
  USNET_OP_NOP = 0,
  USNET_OP_ACCEPT,
  USNET_OP_CONNECT,
  USNET_OP_SEND,
  USNET_OP_RECV,
  USNET_OP_SENDMSG,
  USNET_OP_RECVMSG,
  USNET_OP_SHUTDOWN,
  USNET_OP_CLOSE,
  USNET_OP_POLL_ADD,
  USNET_OP_POLL_REMOVE,
  USNET_OP_TIMEOUT,
  USNET_OP_TIMEOUT_REMOVE,
  USNET_OP_ASYNC_CANCEL,
  USNET_OP_LAST
};

/* sqe->flags */
#define USNET_SQE_IO_LINK (1U << 0)       /* the next SQE waits for this one to succeed */
#define USNET_SQE_IO_HARDLINK (1U << 1)   /* the next SQE waits for this one to complete */
#define USNET_SQE_BUFFER_SELECT (1U << 2) /* recv into a buffer of group sqe->buf_group */

/* sqe->ioprio for ACCEPT */
#define USNET_ACCEPT_MULTISHOT (1U << 0)
/* sqe->op_flags for TIMEOUT */
#define USNET_TIMEOUT_ABS (1U << 0)           /* ts is CLOCK_MONOTONIC time, not a delay */
#define USNET_TIMEOUT_ETIME_SUCCESS (1U << 1) /* -ETIME does not break a link chain */
/* sqe->op_flags for ASYNC_CANCEL */
#define USNET_ASYNC_CANCEL_ALL (1U << 0) /* every match; res is how many */

/* cqe->flags */
#define USNET_CQE_F_BUFFER (1U << 0) /* flags >> USNET_CQE_BUFFER_SHIFT is the buffer id */
#define USNET_CQE_F_MORE (1U << 1)   /* a multishot operation stays armed */
#define USNET_CQE_BUFFER_SHIFT 16

/* *sq.kflags */
#define USNET_SQ_TASKRUN (1U << 0)
#define USNET_SQ_CQ_OVERFLOW (1U << 1)

/* usnet_ring_params.flags */
#define USNET_SETUP_CQSIZE (1U << 0) /* cq_entries is given (else twice the SQ) */

struct usnet_timespec {
  int64_t tv_sec;
  long long tv_nsec;
};

/* A submission queue entry: 64 bytes. Fields an operation does not use must be zero (the prep
 * helpers and usnet_ring_get_sqe see to it). */
struct usnet_sqe {
  uint8_t opcode;
  uint8_t flags;   /* USNET_SQE_* */
  uint16_t ioprio; /* ACCEPT: USNET_ACCEPT_MULTISHOT */
  int32_t fd;
  uint64_t off;      /* CONNECT: addrlen; TIMEOUT: completion count */
  uint64_t addr;     /* buffer, sockaddr, msghdr, timespec, or a target's user_data */
  uint32_t len;      /* buffer length; SHUTDOWN: how; TIMEOUT: 1 */
  uint32_t op_flags; /* MSG_*, accept4 flags, poll events, USNET_TIMEOUT_*, USNET_ASYNC_* */
  uint64_t user_data;
  uint16_t buf_group; /* with USNET_SQE_BUFFER_SELECT */
  uint16_t resv0;
  uint32_t resv1;
  uint64_t addr2; /* ACCEPT: socklen_t* of the address */
  uint64_t resv2;
};

/* A completion queue entry: 16 bytes. */
struct usnet_cqe {
  uint64_t user_data;
  int32_t res; /* >= 0: the result; < 0: -errno */
  uint32_t flags;
};

struct usnet_ring_core; /* the library's side of a ring */

struct usnet_ring_sq {
  unsigned* khead;
  unsigned* ktail;
  unsigned* kflags;
  struct usnet_sqe* sqes;
  unsigned sqe_tail; /* the next SQE usnet_ring_get_sqe hands out (not yet published) */
  unsigned ring_mask;
  unsigned ring_entries;
};

struct usnet_ring_cq {
  unsigned* khead;
  unsigned* ktail;
  struct usnet_cqe* cqes;
  unsigned ring_mask;
  unsigned ring_entries;
};

struct usnet_ring {
  struct usnet_ring_sq sq;
  struct usnet_ring_cq cq;
  unsigned flags;
  struct usnet_ring_core* core;
};

struct usnet_ring_params {
  unsigned sq_entries; /* out */
  unsigned cq_entries; /* in with USNET_SETUP_CQSIZE; out */
  unsigned flags;
  unsigned resv[5];
};

/* ---- setup ---- */
/* entries: SQ size, rounded up to a power of two (1..32768); the CQ gets twice as many. */
int usnet_ring_queue_init(unsigned entries, struct usnet_ring* ring, unsigned flags);
int usnet_ring_queue_init_params(unsigned entries, struct usnet_ring* ring,
                                 struct usnet_ring_params* p);
/* Cancels what is pending (no CQEs are posted) and frees the ring. */
void usnet_ring_queue_exit(struct usnet_ring* ring);
/* The ring writes 1 to this eventfd (the application's) whenever it posts completions or has
 * work waiting for the application, so a kernel poll/epoll can wait for the ring; the
 * application reads it to reset it. The ring keeps a descriptor of its own for it. */
int usnet_ring_register_eventfd(struct usnet_ring* ring, int fd);
int usnet_ring_unregister_eventfd(struct usnet_ring* ring);

/* ---- submission ---- */
/* The next free SQE, zeroed; NULL when the SQ is full (submit first). */
struct usnet_sqe* usnet_ring_get_sqe(struct usnet_ring* ring);
/* Publishes the SQEs handed out and runs them: each is tried at once and, if it would block,
 * left pending. Returns how many were consumed, or -errno. */
int usnet_ring_submit(struct usnet_ring* ring);
/* usnet_ring_submit, then waits until at least wait_nr CQEs are ready. */
int usnet_ring_submit_and_wait(struct usnet_ring* ring, unsigned wait_nr);
unsigned usnet_ring_sq_ready(const struct usnet_ring* ring);
unsigned usnet_ring_sq_space_left(const struct usnet_ring* ring);

/* ---- completion ---- */
/* 0 and *cqe_ptr set when a CQE is ready, else -EAGAIN. Runs work waiting for the
 * application (USNET_SQ_TASKRUN) first if the CQ is empty. */
int usnet_ring_peek_cqe(struct usnet_ring* ring, struct usnet_cqe** cqe_ptr);
/* Up to `count` ready CQEs into cqes[]; returns how many. */
unsigned usnet_ring_peek_batch_cqe(struct usnet_ring* ring, struct usnet_cqe** cqes,
                                   unsigned count);
/* Waits for a CQE (it stays in the CQ until seen). */
int usnet_ring_wait_cqe(struct usnet_ring* ring, struct usnet_cqe** cqe_ptr);
/* Waits until wait_nr CQEs are ready; *cqe_ptr is the first. */
int usnet_ring_wait_cqe_nr(struct usnet_ring* ring, struct usnet_cqe** cqe_ptr, unsigned wait_nr);
/* As usnet_ring_wait_cqe, for at most *ts (NULL: no limit): -ETIME when it passes. */
int usnet_ring_wait_cqe_timeout(struct usnet_ring* ring, struct usnet_cqe** cqe_ptr,
                                struct usnet_timespec* ts);
/* Marks CQEs consumed, freeing their slots. */
void usnet_ring_cqe_seen(struct usnet_ring* ring, struct usnet_cqe* cqe);
void usnet_ring_cq_advance(struct usnet_ring* ring, unsigned nr);
unsigned usnet_ring_cq_ready(const struct usnet_ring* ring);

/* Iterates the ready CQEs without consuming them; follow with usnet_ring_cq_advance. */
#define usnet_ring_for_each_cqe(ring, head, cqe)                               \
  for ((head) = *(ring)->cq.khead;                                             \
       ((cqe) = ((head) != __atomic_load_n((ring)->cq.ktail, __ATOMIC_ACQUIRE) \
                     ? &(ring)->cq.cqes[(head) & (ring)->cq.ring_mask]         \
                     : USNET_RING_NULL));                                      \
       (head)++)

/* ---- provided buffers (io_uring's buffer rings) ----
 * A ring of buffers the application lends to recv operations of one group. The application
 * adds buffers (add, then advance to publish); a recv with USNET_SQE_BUFFER_SELECT takes the
 * next one, and its CQE gives the id back: the buffer is the application's again, to re-add
 * when done with it. nentries is a power of two up to 32768. */
struct usnet_buf_ring;
struct usnet_buf_ring* usnet_ring_setup_buf_ring(struct usnet_ring* ring, unsigned nentries,
                                                 int bgid, unsigned flags, int* err);
int usnet_ring_free_buf_ring(struct usnet_ring* ring, struct usnet_buf_ring* br, unsigned nentries,
                             int bgid);
/* Writes a buffer into the slot `buf_offset` places past the tail (not yet visible). */
void usnet_buf_ring_add(struct usnet_buf_ring* br, void* addr, unsigned len, unsigned short bid,
                        int mask, int buf_offset);
/* Makes `count` added buffers visible to the ring. */
void usnet_buf_ring_advance(struct usnet_buf_ring* br, int count);
static inline int usnet_buf_ring_mask(unsigned entries) {
  return (int)(entries - 1);
}

/* ---- SQE preparation ---- */
/* Writes every field of the SQE except user_data (which usnet_sqe_set_data64 may have set
 * already), so a field added to struct usnet_sqe must be added here. Field by field, as
 * liburing's io_uring_prep_rw, rather than a memset: gcc 12 at -O3 threads a caller's
 * "get_sqe returned NULL" path into the memset and reports -Warray-bounds on it, and the
 * stores need no read of user_data. */
static inline void usnet_prep_rw(int op, struct usnet_sqe* sqe, int fd, const void* addr,
                                 unsigned len, uint64_t off) {
  sqe->opcode = (uint8_t)op;
  sqe->flags = 0;
  sqe->ioprio = 0;
  sqe->fd = fd;
  sqe->off = off;
  sqe->addr = (uint64_t)(uintptr_t)addr;
  sqe->len = len;
  sqe->op_flags = 0;
  sqe->buf_group = 0;
  sqe->resv0 = 0;
  sqe->resv1 = 0;
  sqe->addr2 = 0;
  sqe->resv2 = 0;
}

static inline void usnet_prep_nop(struct usnet_sqe* sqe) {
  usnet_prep_rw(USNET_OP_NOP, sqe, -1, USNET_RING_NULL, 0, 0);
}

static inline void usnet_prep_accept(struct usnet_sqe* sqe, int fd, struct sockaddr* addr,
                                     socklen_t* addrlen, int flags) {
  usnet_prep_rw(USNET_OP_ACCEPT, sqe, fd, addr, 0, 0);
  sqe->addr2 = (uint64_t)(uintptr_t)addrlen;
  sqe->op_flags = (uint32_t)flags;
}

static inline void usnet_prep_multishot_accept(struct usnet_sqe* sqe, int fd, struct sockaddr* addr,
                                               socklen_t* addrlen, int flags) {
  usnet_prep_accept(sqe, fd, addr, addrlen, flags);
  sqe->ioprio |= USNET_ACCEPT_MULTISHOT;
}

static inline void usnet_prep_connect(struct usnet_sqe* sqe, int fd, const struct sockaddr* addr,
                                      socklen_t addrlen) {
  usnet_prep_rw(USNET_OP_CONNECT, sqe, fd, addr, 0, addrlen);
}

static inline void usnet_prep_send(struct usnet_sqe* sqe, int fd, const void* buf, size_t len,
                                   int flags) {
  usnet_prep_rw(USNET_OP_SEND, sqe, fd, buf, (unsigned)len, 0);
  sqe->op_flags = (uint32_t)flags;
}

static inline void usnet_prep_recv(struct usnet_sqe* sqe, int fd, void* buf, size_t len,
                                   int flags) {
  usnet_prep_rw(USNET_OP_RECV, sqe, fd, buf, (unsigned)len, 0);
  sqe->op_flags = (uint32_t)flags;
}

static inline void usnet_prep_sendmsg(struct usnet_sqe* sqe, int fd, const struct msghdr* msg,
                                      unsigned flags) {
  usnet_prep_rw(USNET_OP_SENDMSG, sqe, fd, msg, 1, 0);
  sqe->op_flags = flags;
}

static inline void usnet_prep_recvmsg(struct usnet_sqe* sqe, int fd, struct msghdr* msg,
                                      unsigned flags) {
  usnet_prep_rw(USNET_OP_RECVMSG, sqe, fd, msg, 1, 0);
  sqe->op_flags = flags;
}

static inline void usnet_prep_shutdown(struct usnet_sqe* sqe, int fd, int how) {
  usnet_prep_rw(USNET_OP_SHUTDOWN, sqe, fd, USNET_RING_NULL, (unsigned)how, 0);
}

static inline void usnet_prep_close(struct usnet_sqe* sqe, int fd) {
  usnet_prep_rw(USNET_OP_CLOSE, sqe, fd, USNET_RING_NULL, 0, 0);
}

static inline void usnet_prep_poll_add(struct usnet_sqe* sqe, int fd, unsigned poll_mask) {
  usnet_prep_rw(USNET_OP_POLL_ADD, sqe, fd, USNET_RING_NULL, 0, 0);
  sqe->op_flags = poll_mask;
}

static inline void usnet_prep_poll_remove(struct usnet_sqe* sqe, uint64_t user_data) {
  usnet_prep_rw(USNET_OP_POLL_REMOVE, sqe, -1, USNET_RING_NULL, 0, 0);
  sqe->addr = user_data;
}

static inline void usnet_prep_timeout(struct usnet_sqe* sqe, struct usnet_timespec* ts,
                                      unsigned count, unsigned flags) {
  usnet_prep_rw(USNET_OP_TIMEOUT, sqe, -1, ts, 1, count);
  sqe->op_flags = flags;
}

static inline void usnet_prep_timeout_remove(struct usnet_sqe* sqe, uint64_t user_data,
                                             unsigned flags) {
  usnet_prep_rw(USNET_OP_TIMEOUT_REMOVE, sqe, -1, USNET_RING_NULL, 0, 0);
  sqe->addr = user_data;
  sqe->op_flags = flags;
}

static inline void usnet_prep_cancel64(struct usnet_sqe* sqe, uint64_t user_data, int flags) {
  usnet_prep_rw(USNET_OP_ASYNC_CANCEL, sqe, -1, USNET_RING_NULL, 0, 0);
  sqe->addr = user_data;
  sqe->op_flags = (uint32_t)flags;
}

static inline void usnet_prep_cancel(struct usnet_sqe* sqe, void* user_data, int flags) {
  usnet_prep_cancel64(sqe, (uint64_t)(uintptr_t)user_data, flags);
}

static inline void usnet_sqe_set_data(struct usnet_sqe* sqe, void* data) {
  sqe->user_data = (uint64_t)(uintptr_t)data;
}
static inline void usnet_sqe_set_data64(struct usnet_sqe* sqe, uint64_t data) {
  sqe->user_data = data;
}
static inline void usnet_sqe_set_flags(struct usnet_sqe* sqe, unsigned flags) {
  sqe->flags = (uint8_t)flags;
}
static inline void* usnet_cqe_get_data(const struct usnet_cqe* cqe) {
  return (void*)(uintptr_t)cqe->user_data;
}
static inline uint64_t usnet_cqe_get_data64(const struct usnet_cqe* cqe) {
  return cqe->user_data;
}

#ifdef __cplusplus
}
#endif

#endif /* USNET_RING_H */
