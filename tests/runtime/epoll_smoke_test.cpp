// The readiness calls end to end on the default stack's loopback: epoll level- and
// edge-triggered over a TCP pair, a usnet epoll inside a kernel poll, usnet_poll mixing a
// usnet socket with a kernel pipe, and a blocked recv woken by data from another thread.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "../support/thread_wait.h"
#include "../unit/support/loopback.h"
#include "usnet/usnet.h"

namespace {

using usnet::test::loop;
using usnet::test::sa;

class EpollSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    usnet_stack_use(nullptr);
    const int l = usnet_socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(l, 0);
    auto a = loop(0);
    ASSERT_EQ(usnet_bind(l, sa(a), sizeof(a)), 0);
    ASSERT_EQ(usnet_listen(l, 4), 0);
    socklen_t len = sizeof(a);
    usnet_getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    c_ = usnet_socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(usnet_connect(c_, sa(a), sizeof(a)), 0) << std::strerror(errno);
    s_ = usnet_accept(l, nullptr, nullptr);
    ASSERT_GE(s_, 0);
    usnet_close(l);
  }
  void TearDown() override {
    usnet_close(c_);
    usnet_close(s_);
  }
  int c_ = -1;
  int s_ = -1;
};

TEST_F(EpollSmoke, LevelAndEdgeTriggered) {
  const int lt = usnet_epoll_create1(EPOLL_CLOEXEC);
  const int et = usnet_epoll_create1(0);
  ASSERT_GE(lt, 0);
  ASSERT_GE(et, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 42;
  ASSERT_EQ(usnet_epoll_ctl(lt, EPOLL_CTL_ADD, s_, &ev), 0);
  ev.events = EPOLLIN | EPOLLET;
  ASSERT_EQ(usnet_epoll_ctl(et, EPOLL_CTL_ADD, s_, &ev), 0);
  epoll_event out[4];
  EXPECT_EQ(usnet_epoll_wait(lt, out, 4, 0), 0);
  ASSERT_EQ(usnet_send(c_, "abc", 3, 0), 3);
  ASSERT_EQ(usnet_epoll_wait(lt, out, 4, 1000), 1);
  // epoll_event is packed: copy the fields out before comparing (no reference to them).
  const std::uint64_t data = out[0].data.u64;
  const std::uint32_t events = out[0].events;
  EXPECT_EQ(data, 42U);
  EXPECT_EQ(events, static_cast<std::uint32_t>(EPOLLIN));
  // Level-triggered: still readable, so reported again; edge-triggered: once.
  EXPECT_EQ(usnet_epoll_wait(lt, out, 4, 0), 1);
  EXPECT_EQ(usnet_epoll_wait(et, out, 4, 0), 1);
  EXPECT_EQ(usnet_epoll_wait(et, out, 4, 0), 0);
  // The usnet epoll's own descriptor is readable in the kernel's poll while it has events.
  pollfd kp{lt, POLLIN, 0};
  EXPECT_EQ(::poll(&kp, 1, 0), 1);
  char b[8];
  EXPECT_EQ(usnet_recv(s_, b, sizeof(b), 0), 3);
  EXPECT_EQ(usnet_epoll_wait(lt, out, 4, 0), 0);
  EXPECT_EQ(::poll(&kp, 1, 0), 0);
  usnet_close(lt);
  usnet_close(et);
}

TEST_F(EpollSmoke, PollMixesUsnetAndKernelDescriptors) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pollfd fds[2] = {{s_, POLLIN, 0}, {p[0], POLLIN, 0}};
  EXPECT_EQ(usnet_poll(fds, 2, 0), 0);
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  EXPECT_EQ(usnet_poll(fds, 2, 100), 1);
  EXPECT_EQ(fds[1].revents, POLLIN);
  const pid_t me = ::gettid();
  std::thread writer([&] {
    EXPECT_TRUE(usnet::test::wait_until_asleep(me));  // the poll below is blocked: wake it
    usnet_send(c_, "x", 1, 0);
  });
  fds[1].fd = -1;
  EXPECT_EQ(usnet_poll(fds, 2, 5000), 1);
  EXPECT_EQ(fds[0].revents, POLLIN);
  writer.join();
  ::close(p[0]);
  ::close(p[1]);
}

TEST_F(EpollSmoke, BlockedRecvWokenByAnotherThread) {
  const pid_t me = ::gettid();
  std::thread writer([&] {
    EXPECT_TRUE(usnet::test::wait_until_asleep(me));
    usnet_send(c_, "hello", 5, 0);
  });
  char b[8];
  EXPECT_EQ(usnet_recv(s_, b, sizeof(b), 0), 5);
  writer.join();
  // shutdown() from another thread ends a blocked recv with 0.
  std::thread closer([&] {
    EXPECT_TRUE(usnet::test::wait_until_asleep(me));
    usnet_shutdown(s_, SHUT_RD);
  });
  EXPECT_EQ(usnet_recv(s_, b, sizeof(b), 0), 0);
  closer.join();
}

}  // namespace
