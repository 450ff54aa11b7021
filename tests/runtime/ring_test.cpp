// The completion ring (include/usnet/ring.h) end to end on the default stack's loopback: every
// operation, batches, user_data, chains, cancellation, timeouts, multishot accept, provided
// buffers, CQ overflow and the eventfd.
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../support/thread_wait.h"
#include "../unit/support/loopback.h"
#include "usnet/ring.h"
#include "usnet/usnet.h"

namespace {

using usnet::test::loop;
using usnet::test::sa;
using Clock = std::chrono::steady_clock;

// A CQE copied out of the ring (and marked seen), or res == INT32_MIN after 5 s.
usnet_cqe reap(usnet_ring& ring, int timeout_ms = 5000) {
  usnet_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000LL};
  usnet_cqe* c = nullptr;
  if (usnet_ring_wait_cqe_timeout(&ring, &c, &ts) != 0 || c == nullptr) {
    return usnet_cqe{0, INT32_MIN, 0};
  }
  const usnet_cqe out = *c;
  usnet_ring_cqe_seen(&ring, c);
  return out;
}

usnet_sqe* sqe_of(usnet_ring& ring, std::uint64_t user_data) {
  usnet_sqe* s = usnet_ring_get_sqe(&ring);
  if (s != nullptr) usnet_sqe_set_data64(s, user_data);
  return s;
}

std::uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  usnet_getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

int tcp_listener(int backlog) {
  const int l = usnet_socket(AF_INET, SOCK_STREAM, 0);
  auto a = loop(0);
  if (l < 0 || usnet_bind(l, sa(a), sizeof(a)) != 0 || usnet_listen(l, backlog) != 0) return -1;
  return l;
}

class Ring : public ::testing::Test {
 protected:
  void SetUp() override {
    usnet_stack_use(nullptr);
    ASSERT_EQ(usnet_ring_queue_init(64, &ring_, 0), 0);
    l_ = tcp_listener(16);
    ASSERT_GE(l_, 0);
    auto a = loop(port_of(l_));
    c_ = usnet_socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(usnet_connect(c_, sa(a), sizeof(a)), 0) << std::strerror(errno);
    s_ = usnet_accept(l_, nullptr, nullptr);
    ASSERT_GE(s_, 0);
  }
  void TearDown() override {
    usnet_ring_queue_exit(&ring_);
    for (int fd : {c_, s_, l_}) {
      if (fd >= 0) usnet_close(fd);
    }
  }

  usnet_ring ring_{};
  int l_ = -1;
  int c_ = -1;
  int s_ = -1;
};

// The prep helpers write every field but user_data (ring.h: fields an operation does not use
// are zero), whatever the SQE held before: a field added to usnet_sqe and forgotten in
// usnet_prep_rw keeps the 0xa5 filler and fails here. The struct has no padding (64 bytes).
TEST(RingPrep, WritesEveryFieldButUserData) {
  static_assert(sizeof(usnet_sqe) == 64);
  char buf[10];
  usnet_sqe sqe;
  std::memset(&sqe, 0xa5, sizeof(sqe));
  usnet_sqe_set_data64(&sqe, 77);
  usnet_prep_recv(&sqe, 3, buf, sizeof(buf), MSG_PEEK);
  usnet_sqe want{};
  want.opcode = USNET_OP_RECV;
  want.fd = 3;
  want.addr = reinterpret_cast<std::uintptr_t>(buf);
  want.len = sizeof(buf);
  want.op_flags = MSG_PEEK;
  want.user_data = 77;
  EXPECT_EQ(std::memcmp(&sqe, &want, sizeof(sqe)), 0);

  std::memset(&sqe, 0xa5, sizeof(sqe));
  usnet_prep_nop(&sqe);
  want = usnet_sqe{};
  want.opcode = USNET_OP_NOP;
  want.fd = -1;
  std::memset(&want.user_data, 0xa5, sizeof(want.user_data));
  EXPECT_EQ(std::memcmp(&sqe, &want, sizeof(sqe)), 0);
}

TEST_F(Ring, BatchSubmitAndReapWithUserData) {
  // The SQ holds 64: a 65th SQE waits for a submit.
  for (std::uint64_t i = 0; i < 64; ++i) {
    usnet_sqe* s = sqe_of(ring_, 1000 + i);
    ASSERT_NE(s, nullptr);
    usnet_prep_nop(s);
  }
  EXPECT_EQ(usnet_ring_get_sqe(&ring_), nullptr);
  EXPECT_EQ(usnet_ring_sq_ready(&ring_), 64U);
  EXPECT_EQ(usnet_ring_submit(&ring_), 64);
  EXPECT_EQ(usnet_ring_sq_space_left(&ring_), 64U);
  EXPECT_EQ(usnet_ring_cq_ready(&ring_), 64U);
  usnet_cqe* batch[80];
  ASSERT_EQ(usnet_ring_peek_batch_cqe(&ring_, batch, 80), 64U);
  for (unsigned i = 0; i < 64; ++i) {
    EXPECT_EQ(batch[i]->user_data, 1000 + i);  // in submission order
    EXPECT_EQ(batch[i]->res, 0);
    EXPECT_EQ(batch[i]->flags, 0U);
  }
  usnet_ring_cq_advance(&ring_, 64);
  EXPECT_EQ(usnet_ring_cq_ready(&ring_), 0U);
  usnet_cqe* c = nullptr;
  EXPECT_EQ(usnet_ring_peek_cqe(&ring_, &c), -EAGAIN);

  // Pointers survive the trip too, and for_each walks what is ready.
  int anchor = 0;
  usnet_sqe* s = usnet_ring_get_sqe(&ring_);
  usnet_prep_nop(s);
  usnet_sqe_set_data(s, &anchor);
  usnet_prep_nop(sqe_of(ring_, 7));
  EXPECT_EQ(usnet_ring_submit_and_wait(&ring_, 2), 2);
  unsigned head = 0;
  unsigned seen = 0;
  usnet_ring_for_each_cqe(&ring_, head, c) {
    if (seen == 0) {
      EXPECT_EQ(usnet_cqe_get_data(c), &anchor);
    } else {
      EXPECT_EQ(usnet_cqe_get_data64(c), 7U);
    }
    ++seen;
  }
  EXPECT_EQ(seen, 2U);
  usnet_ring_cq_advance(&ring_, seen);
}

TEST_F(Ring, SendAndRecv) {
  char buf[16] = {};
  usnet_prep_recv(sqe_of(ring_, 1), s_, buf, sizeof(buf), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_cqe* c = nullptr;
  EXPECT_EQ(usnet_ring_peek_cqe(&ring_, &c), -EAGAIN);  // no data yet: pending
  usnet_prep_send(sqe_of(ring_, 2), c_, "hello", 5, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  std::set<std::uint64_t> done;
  for (int i = 0; i < 2; ++i) {
    const usnet_cqe e = reap(ring_);
    ASSERT_NE(e.res, INT32_MIN);
    EXPECT_EQ(e.res, 5) << e.user_data;
    done.insert(e.user_data);
  }
  EXPECT_EQ(done, (std::set<std::uint64_t>{1, 2}));
  EXPECT_EQ(std::string(buf, 5), "hello");
}

TEST_F(Ring, RecvWokenByAnotherThread) {
  char buf[16] = {};
  usnet_prep_recv(sqe_of(ring_, 9), s_, buf, sizeof(buf), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  const pid_t me = ::gettid();
  std::thread writer([&] {
    EXPECT_TRUE(usnet::test::wait_until_asleep(me));  // the reap below waits: complete it
    usnet_send(c_, "xyz", 3, 0);
  });
  const usnet_cqe e = reap(ring_);
  writer.join();
  EXPECT_EQ(e.user_data, 9U);
  EXPECT_EQ(e.res, 3);
  EXPECT_EQ(std::string(buf, 3), "xyz");
}

// shutdown() raises its wake-up outside any pass of the network thread: the waiting
// application runs the woken recv itself (the deferred-work path).
TEST_F(Ring, RecvEndedByShutdownFromAnotherThread) {
  char buf[8];
  usnet_prep_recv(sqe_of(ring_, 3), s_, buf, sizeof(buf), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  const pid_t me = ::gettid();
  std::thread closer([&] {
    EXPECT_TRUE(usnet::test::wait_until_asleep(me));
    usnet_shutdown(s_, SHUT_RD);
  });
  const usnet_cqe e = reap(ring_);
  closer.join();
  EXPECT_EQ(e.user_data, 3U);
  EXPECT_EQ(e.res, 0);
}

TEST_F(Ring, RecvWaitAllGathersTheWholeLength) {
  char buf[10] = {};
  usnet_prep_recv(sqe_of(ring_, 1), s_, buf, sizeof(buf), MSG_WAITALL);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  ASSERT_EQ(usnet_send(c_, "0123", 4, 0), 4);
  usnet_cqe e = reap(ring_, 100);
  EXPECT_EQ(e.res, INT32_MIN);  // 4 of 10: still waiting
  ASSERT_EQ(usnet_send(c_, "456789", 6, 0), 6);
  e = reap(ring_);
  EXPECT_EQ(e.res, 10);
  EXPECT_EQ(std::string(buf, 10), "0123456789");
}

TEST_F(Ring, SendmsgAndRecvmsgWithTwoBuffers) {
  char a[] = "abc";
  char b[] = "defgh";
  iovec out[2] = {{a, 3}, {b, 5}};
  msghdr sm{};
  sm.msg_iov = out;
  sm.msg_iovlen = 2;
  usnet_prep_sendmsg(sqe_of(ring_, 1), c_, &sm, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_cqe e = reap(ring_);
  EXPECT_EQ(e.user_data, 1U);
  EXPECT_EQ(e.res, 8);

  char x[2];
  char y[16];
  iovec in[2] = {{x, 2}, {y, sizeof(y)}};
  msghdr rm{};
  rm.msg_iov = in;
  rm.msg_iovlen = 2;
  usnet_prep_recvmsg(sqe_of(ring_, 2), s_, &rm, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 2U);
  ASSERT_EQ(e.res, 8);
  EXPECT_EQ(std::string(x, 2) + std::string(y, 6), "abcdefgh");
  EXPECT_EQ(rm.msg_flags, 0);
}

TEST_F(Ring, UdpSendmsgToAndRecvmsgFrom) {
  const int rx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  const int tx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  auto any = loop(0);
  ASSERT_EQ(usnet_bind(rx, sa(any), sizeof(any)), 0);
  ASSERT_EQ(usnet_bind(tx, sa(any), sizeof(any)), 0);
  auto to = loop(port_of(rx));

  char in[32] = {};
  iovec riov{in, sizeof(in)};
  sockaddr_in from{};
  msghdr rm{};
  rm.msg_name = &from;
  rm.msg_namelen = sizeof(from);
  rm.msg_iov = &riov;
  rm.msg_iovlen = 1;
  usnet_prep_recvmsg(sqe_of(ring_, 1), rx, &rm, 0);

  char payload[] = "datagram";
  iovec siov{payload, 8};
  msghdr sm{};
  sm.msg_name = &to;
  sm.msg_namelen = sizeof(to);
  sm.msg_iov = &siov;
  sm.msg_iovlen = 1;
  usnet_prep_sendmsg(sqe_of(ring_, 2), tx, &sm, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 2);
  for (int i = 0; i < 2; ++i) {
    const usnet_cqe e = reap(ring_);
    EXPECT_EQ(e.res, 8) << e.user_data;
  }
  EXPECT_EQ(std::string(in, 8), "datagram");
  EXPECT_EQ(rm.msg_namelen, sizeof(sockaddr_in));
  EXPECT_EQ(ntohs(from.sin_port), port_of(tx));
  EXPECT_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  usnet_close(rx);
  usnet_close(tx);
}

TEST_F(Ring, AcceptAndConnect) {
  const int c = usnet_socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in peer{};
  socklen_t peer_len = sizeof(peer);
  usnet_prep_accept(sqe_of(ring_, 1), l_, reinterpret_cast<sockaddr*>(&peer), &peer_len, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_cqe* none = nullptr;
  EXPECT_EQ(usnet_ring_peek_cqe(&ring_, &none), -EAGAIN);  // nobody connecting yet
  auto to = loop(port_of(l_));
  usnet_prep_connect(sqe_of(ring_, 2), c, sa(to), sizeof(to));
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  int accepted = -1;
  for (int i = 0; i < 2; ++i) {
    const usnet_cqe e = reap(ring_);
    if (e.user_data == 1) {
      accepted = e.res;
    } else {
      EXPECT_EQ(e.user_data, 2U);
      EXPECT_EQ(e.res, 0);
    }
  }
  ASSERT_GE(accepted, 0);
  EXPECT_EQ(usnet_is_socket(accepted), 1);
  EXPECT_EQ(peer_len, sizeof(sockaddr_in));
  EXPECT_EQ(ntohs(peer.sin_port), port_of(c));
  ASSERT_EQ(usnet_send(c, "ok", 2, 0), 2);
  char b[4];
  EXPECT_EQ(usnet_recv(accepted, b, sizeof(b), 0), 2);
  // A connect that fails says why.
  const int lonely = usnet_socket(AF_INET, SOCK_STREAM, 0);
  auto closed_port = loop(1);
  usnet_prep_connect(sqe_of(ring_, 3), lonely, sa(closed_port), sizeof(closed_port));
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_).res, -ECONNREFUSED);
  for (int fd : {c, accepted, lonely})
    usnet_close(fd);
}

TEST_F(Ring, ShutdownAndClose) {
  usnet_prep_shutdown(sqe_of(ring_, 1), c_, SHUT_WR);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_).res, 0);
  char b[4];
  usnet_prep_recv(sqe_of(ring_, 2), s_, b, sizeof(b), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_).res, 0);  // the peer's FIN: end of stream

  usnet_prep_close(sqe_of(ring_, 3), c_);
  usnet_prep_close(sqe_of(ring_, 4), c_);
  ASSERT_EQ(usnet_ring_submit(&ring_), 2);
  EXPECT_EQ(reap(ring_).res, 0);
  EXPECT_EQ(reap(ring_).res, -EBADF);  // already closed by the first
  EXPECT_EQ(usnet_is_socket(c_), 0);
  c_ = -1;
  // Operations on descriptors that are not usnet sockets say so.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  usnet_prep_recv(sqe_of(ring_, 5), p[0], b, sizeof(b), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_).res, -ENOTSOCK);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_F(Ring, PollAddAndPollRemove) {
  usnet_prep_poll_add(sqe_of(ring_, 1), c_, POLLOUT);
  usnet_prep_poll_add(sqe_of(ring_, 2), s_, POLLIN);
  ASSERT_EQ(usnet_ring_submit(&ring_), 2);
  usnet_cqe e = reap(ring_);
  EXPECT_EQ(e.user_data, 1U);  // writable at once
  EXPECT_EQ(e.res, POLLOUT);
  EXPECT_EQ(reap(ring_, 50).res, INT32_MIN);  // nothing to read yet
  ASSERT_EQ(usnet_send(c_, "p", 1, 0), 1);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 2U);
  EXPECT_EQ(e.res & POLLIN, POLLIN);

  usnet_prep_poll_add(sqe_of(ring_, 3), c_, POLLIN);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_prep_poll_remove(sqe_of(ring_, 4), 3);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 3U);
  EXPECT_EQ(e.res, -ECANCELED);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 4U);
  EXPECT_EQ(e.res, 0);
}

TEST_F(Ring, CancelPendingRecv) {
  char b[8];
  usnet_prep_recv(sqe_of(ring_, 77), s_, b, sizeof(b), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_prep_cancel64(sqe_of(ring_, 78), 77, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_cqe e = reap(ring_);
  EXPECT_EQ(e.user_data, 77U);
  EXPECT_EQ(e.res, -ECANCELED);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 78U);
  EXPECT_EQ(e.res, 0);
  // Nothing left to cancel.
  usnet_prep_cancel64(sqe_of(ring_, 79), 77, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_).res, -ENOENT);
  // The cancelled recv is gone: data sent now stays for the next reader.
  ASSERT_EQ(usnet_send(c_, "still", 5, 0), 5);
  EXPECT_EQ(reap(ring_, 50).res, INT32_MIN);
  EXPECT_EQ(usnet_recv(s_, b, sizeof(b), 0), 5);
}

// As in io_uring, a cancel sees only what was submitted before it, not later SQEs of its
// own batch.
TEST_F(Ring, CancelSeesOnlyEarlierSqes) {
  char b[8];
  usnet_prep_cancel64(sqe_of(ring_, 51), 50, 0);
  usnet_prep_recv(sqe_of(ring_, 50), s_, b, sizeof(b), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 2);
  usnet_cqe e = reap(ring_);
  EXPECT_EQ(e.user_data, 51U);
  EXPECT_EQ(e.res, -ENOENT);
  EXPECT_EQ(reap(ring_, 30).res, INT32_MIN);  // the recv still waits
  usnet_prep_cancel64(sqe_of(ring_, 52), 50, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 50U);
  EXPECT_EQ(e.res, -ECANCELED);
  EXPECT_EQ(reap(ring_).res, 0);
}

TEST_F(Ring, CancelAll) {
  char b[3][8];
  for (auto& x : b)
    usnet_prep_recv(sqe_of(ring_, 5), s_, x, sizeof(x), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 3);
  usnet_prep_cancel64(sqe_of(ring_, 6), 5, USNET_ASYNC_CANCEL_ALL);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  int cancelled = 0;
  for (int i = 0; i < 4; ++i) {
    const usnet_cqe e = reap(ring_);
    if (e.user_data == 5) {
      EXPECT_EQ(e.res, -ECANCELED);
      ++cancelled;
    } else {
      EXPECT_EQ(e.user_data, 6U);
      EXPECT_EQ(e.res, 3);
    }
  }
  EXPECT_EQ(cancelled, 3);
}

TEST_F(Ring, TimeoutFires) {
  usnet_timespec ts{0, 30'000'000};
  const auto t0 = Clock::now();
  usnet_prep_timeout(sqe_of(ring_, 1), &ts, 0, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  const usnet_cqe e = reap(ring_);
  const auto elapsed = Clock::now() - t0;
  EXPECT_EQ(e.user_data, 1U);
  EXPECT_EQ(e.res, -ETIME);
  EXPECT_GE(elapsed, std::chrono::milliseconds(29));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST_F(Ring, TimeoutRemoved) {
  usnet_timespec ts{60, 0};
  usnet_prep_timeout(sqe_of(ring_, 1), &ts, 0, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_, 30).res, INT32_MIN);
  usnet_prep_timeout_remove(sqe_of(ring_, 2), 1, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_cqe e = reap(ring_);
  EXPECT_EQ(e.user_data, 1U);
  EXPECT_EQ(e.res, -ECANCELED);
  e = reap(ring_);
  EXPECT_EQ(e.user_data, 2U);
  EXPECT_EQ(e.res, 0);
  usnet_prep_timeout_remove(sqe_of(ring_, 3), 1, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_).res, -ENOENT);
}

TEST_F(Ring, TimeoutCountsCompletions) {
  usnet_timespec ts{60, 0};
  usnet_prep_timeout(sqe_of(ring_, 1), &ts, 2, 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  usnet_prep_nop(sqe_of(ring_, 2));
  usnet_prep_nop(sqe_of(ring_, 3));
  ASSERT_EQ(usnet_ring_submit(&ring_), 2);
  std::vector<std::uint64_t> order;
  for (int i = 0; i < 3; ++i) {
    const usnet_cqe e = reap(ring_);
    order.push_back(e.user_data);
    if (e.user_data == 1) {
      EXPECT_EQ(e.res, 0);
    }
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 3, 1}));
}

TEST_F(Ring, LinkedChainCancelledWhenTheFirstFails) {
  char b[8];
  usnet_sqe* s = sqe_of(ring_, 1);
  usnet_prep_recv(s, 1'000'000, b, sizeof(b), 0);  // no such descriptor
  usnet_sqe_set_flags(s, USNET_SQE_IO_LINK);
  s = sqe_of(ring_, 2);
  usnet_prep_send(s, c_, "never", 5, 0);
  usnet_sqe_set_flags(s, USNET_SQE_IO_LINK);
  usnet_prep_nop(sqe_of(ring_, 3));
  usnet_prep_nop(sqe_of(ring_, 4));  // not in the chain
  ASSERT_EQ(usnet_ring_submit(&ring_), 4);
  std::vector<std::pair<std::uint64_t, int>> got;
  for (int i = 0; i < 4; ++i) {
    const usnet_cqe e = reap(ring_);
    got.emplace_back(e.user_data, e.res);
  }
  EXPECT_EQ(got, (std::vector<std::pair<std::uint64_t, int>>{
                     {1, -EBADF}, {2, -ECANCELED}, {3, -ECANCELED}, {4, 0}}));
  EXPECT_EQ(reap(ring_, 50).res, INT32_MIN);
  int unread = -1;
  ASSERT_EQ(usnet_ioctl(s_, FIONREAD, &unread), 0);
  EXPECT_EQ(unread, 0);  // the send never ran
}

TEST_F(Ring, LinkedChainRunsInOrderAcrossAWait) {
  // recv (waits for data) -> send the reply -> recv the reply on the other end.
  char req[8] = {};
  char rep[8] = {};
  usnet_sqe* s = sqe_of(ring_, 1);
  usnet_prep_recv(s, s_, req, 4, MSG_WAITALL);
  usnet_sqe_set_flags(s, USNET_SQE_IO_LINK);
  s = sqe_of(ring_, 2);
  usnet_prep_send(s, s_, "pong", 4, 0);
  usnet_sqe_set_flags(s, USNET_SQE_IO_LINK);
  usnet_prep_recv(sqe_of(ring_, 3), c_, rep, 4, MSG_WAITALL);
  ASSERT_EQ(usnet_ring_submit(&ring_), 3);
  EXPECT_EQ(reap(ring_, 50).res, INT32_MIN);
  ASSERT_EQ(usnet_send(c_, "ping", 4, 0), 4);
  for (std::uint64_t want = 1; want <= 3; ++want) {
    const usnet_cqe e = reap(ring_);
    EXPECT_EQ(e.user_data, want);
    EXPECT_EQ(e.res, 4);
  }
  EXPECT_EQ(std::string(req, 4), "ping");
  EXPECT_EQ(std::string(rep, 4), "pong");
}

TEST_F(Ring, ProvidedBuffersRunOut) {
  const int rx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  const int tx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  auto any = loop(0);
  ASSERT_EQ(usnet_bind(rx, sa(any), sizeof(any)), 0);
  auto to = loop(port_of(rx));
  int err = 1;
  usnet_buf_ring* br = usnet_ring_setup_buf_ring(&ring_, 4, 7, 0, &err);
  ASSERT_NE(br, nullptr);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(usnet_ring_setup_buf_ring(&ring_, 4, 7, 0, &err), nullptr);
  EXPECT_EQ(err, -EEXIST);
  char bufs[2][16] = {};
  for (int i = 0; i < 2; ++i)
    usnet_buf_ring_add(br, bufs[i], sizeof(bufs[i]), static_cast<unsigned short>(10 + i),
                       usnet_buf_ring_mask(4), i);
  usnet_buf_ring_advance(br, 2);
  for (const char* m : {"one", "two", "three"}) {
    ASSERT_EQ(usnet_sendto(tx, m, std::strlen(m), 0, sa(to), sizeof(to)),
              static_cast<ssize_t>(std::strlen(m)));
  }
  for (std::uint64_t i = 0; i < 3; ++i) {
    usnet_sqe* s = sqe_of(ring_, i);
    usnet_prep_recv(s, rx, nullptr, 0, 0);
    usnet_sqe_set_flags(s, USNET_SQE_BUFFER_SELECT);
    s->buf_group = 7;
  }
  ASSERT_EQ(usnet_ring_submit(&ring_), 3);
  std::set<unsigned> bids;
  for (std::uint64_t i = 0; i < 3; ++i) {
    const usnet_cqe e = reap(ring_);
    EXPECT_EQ(e.user_data, i);
    if (i < 2) {
      ASSERT_GT(e.res, 0);
      ASSERT_NE(e.flags & USNET_CQE_F_BUFFER, 0U);
      const unsigned bid = e.flags >> USNET_CQE_BUFFER_SHIFT;
      bids.insert(bid);
      EXPECT_EQ(std::string(bufs[bid - 10], static_cast<std::size_t>(e.res)),
                i == 0 ? "one" : "two");
    } else {
      EXPECT_EQ(e.res, -ENOBUFS);  // the group is empty, as io_uring says
      EXPECT_EQ(e.flags & USNET_CQE_F_BUFFER, 0U);
    }
  }
  EXPECT_EQ(bids, (std::set<unsigned>{10, 11}));
  // A buffer given back serves the datagram still waiting.
  usnet_buf_ring_add(br, bufs[0], sizeof(bufs[0]), 10, usnet_buf_ring_mask(4), 0);
  usnet_buf_ring_advance(br, 1);
  usnet_sqe* s = sqe_of(ring_, 9);
  usnet_prep_recv(s, rx, nullptr, 0, 0);
  usnet_sqe_set_flags(s, USNET_SQE_BUFFER_SELECT);
  s->buf_group = 7;
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  const usnet_cqe e = reap(ring_);
  ASSERT_EQ(e.res, 5);
  EXPECT_EQ(e.flags >> USNET_CQE_BUFFER_SHIFT, 10U);
  EXPECT_EQ(std::string(bufs[0], 5), "three");
  // A recv that waits for data takes no buffer until the data is there.
  usnet_buf_ring_add(br, bufs[1], sizeof(bufs[1]), 11, usnet_buf_ring_mask(4), 0);
  usnet_buf_ring_advance(br, 1);
  s = sqe_of(ring_, 10);
  usnet_prep_recv(s, rx, nullptr, 0, 0);
  usnet_sqe_set_flags(s, USNET_SQE_BUFFER_SELECT);
  s->buf_group = 7;
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  EXPECT_EQ(reap(ring_, 30).res, INT32_MIN);
  ASSERT_EQ(usnet_sendto(tx, "four", 4, 0, sa(to), sizeof(to)), 4);
  const usnet_cqe f = reap(ring_);
  EXPECT_EQ(f.res, 4);
  EXPECT_EQ(f.flags >> USNET_CQE_BUFFER_SHIFT, 11U);
  EXPECT_EQ(usnet_ring_free_buf_ring(&ring_, br, 4, 7), 0);
  usnet_close(rx);
  usnet_close(tx);
}

TEST_F(Ring, EventfdBecomesReadable) {
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(efd, 0);
  ASSERT_EQ(usnet_ring_register_eventfd(&ring_, efd), 0);
  EXPECT_EQ(usnet_ring_register_eventfd(&ring_, efd), -EBUSY);
  char b[8];
  usnet_prep_recv(sqe_of(ring_, 1), s_, b, sizeof(b), 0);
  ASSERT_EQ(usnet_ring_submit(&ring_), 1);
  pollfd p{efd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 30), 0);
  const pid_t me = ::gettid();
  std::thread writer([&] {
    EXPECT_TRUE(usnet::test::wait_until_asleep(me));  // asleep in the kernel's poll below
    usnet_send(c_, "e", 1, 0);
  });
  // The program sleeps in the kernel's poll, on the ring's eventfd, and reaps when woken.
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  writer.join();
  usnet_cqe* c = nullptr;
  for (int tries = 0; tries < 100 && usnet_ring_peek_cqe(&ring_, &c) != 0; ++tries) {
    std::uint64_t v = 0;
    (void)!::read(efd, &v, sizeof(v));
    ASSERT_EQ(::poll(&p, 1, 5000), 1);  // woken for work the peek then runs
  }
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->res, 1);
  usnet_ring_cqe_seen(&ring_, c);
  EXPECT_EQ(usnet_ring_unregister_eventfd(&ring_), 0);
  ::close(efd);
}

TEST_F(Ring, WaitTimesOut) {
  usnet_timespec ts{0, 20'000'000};
  usnet_cqe* c = nullptr;
  const auto t0 = Clock::now();
  EXPECT_EQ(usnet_ring_wait_cqe_timeout(&ring_, &c, &ts), -ETIME);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(19));
}

TEST_F(Ring, OverflowKeepsEveryCompletionInOrder) {
  usnet_ring small{};
  usnet_ring_params p{};
  p.flags = USNET_SETUP_CQSIZE;
  p.cq_entries = 4;
  ASSERT_EQ(usnet_ring_queue_init_params(4, &small, &p), 0);
  EXPECT_EQ(p.cq_entries, 4U);
  for (std::uint64_t round = 0; round < 3; ++round) {
    for (std::uint64_t i = 0; i < 4; ++i)
      usnet_prep_nop(sqe_of(small, round * 4 + i));
    ASSERT_EQ(usnet_ring_submit(&small), 4);
  }
  EXPECT_EQ(usnet_ring_cq_ready(&small), 4U);
  EXPECT_NE(*small.sq.kflags & USNET_SQ_CQ_OVERFLOW, 0U);
  for (std::uint64_t want = 0; want < 12; ++want) {
    const usnet_cqe e = reap(small);
    EXPECT_EQ(e.user_data, want);
  }
  EXPECT_EQ(*small.sq.kflags & USNET_SQ_CQ_OVERFLOW, 0U);
  usnet_ring_queue_exit(&small);
}

TEST_F(Ring, InvalidSqesAreRefused) {
  usnet_sqe* s = sqe_of(ring_, 1);
  s->opcode = 200;
  s = sqe_of(ring_, 2);
  usnet_prep_nop(s);
  s->flags = 0x80;
  s = sqe_of(ring_, 3);
  usnet_prep_send(s, c_, "x", 1, 0);
  usnet_sqe_set_flags(s, USNET_SQE_BUFFER_SELECT);  // only receives select buffers
  ASSERT_EQ(usnet_ring_submit(&ring_), 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(reap(ring_).res, -EINVAL);
  usnet_ring bad{};
  EXPECT_EQ(usnet_ring_queue_init(0, &bad, 0), -EINVAL);
  EXPECT_EQ(usnet_ring_queue_init(65536, &bad, 0), -EINVAL);
}

TEST_F(Ring, ExitWithOperationsPending) {
  usnet_ring r{};
  ASSERT_EQ(usnet_ring_queue_init(8, &r, 0), 0);
  char b[8];
  usnet_timespec ts{60, 0};
  usnet_prep_recv(sqe_of(r, 1), s_, b, sizeof(b), 0);
  usnet_prep_accept(sqe_of(r, 2), l_, nullptr, nullptr, 0);
  usnet_prep_timeout(sqe_of(r, 3), &ts, 0, 0);
  ASSERT_EQ(usnet_ring_submit(&r), 3);
  usnet_ring_queue_exit(&r);
  // The socket is no longer watched: data goes to the next reader.
  ASSERT_EQ(usnet_send(c_, "z", 1, 0), 1);
  EXPECT_EQ(usnet_recv(s_, b, sizeof(b), 0), 1);
}

// A chain whose operations live on two runtimes: the successor is started by the
// application thread, which never holds two runtime locks.
TEST(RingRuntimes, ChainAcrossTwoRuntimes) {
  usnet_runtime* rt2 = usnet_runtime_new();
  ASSERT_NE(rt2, nullptr);
  usnet_stack* st2 = usnet_stack_new(rt2, "second", 7);
  ASSERT_NE(st2, nullptr);
  auto any = loop(0);
  usnet_stack_use(st2);
  const int b_rx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  const int b_tx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(usnet_bind(b_rx, sa(any), sizeof(any)), 0);
  usnet_stack_use(nullptr);
  const int a_rx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  const int a_tx = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_EQ(usnet_bind(a_rx, sa(any), sizeof(any)), 0);
  usnet_ring ring{};
  ASSERT_EQ(usnet_ring_queue_init(8, &ring, 0), 0);

  char got_a[8] = {};
  char got_b[8] = {};
  auto to_b = loop(port_of(b_rx));
  iovec v{got_a, 5};  // forwards what arrived on a
  msghdr fwd{};
  fwd.msg_name = &to_b;
  fwd.msg_namelen = sizeof(to_b);
  fwd.msg_iov = &v;
  fwd.msg_iovlen = 1;
  usnet_sqe* s = sqe_of(ring, 1);
  usnet_prep_recv(s, a_rx, got_a, sizeof(got_a), 0);
  usnet_sqe_set_flags(s, USNET_SQE_IO_LINK);
  usnet_prep_sendmsg(sqe_of(ring, 2), b_tx, &fwd, 0);
  usnet_prep_recv(sqe_of(ring, 3), b_rx, got_b, sizeof(got_b), 0);
  ASSERT_EQ(usnet_ring_submit(&ring), 3);
  EXPECT_EQ(reap(ring, 30).res, INT32_MIN);
  auto to_a = loop(port_of(a_rx));
  ASSERT_EQ(usnet_sendto(a_tx, "hello", 5, 0, sa(to_a), sizeof(to_a)), 5);
  std::vector<std::uint64_t> order;
  for (int i = 0; i < 3; ++i) {
    const usnet_cqe e = reap(ring);
    EXPECT_EQ(e.res, 5) << e.user_data;
    order.push_back(e.user_data);
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(std::string(got_b, 5), "hello");
  usnet_ring_queue_exit(&ring);
  for (int fd : {a_rx, a_tx, b_rx, b_tx})
    usnet_close(fd);
  usnet_runtime_free(rt2);
}

TEST(RingAccept, MultishotAcceptOfAThousandConnections) {
  constexpr int kConns = 1000;
  usnet_stack_use(nullptr);
  usnet_ring ring{};
  usnet_ring_params p{};
  p.flags = USNET_SETUP_CQSIZE;
  p.cq_entries = 2048;  // room for every CQE, so the multishot is never ended by overflow
  ASSERT_EQ(usnet_ring_queue_init_params(64, &ring, &p), 0);
  const int l = tcp_listener(kConns + 24);
  ASSERT_GE(l, 0);
  usnet_prep_multishot_accept(sqe_of(ring, 42), l, nullptr, nullptr, SOCK_NONBLOCK);
  ASSERT_EQ(usnet_ring_submit(&ring), 1);

  std::vector<int> clients(kConns, -1);
  std::atomic<int> failed{0};
  std::thread connector([&] {
    auto to = loop(port_of(l));
    for (int& c : clients) {
      c = usnet_socket(AF_INET, SOCK_STREAM, 0);
      if (usnet_connect(c, sa(to), sizeof(to)) != 0) failed++;
    }
  });
  std::set<int> accepted;
  int dup = 0;
  int without_more = 0;
  for (int i = 0; i < kConns; ++i) {
    const usnet_cqe e = reap(ring);
    ASSERT_NE(e.res, INT32_MIN) << "after " << i << " connections";
    ASSERT_EQ(e.user_data, 42U);
    ASSERT_GE(e.res, 0) << std::strerror(-e.res);
    if (!accepted.insert(e.res).second) ++dup;
    if ((e.flags & USNET_CQE_F_MORE) == 0) ++without_more;
  }
  connector.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(dup, 0);
  EXPECT_EQ(without_more, 0);
  EXPECT_EQ(accepted.size(), static_cast<std::size_t>(kConns));
  for (int fd : accepted)
    EXPECT_EQ(usnet_is_socket(fd), 1);
  const int flags = usnet_fcntl(*accepted.begin(), F_GETFL);
  EXPECT_NE(flags & O_NONBLOCK, 0);  // SOCK_NONBLOCK reached every accepted socket
  // Cancelling ends it: a last CQE without F_MORE.
  usnet_prep_cancel64(sqe_of(ring, 43), 42, 0);
  ASSERT_EQ(usnet_ring_submit(&ring), 1);
  usnet_cqe e = reap(ring);
  EXPECT_EQ(e.user_data, 42U);
  EXPECT_EQ(e.res, -ECANCELED);
  EXPECT_EQ(e.flags & USNET_CQE_F_MORE, 0U);
  e = reap(ring);
  EXPECT_EQ(e.user_data, 43U);
  EXPECT_EQ(e.res, 0);
  usnet_ring_queue_exit(&ring);
  for (int fd : accepted)
    usnet_close(fd);
  for (int fd : clients)
    usnet_close(fd);
  usnet_close(l);
}

}  // namespace
