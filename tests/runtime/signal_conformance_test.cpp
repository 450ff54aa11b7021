// Blocking calls interrupted by signals, side by side with the Linux kernel. signal(7):
// accept, connect, recv and send are restarted after a handler installed with SA_RESTART
// unless a timeout (SO_RCVTIMEO / SO_SNDTIMEO) is set on the socket, and then fail with
// EINTR, as they do after a handler installed without it; poll, select and epoll_wait are
// never restarted. Each scenario blocks a thread in a call, sends it SIGUSR1 once it sleeps,
// and either waits for the call to fail (EINTR expected) or, once the handler has run and
// the thread sleeps again (restart expected), completes the call; both runs must agree.
// The completion ring's waits, which have no kernel counterpart here, and Ctrl-C of a
// program blocked in a call are tested on usnet alone below.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <string>

#include "../support/signal_latency.h"
#include "support/conformance.h"
#include "usnet/ring.h"
#include "usnet/usnet.h"

namespace {

using namespace usnet::conformance;  // NOLINT(google-build-using-namespace)

std::atomic<int> g_handled{0};

void on_usr1(int /*sig*/) {
  g_handled.fetch_add(1);
}

// SIGUSR1's handler for the length of a scenario, with or without SA_RESTART.
class Handler {
 public:
  explicit Handler(bool restart) {
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = restart ? SA_RESTART : 0;
    ::sigaction(SIGUSR1, &sa, &old_);
  }
  ~Handler() { ::sigaction(SIGUSR1, &old_, nullptr); }
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

 private:
  struct sigaction old_ {};
};

// What a blocked call needs from its scenario.
struct Blocked {
  std::function<long()> call;      // the blocking call (on the blocked thread)
  std::function<void()> complete;  // makes it complete (on the scenario's thread)
  // The result as the trace shows it (a byte count that depends on buffer sizes is shown
  // as "partial" or "all").
  std::function<std::string(long, int)> describe = result_text;
};

// Blocks `b.call` on a thread, signals it once asleep, and records what follows: with
// `expect_eintr`, the call's own result (it must return without help); otherwise whether it
// slept on after the handler, then its result once completed.
void interrupt(Env& e, const Blocked& b, bool expect_eintr) {
  std::atomic<bool> done{false};
  std::atomic<long> result{0};
  std::atomic<int> err{0};
  std::atomic<pid_t> tid{0};
  std::thread t([&] {
    tid = ::gettid();
    const long r = b.call();
    err = errno;
    result = r;
    done = true;
  });
  while (tid == 0)
    std::this_thread::yield();
  e.t.flag("caller asleep", wait_until_asleep(tid));
  const int before = g_handled.load();
  ::pthread_kill(t.native_handle(), SIGUSR1);
  const auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (g_handled.load() == before && Clock::now() < deadline)
    std::this_thread::yield();
  e.t.flag("handler ran", g_handled.load() != before);
  if (expect_eintr) {
    while (!done && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(1));
    e.t.flag("returned by itself", done.load());
  } else {
    e.t.flag("asleep again after the handler", !done && wait_until_asleep(tid) && !done);
  }
  // Completes the call, again now and then if once is not enough (a connect whose SYN the
  // full listener dropped waits for its retransmission), for at most 10 s.
  const auto give_up = Clock::now() + milliseconds(10'000);
  while (!done && Clock::now() < give_up) {
    b.complete();
    for (int i = 0; i < 50 && !done; ++i)
      std::this_thread::sleep_for(milliseconds(2));
  }
  t.join();
  e.t.add_text("the call", b.describe(result, err));
}

// Reads n bytes from fd (or until kWaitMs passes).
void read_n(Env& e, int fd, std::size_t n) {
  std::vector<char> buf(65536);
  std::size_t got = 0;
  const auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (got < n && Clock::now() < deadline) {
    if (!e.wait_for(fd, POLLIN, 100)) continue;
    const ssize_t r = e.a.recv(fd, buf.data(), std::min(buf.size(), n - got), MSG_DONTWAIT);
    if (r > 0) got += static_cast<std::size_t>(r);
    if (r == 0) break;
  }
}

enum class Call { kRecv, kRecvWaitall, kAccept, kConnect, kSend, kPoll, kSelect, kEpollWait };

const char* name_of(Call c) {
  switch (c) {
    case Call::kRecv:
      return "recv";
    case Call::kRecvWaitall:
      return "recv_waitall_after_some_data";
    case Call::kAccept:
      return "accept";
    case Call::kConnect:
      return "connect";
    case Call::kSend:
      return "send";
    case Call::kPoll:
      return "poll";
    case Call::kSelect:
      return "select";
    case Call::kEpollWait:
      return "epoll_wait";
  }
  return "?";
}

// Whether Linux restarts `c` after a handler (signal(7)).
bool restarted(Call c, bool sa_restart, bool timeout) {
  const bool socket_call =
      c == Call::kRecv || c == Call::kAccept || c == Call::kConnect || c == Call::kSend;
  return socket_call && sa_restart && !timeout;  // (a MSG_WAITALL that has data: never)
}

void run_call(Env& e, Call c, bool sa_restart, bool timeout) {
  Handler h(sa_restart);
  constexpr int kTimeoutMs = 20'000;  // long enough never to expire during a scenario
  int cl = -1, s = -1;
  char buf[64];
  Blocked b;
  switch (c) {
    case Call::kRecv:
    case Call::kPoll:
    case Call::kSelect:
    case Call::kEpollWait: {
      if (!e.pair(&cl, &s)) return;
      if (timeout) e.set_timeout(s, SO_RCVTIMEO, kTimeoutMs);
      b.complete = [&e, &cl] { (void)e.a.send(cl, "ab", 2, 0); };
      if (c == Call::kRecv) {
        b.call = [&e, &s, &buf] { return static_cast<long>(e.a.recv(s, buf, sizeof(buf), 0)); };
      } else if (c == Call::kPoll) {
        b.call = [&e, &s] {
          pollfd p{s, POLLIN, 0};
          return static_cast<long>(e.a.poll(&p, 1, -1));
        };
      } else if (c == Call::kSelect) {
        b.call = [&e, &s] {
          fd_set r;
          FD_ZERO(&r);
          FD_SET(s, &r);
          return static_cast<long>(e.a.select(s + 1, &r, nullptr, nullptr, nullptr));
        };
      } else {
        const int ep = e.epoll();
        e.ctl("epoll add", ep, EPOLL_CTL_ADD, s, EPOLLIN);
        b.call = [&e, ep] {
          epoll_event ev{};
          return static_cast<long>(e.a.epoll_wait(ep, &ev, 1, -1));
        };
      }
      break;
    }
    case Call::kRecvWaitall: {
      // MSG_WAITALL with part of the data there: a signal ends the call with what it has,
      // restart or not (tcp_recvmsg stops at a pending signal once it copied something).
      if (!e.pair(&cl, &s)) return;
      if (timeout) e.set_timeout(s, SO_RCVTIMEO, kTimeoutMs);
      e.t.ret("peer sends part", e.a.send(cl, "ab", 2, 0));
      e.t.flag("part arrived", e.wait_bytes(s, 2));
      b.call = [&e, &s, &buf] {
        return static_cast<long>(e.a.recv(s, buf, sizeof(buf), MSG_WAITALL));
      };
      b.complete = [&e, &cl] { (void)e.a.send(cl, std::string(64, 'z').data(), 64, 0); };
      break;
    }
    case Call::kAccept: {
      s = e.listener();
      if (s < 0) return;
      if (timeout) e.set_timeout(s, SO_RCVTIMEO, kTimeoutMs);
      cl = e.tcp();
      b.call = [&e, &s] {
        const int fd = e.a.accept4(s, nullptr, nullptr, 0);
        if (fd >= 0) e.a.close(fd);
        return static_cast<long>(fd >= 0 ? 0 : fd);
      };
      b.complete = [&e, &cl, &s] { (void)e.connect_to(cl, e.port(s)); };
      break;
    }
    case Call::kConnect: {
      // A listener with backlog 0 and one connection queued drops further SYNs (its accept
      // queue is full), so a connect to it sleeps until a retransmitted SYN finds room.
      s = e.keep(e.a.socket(AF_INET, SOCK_STREAM, 0));
      if (!e.t.need(s >= 0 && e.bind_any_port(s) && e.a.listen(s, 0) == 0, "listener")) return;
      const int first = e.tcp();
      e.t.need(e.connect_to(first, e.port(s)), "the first connection");
      e.t.flag("queued", e.wait_for(s, POLLIN));
      cl = e.tcp();
      if (timeout) e.set_timeout(cl, SO_SNDTIMEO, kTimeoutMs);
      b.call = [&e, &cl, &s] { return static_cast<long>(e.connect_to(cl, e.port(s)) ? 0 : -1); };
      b.complete = [&e, &s] {
        const int fd = e.a.accept4(s, nullptr, nullptr, SOCK_NONBLOCK);
        if (fd >= 0) e.keep(fd);
      };
      break;
    }
    case Call::kSend: {
      // A send larger than both buffers: it queues what fits, then sleeps; interrupted, it
      // returns what it queued (tcp_sendmsg returns `copied` rather than EINTR once it has
      // copied anything), restarted it goes on until the peer has read everything.
      constexpr std::size_t kBig = 1 << 20;
      if (!e.pair(&cl, &s, 4096, 4096)) return;
      if (timeout) e.set_timeout(cl, SO_SNDTIMEO, kTimeoutMs);
      b.call = [&e, &cl] {
        static const std::vector<char> big(kBig, 'y');
        return static_cast<long>(e.a.send(cl, big.data(), big.size(), 0));
      };
      b.complete = [&e, &s] { read_n(e, s, kBig); };
      b.describe = [](long r, int err) -> std::string {
        if (r == static_cast<long>(kBig)) return "all";
        if (r > 0) return "partial";
        return result_text(r, err);
      };
      break;
    }
  }
  interrupt(e, b, !restarted(c, sa_restart, timeout));
}

std::vector<Scenario> signal_scenarios() {
  std::vector<Scenario> all;
  for (Call c : {Call::kRecv, Call::kRecvWaitall, Call::kAccept, Call::kConnect, Call::kSend,
                 Call::kPoll, Call::kSelect, Call::kEpollWait}) {
    for (bool sa_restart : {false, true}) {
      const bool socket_call = c != Call::kPoll && c != Call::kSelect && c != Call::kEpollWait;
      for (bool timeout : socket_call ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
        std::string name = std::string(name_of(c)) + (sa_restart ? "_sa_restart" : "_no_restart") +
                           (timeout ? "_with_timeout" : "");
        // Scenario names are C strings; these live as long as the table (a deque does not
        // move its elements).
        static std::deque<std::string> names;
        names.push_back(std::move(name));
        all.push_back({names.back().c_str(),
                       [c, sa_restart, timeout](Env& e) { run_call(e, c, sa_restart, timeout); }});
      }
    }
  }
  return all;
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kAll = signal_scenarios();
  return kAll;
}

class SignalConformance : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() { enter_kernel_namespace_once("signal conformance"); }
};

TEST_P(SignalConformance, KernelAndUsnetAgree) {
  const Scenario& sc = scenarios()[GetParam()];
  usnet_stack_use(nullptr);
  const Trace kernel = run(kKernel, sc);
  const Trace us = run(kUsnet, sc);
  EXPECT_TRUE(kernel.problems.empty())
      << sc.name << ": the kernel run broke: " << kernel.problems.front();
  EXPECT_TRUE(us.problems.empty()) << sc.name << ": the usnet run broke: " << us.problems.front();
  EXPECT_FALSE(kernel.entries.empty()) << sc.name << " observed nothing";
  EXPECT_TRUE(same(kernel, us)) << sc.name << "\n" << side_by_side(kernel, us);
}

std::string scenario_name(const ::testing::TestParamInfo<std::size_t>& info) {
  return scenarios()[info.param].name;
}

INSTANTIATE_TEST_SUITE_P(Table, SignalConformance,
                         ::testing::Range<std::size_t>(0, scenarios().size()), scenario_name);

// io_uring_enter's wait for completions fails with -EINTR after any handler; the ring's
// waits do the same, with or without SA_RESTART.
TEST(RingSignals, WaitCqeReturnsEintr) {
  for (bool sa_restart : {false, true}) {
    Handler h(sa_restart);
    usnet_ring ring{};
    ASSERT_EQ(usnet_ring_queue_init(8, &ring, 0), 0);
    std::atomic<pid_t> tid{0};
    std::atomic<int> res{1};
    std::thread t([&] {
      tid = ::gettid();
      usnet_cqe* cqe = nullptr;
      res = usnet_ring_wait_cqe(&ring, &cqe);
    });
    while (tid == 0)
      std::this_thread::yield();
    ASSERT_TRUE(wait_until_asleep(tid));
    ::pthread_kill(t.native_handle(), SIGUSR1);
    t.join();
    EXPECT_EQ(res.load(), -EINTR) << (sa_restart ? "with" : "without") << " SA_RESTART";
    usnet_ring_queue_exit(&ring);
  }
}

// Ctrl-C of a program blocked in a usnet call ends it as the kernel would: by the signal's
// default action, or through the program's handler when it has one (the call returns
// EINTR). The helper blocks in accept() or recv() on the default stack's loopback.
void ctrl_c(const char* call, bool with_handler) {
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::execl(USNET_BLOCK_HELPER_PATH, USNET_BLOCK_HELPER_PATH, call,
            with_handler ? "handler" : "default", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  char ready[16] = {};
  ASSERT_GT(::read(out[0], ready, sizeof(ready) - 1), 0) << "the helper did not start";
  ::close(out[0]);
  ASSERT_TRUE(wait_until_asleep_pid(pid)) << "the helper never blocked in " << call;
  const auto limit = usnet::test::kSignalStopBound;
  const auto t0 = Clock::now();
  ::kill(pid, SIGINT);
  int status = 0;
  pid_t r = 0;
  while ((r = ::waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() - t0 < limit)
    std::this_thread::sleep_for(milliseconds(5));
  if (r == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "SIGINT did not end a program blocked in " << call << " within " << limit.count()
           << " ms";
  }
  if (with_handler) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 4)
        << call << " did not return EINTR to the handler's program (status " << status << ")";
  } else {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "status " << status;
  }
}

TEST(CtrlC, EndsAProgramBlockedInAccept) {
  ctrl_c("accept", false);
}
TEST(CtrlC, EndsAProgramBlockedInRecv) {
  ctrl_c("recv", false);
}
TEST(CtrlC, HandlerSeesEintrFromAccept) {
  ctrl_c("accept", true);
}
TEST(CtrlC, HandlerSeesEintrFromRecv) {
  ctrl_c("recv", true);
}

}  // namespace
