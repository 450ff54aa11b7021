// The open-file layer side by side with the Linux kernel: dup, dup2, dup3, F_DUPFD,
// F_DUPFD_CLOEXEC, FD_CLOEXEC, O_NONBLOCK shared by duplicates, close of one duplicate,
// epoll registrations that live with the open file, fork and exec. Each scenario runs with
// the kernel's calls and with usnet's (tests/runtime/support/conformance.h) and the traces
// must agree entry by entry, except where usnet's process model differs from the kernel's
// by design (api/process.h): a forked child cannot use the parent's usnet sockets, and no
// usnet socket survives an exec. Those entries say what each side must show.
#include <sys/resource.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "support/conformance.h"
#include "usnet/usnet.h"

namespace {

using namespace usnet::conformance;  // NOLINT(google-build-using-namespace)

const char kHello[] = "hello";

// FD_CLOEXEC as "cloexec"/"no", or the failure.
std::string cloexec_of(const Api& a, int fd) {
  const int f = a.fcntl(fd, F_GETFD, 0);
  if (f < 0) return result_text(f, errno);
  return (f & FD_CLOEXEC) != 0 ? "cloexec" : "no";
}

std::string nonblock_of(const Api& a, int fd) {
  const int f = a.fcntl(fd, F_GETFL, 0);
  if (f < 0) return result_text(f, errno);
  return (f & O_NONBLOCK) != 0 ? "O_NONBLOCK" : "blocking";
}

// Sends one message on `from` and reads it on `to`, recorded as the byte count read.
void through(Env& e, const std::string& what, int from, int to) {
  e.t.ret(what + ": send", e.a.send(from, kHello, sizeof(kHello), 0));
  e.t.flag(what + ": arrived", e.wait_bytes(to, sizeof(kHello)));
  char buf[64];
  e.t.ret(what + ": recv", e.a.recv(to, buf, sizeof(buf), MSG_DONTWAIT));
}

// The peer's view after the other end was closed: end of stream (recv 0).
void expect_eof(Env& e, const std::string& what, int fd) {
  e.t.flag(what + ": readable", e.wait_for(fd, POLLIN));
  char buf[64];
  e.t.ret(what + ": recv", e.a.recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
}

// What a forked child reports to its parent: a few results, in order.
struct ChildReport {
  static constexpr std::size_t kMax = 16;
  std::array<long, kMax> ret{};
  std::array<int, kMax> err{};
  std::size_t n = 0;
  void add(long r) {
    if (n < kMax) {
      ret[n] = r;
      err[n] = r < 0 ? errno : 0;
      ++n;
    }
  }
};

// Forks; the child runs `body` (which fills a report), sends the report and _exits; the
// parent waits and returns the report (n = 0 if the child could not report).
template <typename Fn>
ChildReport in_child(Fn body) {
  ChildReport rep;
  int p[2];
  if (::pipe(p) != 0) return rep;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    ChildReport mine;
    body(mine);
    (void)!::write(p[1], &mine, sizeof(mine));
    ::_exit(0);
  }
  ::close(p[1]);
  if (pid > 0) {
    if (::read(p[0], &rep, sizeof(rep)) != static_cast<ssize_t>(sizeof(rep))) rep.n = 0;
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  ::close(p[0]);
  return rep;
}

// Runs `path args` in a forked child that first execs it, and returns its exit status and
// the first line it printed.
struct ExecResult {
  int status = -1;
  std::string out;
};
ExecResult exec_child(const std::vector<std::string>& argv) {
  ExecResult r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return r;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execv
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(p[1]);
  char buf[256];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof(buf))) > 0)
    r.out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (auto nl = r.out.find('\n'); nl != std::string::npos) r.out.resize(nl);
  return r;
}

std::vector<Scenario> dup_scenarios() {
  return {
      {"dup_shares_the_socket",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int d = e.keep(e.t.fd("dup", e.a.dup(s)));
         e.t.flag("dup has another number", d != s);
         e.t.flag("same local port", e.port(d) == e.port(s));
         through(e, "peer to the duplicate", c, d);
         through(e, "duplicate to peer", d, c);
         e.close("close the original", s);
         through(e, "after the original closed", c, d);
         e.t.ret("send on the closed number", e.a.send(s, "x", 1, MSG_NOSIGNAL));
       }},
      {"closing_the_last_duplicate_ends_the_connection",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int d = e.keep(e.t.fd("F_DUPFD", e.a.fcntl(s, F_DUPFD, 0)));
         const int d2 = e.keep(e.t.fd("dup of the dup", e.a.dup(d)));
         e.close("close the original", s);
         e.close("close the first duplicate", d);
         e.snap("peer after two of three closed", c);
         through(e, "the last duplicate still talks", c, d2);
         e.close("close the last duplicate", d2);
         expect_eof(e, "peer", c);
       }},
      {"o_nonblock_is_shared_by_duplicates",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int d = e.keep(e.a.dup(s));
         e.t.add_text("duplicate", nonblock_of(e.a, d));
         e.t.ret("F_SETFL O_NONBLOCK on the duplicate", e.set_nonblocking(d, true));
         e.t.add_text("original", nonblock_of(e.a, s));
         char b[4];
         e.t.ret("recv on the original", e.a.recv(s, b, sizeof(b), 0));
         e.t.ret("F_SETFL blocking on the original", e.set_nonblocking(s, false));
         e.t.add_text("duplicate after", nonblock_of(e.a, d));
         int on = 1;
         e.t.ret("ioctl FIONBIO on the original", e.a.ioctl(s, FIONBIO, &on));
         e.t.add_text("duplicate after FIONBIO", nonblock_of(e.a, d));
       }},
      {"fd_cloexec_belongs_to_each_descriptor",
       [](Env& e) {
         const int plain = e.tcp();
         const int ce = e.tcp(SOCK_CLOEXEC);
         if (!e.t.need(plain >= 0 && ce >= 0, "sockets")) return;
         e.t.add_text("socket()", cloexec_of(e.a, plain));
         e.t.add_text("socket(SOCK_CLOEXEC)", cloexec_of(e.a, ce));
         e.t.add_text("dup of the cloexec one", cloexec_of(e.a, e.keep(e.a.dup(ce))));
         e.t.add_text("F_DUPFD_CLOEXEC",
                      cloexec_of(e.a, e.keep(e.a.fcntl(plain, F_DUPFD_CLOEXEC, 0))));
         e.t.add_text("F_DUPFD", cloexec_of(e.a, e.keep(e.a.fcntl(ce, F_DUPFD, 0))));
         const int spare = e.tcp();
         e.t.ret("dup3 O_CLOEXEC", e.a.dup3(plain, spare, O_CLOEXEC) == spare ? 0 : -1);
         e.t.add_text("dup3 O_CLOEXEC result", cloexec_of(e.a, spare));
         e.t.ret("dup2", e.a.dup2(ce, spare) == spare ? 0 : -1);
         e.t.add_text("dup2 result", cloexec_of(e.a, spare));
         e.t.ret("F_SETFD FD_CLOEXEC on the dup2 result", e.a.fcntl(spare, F_SETFD, FD_CLOEXEC));
         e.t.add_text("dup2 result after F_SETFD", cloexec_of(e.a, spare));
         e.t.ret("F_SETFD 0 on the cloexec socket", e.a.fcntl(ce, F_SETFD, 0));
         e.t.add_text("cloexec socket after F_SETFD 0", cloexec_of(e.a, ce));
         e.t.add_text("its duplicate, untouched", cloexec_of(e.a, spare));
         e.t.num("F_SETFD with other bits", e.a.fcntl(plain, F_SETFD, 0xfe));
         e.t.add_text("after other bits", cloexec_of(e.a, plain));
       }},
      {"accept_flags_cloexec_and_nonblock",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         for (const int flags :
              {0, int{SOCK_CLOEXEC}, int{SOCK_NONBLOCK}, SOCK_CLOEXEC | SOCK_NONBLOCK}) {
           const int c = e.tcp();
           e.t.need(e.connect_to(c, e.port(l)), "connect");
           const int s = e.keep(e.t.fd("accept4", e.a.accept4(l, nullptr, nullptr, flags)));
           e.t.add_text("accepted FD_CLOEXEC", cloexec_of(e.a, s));
           e.t.add_text("accepted O_NONBLOCK", nonblock_of(e.a, s));
         }
       }},
      {"dup2_onto_a_connected_socket_closes_it",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int x = e.tcp();
         e.t.ret("dup2 a fresh socket onto the connected one", e.a.dup2(x, s) == s ? 0 : -1);
         expect_eof(e, "peer of the replaced socket", c);
         e.t.num("replaced number's port now", e.port(s));
         e.t.add_text("replaced number FD_CLOEXEC", cloexec_of(e.a, s));
         e.t.flag("both numbers one socket", e.port(x) == e.port(s));
         e.t.ret("bind through the new number", e.bind_any_port(s) ? 0 : -1);
         e.t.flag("seen through the other", e.port(x) != 0 && e.port(x) == e.port(s));
       }},
      {"dup2_onto_a_listener_frees_its_port",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const std::uint16_t port = e.port(l);
         const int u = e.udp();
         e.t.ret("dup2 a UDP socket onto the listener", e.a.dup2(u, l) == l ? 0 : -1);
         const int again = e.tcp();
         const auto addr = loopback(port);
         e.t.ret("bind the listener's port again", e.a.bind(again, sa(addr), sizeof(addr)));
         int type = 0;
         socklen_t len = sizeof(type);
         e.t.ret("SO_TYPE of the replaced number",
                 e.a.getsockopt(l, SOL_SOCKET, SO_TYPE, &type, &len));
         e.t.num("SO_TYPE", type);
       }},
      {"dup_errors",
       [](Env& e) {
         const int s = e.tcp();
         if (!e.t.need(s >= 0, "socket")) return;
         e.t.ret("dup(-1)", e.a.dup(-1));
         e.t.ret("dup2(s, s)", e.a.dup2(s, s) == s ? 0 : -1);
         e.t.ret("dup3(s, s, 0)", e.a.dup3(s, s, 0));
         const int spare = e.tcp();
         e.t.ret("dup3 with a flag other than O_CLOEXEC", e.a.dup3(s, spare, O_NONBLOCK));
         e.t.ret("dup2(s, -1)", e.a.dup2(s, -1));
         rlimit lim{};
         ::getrlimit(RLIMIT_NOFILE, &lim);
         const int too_big = static_cast<int>(lim.rlim_cur);
         e.t.ret("dup2(s, RLIMIT_NOFILE)", e.a.dup2(s, too_big));
         e.t.ret("F_DUPFD -1", e.a.fcntl(s, F_DUPFD, -1));
         e.t.ret("F_DUPFD RLIMIT_NOFILE", e.a.fcntl(s, F_DUPFD, too_big));
         const int high = e.keep(e.a.fcntl(s, F_DUPFD, 1000));
         e.t.flag("F_DUPFD 1000 gives >= 1000", high >= 1000);
         e.t.flag("spare still a socket after the failed dup3",
                  e.port(spare) == 0 && e.bind_any_port(spare));
         e.close("close", spare);
         e.t.ret("close again", e.a.close(spare));
       }},
      {"a_new_socket_takes_the_number_a_closed_duplicate_freed",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int d = e.keep(e.a.dup(s));
         e.close("close the original", s);
         const int n = e.tcp();
         e.t.flag("new socket has the freed number", n == s);
         e.t.ret("bind and listen on it", e.bind_any_port(n) && e.a.listen(n, 4) == 0 ? 0 : -1);
         through(e, "the duplicate still talks", c, d);
         e.close("close the new socket", n);
         through(e, "and still talks after that", d, c);
       }},
      {"epoll_registration_lives_with_the_open_file",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int d = e.keep(e.a.dup(s));
         const int ep = e.epoll();
         e.ctl("add the original", ep, EPOLL_CTL_ADD, s, EPOLLIN, 7);
         e.close("close the original", s);
         e.t.ret("peer sends", e.a.send(c, kHello, sizeof(kHello), 0));
         e.ewait("still reported", ep, 4, kWaitMs);
         char buf[64];
         e.t.ret("drain through the duplicate", e.a.recv(d, buf, sizeof(buf), 0));
         e.ctl("add the duplicate", ep, EPOLL_CTL_ADD, d, EPOLLIN, 8);
         e.close("close the duplicate", d);
         e.t.ret("peer sends again", e.a.send(c, kHello, sizeof(kHello), 0));
         e.ewait("nothing once the file is gone", ep, 4, 100);
       }},
      {"dup_of_an_epoll_instance",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int ep = e.epoll();
         const int ep2 = e.keep(e.t.fd("dup the epoll descriptor", e.a.dup(ep)));
         e.ctl("add through the duplicate", ep2, EPOLL_CTL_ADD, s, EPOLLIN, 9);
         e.t.ret("peer sends", e.a.send(c, kHello, sizeof(kHello), 0));
         e.ewait("wait on the original", ep, 4, kWaitMs);
         e.close("close the original epoll descriptor", ep);
         e.ewait("wait on the duplicate", ep2, 4, kWaitMs);
         e.ctl("delete through the duplicate", ep2, EPOLL_CTL_DEL, s, 0);
         e.ewait("nothing after delete", ep2, 4, 0);
       }},
  };
}

std::vector<Scenario> process_scenarios() {
  return {
      {"fork_parent_keeps_its_sockets_child_sees_them_closed",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const Api& a = e.a;
         const ChildReport rep = in_child([&](ChildReport& r) {
           r.add(a.send(s, kHello, sizeof(kHello), MSG_NOSIGNAL));
           r.add(a.fcntl(s, F_GETFD, 0));
           int type = 0;
           socklen_t len = sizeof(type);
           r.add(a.getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len));
           r.add(a.dup(s));
           pollfd p{s, POLLOUT, 0};
           r.add(a.poll(&p, 1, 0));
           r.add(p.revents);
           r.add(a.close(s));
           r.add(a.send(s, kHello, sizeof(kHello), MSG_NOSIGNAL));
         });
         e.t.num("child reported", static_cast<long long>(rep.n));
         if (rep.n < 8) return;
         const std::string ok = std::to_string(sizeof(kHello));
         e.t.by_design("child: send on the inherited socket", result_text(rep.ret[0], rep.err[0]),
                       ok, "-1 EBADF");
         e.t.by_design("child: F_GETFD", result_text(rep.ret[1], rep.err[1]), "0", "-1 EBADF");
         e.t.by_design("child: getsockopt", result_text(rep.ret[2], rep.err[2]), "0", "-1 EBADF");
         e.t.by_design("child: dup", rep.ret[3] >= 0 ? "fd" : result_text(rep.ret[3], rep.err[3]),
                       "fd", "-1 EBADF");
         e.t.num("child: poll count", rep.ret[4]);
         e.t.by_design("child: poll revents", bit_names(static_cast<std::uint32_t>(rep.ret[5])),
                       "OUT", "NVAL");
         e.t.ret("child: close", rep.ret[6]);
         e.t.add_text("child: send after close", result_text(rep.ret[7], rep.err[7]));
         // The parent's socket works on (the kernel's child sent a message meanwhile, which
         // the parent reads first there).
         if (is_kernel(e.a)) {
           char buf[64];
           (void)e.a.recv(c, buf, sizeof(buf), 0);
         }
         through(e, "parent after the fork", s, c);
         through(e, "and back", c, s);
       }},
      {"fork_child_new_socket",
       [](Env& e) {
         // The parent has a socket, so its default stack exists before the fork (a child
         // forked before any usnet call makes a stack of its own, which works).
         if (!e.t.need(e.udp() >= 0, "parent socket")) return;
         const Api& a = e.a;
         const ChildReport rep = in_child([&](ChildReport& r) {
           const int fd = a.socket(AF_INET, SOCK_DGRAM, 0);
           r.add(fd);
           if (fd >= 0) a.close(fd);
         });
         if (!e.t.need(rep.n == 1, "child report")) return;
         e.t.by_design("child: socket()",
                       rep.ret[0] >= 0 ? "fd" : result_text(rep.ret[0], rep.err[0]), "fd",
                       "-1 ENETDOWN");
       }},
      {"exec_closes_usnet_sockets_whatever_fd_cloexec_says",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         const int ce = e.tcp(SOCK_CLOEXEC);
         e.t.add_text("F_GETFD before the exec", cloexec_of(e.a, s));
         const auto look = [](int fd) {
           return exec_child({"/usr/bin/readlink", "/proc/self/fd/" + std::to_string(fd)});
         };
         const ExecResult plain = look(s);
         e.t.by_design("exec'd image sees the socket without FD_CLOEXEC",
                       plain.status == 0 && plain.out.starts_with("socket:") ? "socket" : "closed",
                       "socket", "closed");
         const ExecResult cloexec = look(ce);
         e.t.add_text("exec'd image sees the socket with FD_CLOEXEC",
                      cloexec.status == 0 ? cloexec.out.substr(0, 7) : "closed");
         through(e, "the socket works on after the exec", c, s);
       }},
  };
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kAll = [] {
    std::vector<Scenario> all;
    for (auto group : {dup_scenarios, process_scenarios}) {
      auto v = group();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }();
  return kAll;
}

class OpenFileConformance : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() { enter_kernel_namespace_once("open-file conformance"); }
};

TEST_P(OpenFileConformance, KernelAndUsnetAgree) {
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

INSTANTIATE_TEST_SUITE_P(Table, OpenFileConformance,
                         ::testing::Range<std::size_t>(0, scenarios().size()), scenario_name);

// The notice a forked child gets: one line on stderr, the first time it touches an
// inherited usnet socket, and only then.
TEST(ForkNotice, PrintedOnceWhenTheChildTouchesAnInheritedSocket) {
  usnet_stack_use(nullptr);
  const int s = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s, 0);
  int err[2];
  ASSERT_EQ(::pipe(err), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err[1], STDERR_FILENO);
    ::close(err[0]);
    char b[4];
    const bool first = usnet_recv(s, b, sizeof(b), MSG_DONTWAIT) == -1 && errno == EBADF;
    const bool second = usnet_send(s, b, 1, 0) == -1 && errno == EBADF;
    const bool closed = usnet_close(s) == 0;
    ::_exit(first && second && closed ? 0 : 1);
  }
  ::close(err[1]);
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err[0], buf, sizeof(buf))) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(err[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's calls were not EBADF";
  EXPECT_NE(text.find("descriptor " + std::to_string(s) + " is a usnet socket of the parent"),
            std::string::npos)
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  // The parent's socket is untouched by the child's close.
  EXPECT_EQ(usnet_is_socket(s), 1);
  sockaddr_in a = loopback(0);
  EXPECT_EQ(usnet_bind(s, sa(a), sizeof(a)), 0);
  EXPECT_EQ(usnet_close(s), 0);
}

}  // namespace
