#include "api/ring_ops.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "api/handles.h"
#include "api/sock_ref.h"
#include "api/socket_common.h"
#include "base/errno_map.h"
#include "runtime/ring.h"
#include "socket/sock_calls.h"
#include "usnet/usnet.h"

namespace usnet::api {
namespace {

// What wakes a reader and a writer (a state change, key 0, wakes both).
constexpr PollMask kWaitIn = kKeyIn | POLLERR;
constexpr PollMask kWaitOut = kKeyOut | POLLERR;

template <typename T>
T* user_ptr(std::uint64_t v) {
  return reinterpret_cast<T*>(static_cast<std::uintptr_t>(v));
}

int err(Error e) {
  return -to_errno(e);
}

const char* op_name(std::uint8_t opcode) {
  switch (opcode) {
    case USNET_OP_ACCEPT:
      return "accept";
    case USNET_OP_CONNECT:
      return "connect";
    case USNET_OP_SEND:
      return "send";
    case USNET_OP_RECV:
      return "recv";
    case USNET_OP_SENDMSG:
      return "sendmsg";
    case USNET_OP_RECVMSG:
      return "recvmsg";
    case USNET_OP_SHUTDOWN:
      return "shutdown";
    case USNET_OP_POLL_ADD:
      return "poll_add";
    default:
      return "op";
  }
}

// An operation on one usnet socket. issue() checks the SQE, looks the descriptor up (the
// socket locked and referenced for the call, as a C call does) and drives the operation;
// retries come back through retry() with the runtime lock held.
class SockOp : public RingOp {
 public:
  using RingOp::RingOp;

  void issue(Ring& ring) final {
    if ((sqe_flags & USNET_SQE_BUFFER_SELECT) != 0 && !selects_buffers()) {
      ring.complete(*this, -EINVAL);
      return;
    }
    if (const int e = check(); e != 0) {
      ring.complete(*this, -e);
      return;
    }
    SockRef t = SockRef::get(fd);
    if (!t) {
      ring.complete(*this, -not_ours_errno(fd));
      return;
    }
    handle_ = t.handle;
    if (const int e = prepare(*t.sock); e != 0) {
      ring.complete(*this, -e);
      return;
    }
    traced_drive(ring, t.rt(), *t.sock, "");
    t.pump();  // what the try queued goes out now, as after a socket call
  }

  void retry(Ring& ring) final { traced_drive(ring, *parked_rt, *parked_sock, " (woken)"); }

 protected:
  virtual bool selects_buffers() const { return false; }
  // Checks of the SQE alone, before the descriptor is looked up: an errno, or 0.
  virtual int check() { return 0; }
  // Checks that need the socket (its runtime lock held): an errno, or 0.
  virtual int prepare(Socket& /*sock*/) { return 0; }

  usnet_stack* handle_ = nullptr;

 private:
  void traced_drive(Ring& ring, Runtime& runtime, Socket& s, const char* why) {
    Tracer& tr = s.stack.tracer();
    if (!tr.enabled()) {
      (void)ring.drive(*this, runtime, s);
      return;
    }
    tr.begin(fmt::format("ring {}({}){}", op_name(opcode), fd, why));
    const Attempt a = ring.drive(*this, runtime, s);
    tr.end(a.kind == Attempt::Kind::kBlocked ? std::string(" parked")
                                             : fmt::format(" = {}", a.res));
  }
};

// ACCEPT, one-shot or multishot: a CQE per connection, each with a new descriptor.
class AcceptOp final : public SockOp {
 public:
  explicit AcceptOp(const usnet_sqe& sqe)
      : SockOp(sqe),
        addr_(user_ptr<sockaddr>(sqe.addr)),
        addrlen_(user_ptr<socklen_t>(sqe.addr2)),
        flags_(static_cast<int>(sqe.op_flags)),
        ioprio_(sqe.ioprio) {}

 private:
  int check() override {
    if ((ioprio_ & ~USNET_ACCEPT_MULTISHOT) != 0) return EINVAL;
    // A chain cannot wait on an operation that never completes by itself.
    const bool multishot = (ioprio_ & USNET_ACCEPT_MULTISHOT) != 0;
    if (multishot && (sqe_flags & (USNET_SQE_IO_LINK | USNET_SQE_IO_HARDLINK)) != 0) return EINVAL;
    if (auto st = accept_args_check(flags_, addr_, addrlen_); !st) return to_errno(st.error());
    return 0;
  }

  Attempt attempt(Ring& /*ring*/, Socket& sock) override {
    // As usnet_accept4: a descriptor is reserved only for a connection that is there.
    if ((sock_poll(sock) & POLLIN) == 0) {
      if (sock.ops->accept == nullptr) return Attempt::done(-EOPNOTSUPP);
      if (!sock.listening) return Attempt::done(-EINVAL);
      return Attempt::blocked(kWaitIn);
    }
    const int nfd = accept_install(handle_, sock, flags_, addr_, addrlen_);
    if (nfd == -EAGAIN) return Attempt::blocked(kWaitIn);
    if (nfd < 0) return Attempt::done(nfd);
    if ((ioprio_ & USNET_ACCEPT_MULTISHOT) != 0) return Attempt::more(nfd);
    return Attempt::done(nfd);
  }

  sockaddr* addr_;
  socklen_t* addrlen_;
  int flags_;
  std::uint16_t ioprio_;
};

// CONNECT: started at once, finished by the same socket call once the handshake is over (as
// a blocking usnet_connect finishes it).
class ConnectOp final : public SockOp {
 public:
  explicit ConnectOp(const usnet_sqe& sqe)
      : SockOp(sqe),
        uaddr_(user_ptr<const sockaddr>(sqe.addr)),
        ulen_(static_cast<socklen_t>(sqe.off)) {}

 private:
  int check() override {
    auto a = connect_addr_from_user(uaddr_, ulen_);  // copied now: stable after submit
    if (!a) return to_errno(a.error());
    addr_ = *a;
    return 0;
  }

  Attempt attempt(Ring& /*ring*/, Socket& sock) override {
    constexpr PollMask kDone = POLLOUT | POLLERR | POLLHUP;
    if (!started_) {
      started_ = true;
      auto st = sock_connect(sock, addr_, MSG_DONTWAIT);
      if (st) return Attempt::done(0);
      if (st.error() != Error::kInProgress) return Attempt::done(err(st.error()));
      return Attempt::blocked(kDone);
    }
    if ((sock_poll(sock) & kDone) == 0) return Attempt::blocked(kDone);
    auto fin = sock_connect(sock, addr_, 0);
    return Attempt::done(fin ? 0 : err(fin.error()));
  }

  const sockaddr* uaddr_;
  socklen_t ulen_;
  SockAddr addr_;
  bool started_ = false;
};

// SEND and SENDMSG. Without MSG_WAITALL a stream send completes with what one try queued;
// with it, when everything is queued (or the stream fails, with what was queued).
class SendOp final : public SockOp {
 public:
  explicit SendOp(const usnet_sqe& sqe)
      : SockOp(sqe), addr_(sqe.addr), len_(sqe.len), flags_(static_cast<int>(sqe.op_flags)) {}

 private:
  int check() override {
    if (opcode == USNET_OP_SEND) {
      if (len_ > 0 && addr_ == 0) return EFAULT;
      iov_.emplace_back(user_ptr<const std::byte>(addr_), len_);
    } else {
      const msghdr* msg = user_ptr<const msghdr>(addr_);
      if (msg == nullptr) return EFAULT;
      // The iovec array and the address are copied now (stable after submit, as
      // io_uring's); the buffers themselves must stay until the completion.
      if (auto st = import_iovec(*msg, iov_); !st) return to_errno(st.error());
      auto d = msg_dest_from_user(*msg);
      if (!d) return to_errno(d.error());
      dest_ = *d;
    }
    for (ByteSpan b : iov_)
      total_ += b.size();
    return 0;
  }

  int prepare(Socket& sock) override {
    if ((flags_ & MSG_OOB) != 0 && sock.type == SOCK_DGRAM) return EOPNOTSUPP;
    return 0;
  }

  Attempt attempt(Ring& /*ring*/, Socket& sock) override {
    const bool waitall = sock.type == SOCK_STREAM && (flags_ & MSG_WAITALL) != 0;
    for (;;) {
      const std::vector<ByteSpan>* iov = &iov_;
      if (sent_ > 0) {
        iov_after(iov_, sent_, rest_);
        iov = &rest_;
      }
      SendMsg m{*iov, dest_ ? &*dest_ : nullptr};
      // Never SIGPIPE: the completion says -EPIPE (the signal would hit whichever thread
      // finished the operation).
      auto r = sock_sendmsg(sock, m, flags_ | MSG_DONTWAIT);
      if (!r) {
        // Blocked only after kWouldBlock: it set SOCK_NOSPACE, so freed space wakes us.
        if (r.error() == Error::kWouldBlock) return Attempt::blocked(kWaitOut);
        sock_sendmsg_done(sock, flags_, sent_);
        return Attempt::done(sent_ > 0 ? static_cast<int>(sent_) : err(r.error()));
      }
      sent_ += *r;
      if (!waitall || sent_ >= total_ || *r == 0) break;
    }
    // The call's end: its MSG_ZEROCOPY completion and transmit stamps (as sendmsg's).
    sock_sendmsg_done(sock, flags_, sent_);
    return Attempt::done(static_cast<int>(std::min<std::size_t>(sent_, INT32_MAX)));
  }

  bool link_ok(int res) const override {
    return res >= 0 && ((flags_ & MSG_WAITALL) == 0 || static_cast<std::size_t>(res) >= total_);
  }

  std::uint64_t addr_;
  std::uint32_t len_;
  int flags_;
  std::vector<ByteSpan> iov_;
  std::vector<ByteSpan> rest_;
  std::optional<SockAddr> dest_;
  std::size_t total_ = 0;
  std::size_t sent_ = 0;
};

// RECV and RECVMSG, into the caller's buffers or, with BUFFER_SELECT, into one taken from a
// provided-buffer group when there is data to copy.
class RecvOp final : public SockOp {
 public:
  explicit RecvOp(const usnet_sqe& sqe)
      : SockOp(sqe),
        addr_(sqe.addr),
        len_(sqe.len),
        flags_(static_cast<int>(sqe.op_flags)),
        group_(sqe.buf_group),
        select_((sqe.flags & USNET_SQE_BUFFER_SELECT) != 0) {}

 private:
  bool selects_buffers() const override { return true; }

  int check() override {
    if (select_ && (flags_ & MSG_WAITALL) != 0) return EINVAL;
    if (opcode == USNET_OP_RECV) {
      if (!select_) {
        if (len_ > 0 && addr_ == 0) return EFAULT;
        iov_.emplace_back(user_ptr<std::byte>(addr_), len_);
      }
      cap_ = len_;
    } else {
      msg_ = user_ptr<msghdr>(addr_);
      if (msg_ == nullptr) return EFAULT;
      if (auto st = import_iovec(*msg_, iov_); !st) return to_errno(st.error());
      if (select_) {
        // The selected buffer stands in for the iovec, which may give a length cap.
        if (iov_.size() > 1) return EINVAL;
        cap_ = iov_.empty() ? 0 : iov_.front().size();
        iov_.clear();
      }
    }
    // The error queue (IP_RECVERR) is not kept: always empty, which Linux reports as EAGAIN.
    if ((flags_ & MSG_ERRQUEUE) != 0) return EAGAIN;
    for (MutableByteSpan b : iov_)
      total_ += b.size();
    return 0;
  }

  Attempt attempt(Ring& ring, Socket& sock) override {
    const bool waitall =
        sock.type == SOCK_STREAM && (flags_ & MSG_WAITALL) != 0 && (flags_ & MSG_PEEK) == 0;
    for (;;) {
      std::optional<BufSlot> buf;
      std::vector<MutableByteSpan> one;
      const std::vector<MutableByteSpan>* iov = &iov_;
      if (select_) {
        // Commit a buffer only when there is something to put in it.
        if ((sock_poll(sock) & (POLLIN | POLLERR | POLLHUP)) == 0) return Attempt::blocked(kWaitIn);
        buf = ring.take_buffer(group_);
        if (!buf) return Attempt::done(-ENOBUFS);
        const std::size_t n = cap_ > 0 ? std::min<std::size_t>(cap_, buf->len) : buf->len;
        one.emplace_back(user_ptr<std::byte>(buf->addr), n);
        iov = &one;
      } else if (got_ > 0) {
        iov_after(iov_, got_, rest_);
        iov = &rest_;
      }
      auto r = sock_recvmsg(sock, RecvMsg{*iov}, flags_ | MSG_DONTWAIT);
      if (!r || r->copied == 0) {
        if (buf) ring.give_back_buffer(group_, *buf);
      }
      if (!r) {
        if (r.error() == Error::kWouldBlock) return Attempt::blocked(kWaitIn);
        return Attempt::done(got_ > 0 ? static_cast<int>(got_) : err(r.error()));
      }
      if (waitall) {
        got_ += r->copied;
        if (r->copied > 0 && got_ < total_) continue;
        r->copied = got_;
        r->full_len = got_;
      }
      if (msg_ != nullptr) {
        if (auto st = recv_results_to_user(*r, *msg_); !st) return Attempt::done(err(st.error()));
      }
      const std::size_t n = (flags_ & MSG_TRUNC) != 0 ? r->full_len : r->copied;
      const int res = static_cast<int>(std::min<std::size_t>(n, INT32_MAX));
      if (buf && r->copied > 0) {
        return Attempt::done(res, USNET_CQE_F_BUFFER | (static_cast<std::uint32_t>(buf->bid)
                                                        << USNET_CQE_BUFFER_SHIFT));
      }
      return Attempt::done(res);
    }
  }

  bool link_ok(int res) const override {
    return res >= 0 && ((flags_ & MSG_WAITALL) == 0 || static_cast<std::size_t>(res) >= total_);
  }

  std::uint64_t addr_;
  std::uint32_t len_;
  int flags_;
  std::uint16_t group_;
  bool select_;
  msghdr* msg_ = nullptr;  // RECVMSG: msg_flags and msg_name are written back at completion
  std::vector<MutableByteSpan> iov_;
  std::vector<MutableByteSpan> rest_;
  std::size_t cap_ = 0;  // BUFFER_SELECT: at most this much of the buffer (0: all of it)
  std::size_t total_ = 0;
  std::size_t got_ = 0;  // MSG_WAITALL: read so far
};

class ShutdownOp final : public SockOp {
 public:
  explicit ShutdownOp(const usnet_sqe& sqe) : SockOp(sqe), how_(static_cast<int>(sqe.len)) {}

 private:
  Attempt attempt(Ring& /*ring*/, Socket& sock) override {
    auto st = sock_shutdown(sock, how_);
    return Attempt::done(st ? 0 : err(st.error()));
  }
  int how_;
};

// POLL_ADD, one-shot: completes with the events that are ready (POLLERR and POLLHUP always
// count, as with poll(2)).
class PollAddOp final : public SockOp {
 public:
  explicit PollAddOp(const usnet_sqe& sqe)
      : SockOp(sqe), events_((sqe.op_flags & 0xffffU) | POLLERR | POLLHUP) {}

 private:
  Attempt attempt(Ring& /*ring*/, Socket& sock) override {
    const PollMask m = sock_poll(sock) & events_;
    if (m != 0) return Attempt::done(static_cast<int>(m));
    return Attempt::blocked(events_);
  }
  PollMask events_;
};

// CLOSE: usnet_close() itself, so a socket leaves every epoll set and a pending call keeps
// it alive exactly as after a close() call.
class CloseOp final : public RingOp {
 public:
  using RingOp::RingOp;
  void issue(Ring& ring) override {
    if ((sqe_flags & USNET_SQE_BUFFER_SELECT) != 0) {
      ring.complete(*this, -EINVAL);
      return;
    }
    const int r = usnet_close(fd);
    ring.complete(*this, r == 0 ? 0 : -errno);
  }
};

}  // namespace

std::shared_ptr<RingOp> make_socket_op(const usnet_sqe& sqe) {
  switch (sqe.opcode) {
    case USNET_OP_ACCEPT:
      return std::make_shared<AcceptOp>(sqe);
    case USNET_OP_CONNECT:
      return std::make_shared<ConnectOp>(sqe);
    case USNET_OP_SEND:
    case USNET_OP_SENDMSG:
      return std::make_shared<SendOp>(sqe);
    case USNET_OP_RECV:
    case USNET_OP_RECVMSG:
      return std::make_shared<RecvOp>(sqe);
    case USNET_OP_SHUTDOWN:
      return std::make_shared<ShutdownOp>(sqe);
    case USNET_OP_POLL_ADD:
      return std::make_shared<PollAddOp>(sqe);
    case USNET_OP_CLOSE:
      return std::make_shared<CloseOp>(sqe);
    default:
      return nullptr;
  }
}

}  // namespace usnet::api
