// Readiness and blocking, side by side with the Linux kernel: each scenario is written once
// against a table of socket calls, run with the kernel's own calls and then with usnet's, and
// the two traces of what it observed (return values, errno, revents and epoll event bits,
// event data, counts, whether a wait took about as long as it should) must agree entry by
// entry. A difference prints both traces side by side.
//
// The kernel's sockets live in a private network namespace (unshare(CLONE_NEWNET) with only
// `lo` up), as in tests/unit/errno_conformance_test.cpp; usnet's live on the default stack's
// loopback. Both use 127.0.0.1 and ephemeral ports. Nothing waits a fixed short time for
// something to happen: a scenario waits for the event itself with a generous bound, and a
// thread that must be blocked before the next step is watched in /proc until it sleeps.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "../support/private_netns.h"
#include "../support/thread_wait.h"
#include "usnet/usnet.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- the calls, once for the kernel and once for usnet ----

struct Api {
  const char* name;
  int (*socket)(int, int, int);
  int (*bind)(int, const sockaddr*, socklen_t);
  int (*listen)(int, int);
  int (*connect)(int, const sockaddr*, socklen_t);
  int (*accept4)(int, sockaddr*, socklen_t*, int);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*recv)(int, void*, size_t, int);
  ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t);
  int (*shutdown)(int, int);
  int (*close)(int);
  int (*setsockopt)(int, int, int, const void*, socklen_t);
  int (*getsockopt)(int, int, int, void*, socklen_t*);
  int (*getsockname)(int, sockaddr*, socklen_t*);
  int (*fcntl)(int, int, int);
  int (*poll)(pollfd*, nfds_t, int);
  int (*select)(int, fd_set*, fd_set*, fd_set*, timeval*);
  int (*epoll_create1)(int);
  int (*epoll_ctl)(int, int, int, epoll_event*);
  int (*epoll_wait)(int, epoll_event*, int, int);
};

int kernel_fcntl(int fd, int cmd, int arg) {
  return ::fcntl(fd, cmd, arg);
}
int usnet_fcntl3(int fd, int cmd, int arg) {
  return usnet_fcntl(fd, cmd, arg);
}

const Api kKernel = {
    .name = "kernel",
    .socket = ::socket,
    .bind = ::bind,
    .listen = ::listen,
    .connect = ::connect,
    .accept4 = ::accept4,
    .send = ::send,
    .recv = ::recv,
    .sendto = ::sendto,
    .shutdown = ::shutdown,
    .close = ::close,
    .setsockopt = ::setsockopt,
    .getsockopt = ::getsockopt,
    .getsockname = ::getsockname,
    .fcntl = kernel_fcntl,
    .poll = ::poll,
    .select = ::select,
    .epoll_create1 = ::epoll_create1,
    .epoll_ctl = ::epoll_ctl,
    .epoll_wait = ::epoll_wait,
};
const Api kUsnet = {
    .name = "usnet",
    .socket = usnet_socket,
    .bind = usnet_bind,
    .listen = usnet_listen,
    .connect = usnet_connect,
    .accept4 = usnet_accept4,
    .send = usnet_send,
    .recv = usnet_recv,
    .sendto = usnet_sendto,
    .shutdown = usnet_shutdown,
    .close = usnet_close,
    .setsockopt = usnet_setsockopt,
    .getsockopt = usnet_getsockopt,
    .getsockname = usnet_getsockname,
    .fcntl = usnet_fcntl3,
    .poll = usnet_poll,
    .select = usnet_select,
    .epoll_create1 = usnet_epoll_create1,
    .epoll_ctl = usnet_epoll_ctl,
    .epoll_wait = usnet_epoll_wait,
};

// ---- the trace ----

std::string errno_name(int e) {
  const char* n = ::strerrorname_np(e);
  return n != nullptr ? n : "errno " + std::to_string(e);
}

// poll(2) and epoll(7) share these bit values.
std::string bit_names(std::uint32_t m) {
  static constexpr std::pair<std::uint32_t, const char*> kNames[] = {
      {POLLIN, "IN"},         {POLLPRI, "PRI"},       {POLLOUT, "OUT"},
      {POLLERR, "ERR"},       {POLLHUP, "HUP"},       {POLLNVAL, "NVAL"},
      {POLLRDNORM, "RDNORM"}, {POLLRDBAND, "RDBAND"}, {POLLWRNORM, "WRNORM"},
      {POLLWRBAND, "WRBAND"}, {POLLMSG, "MSG"},       {POLLRDHUP, "RDHUP"}};
  std::string s;
  for (auto [bit, name] : kNames) {
    if ((m & bit) == 0) continue;
    if (!s.empty()) s += '|';
    s += name;
    m &= ~bit;
  }
  if (m != 0) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%s%#x", s.empty() ? "" : "|", m);
    s += hex;
  }
  return s.empty() ? "0" : s;
}

struct Entry {
  std::string what;
  std::string value;
};

class Trace {
 public:
  // A call's result: its return value, or -1 and the errno it left.
  long ret(const std::string& what, long r) {
    const int err = errno;
    add(what, r < 0 ? "-1 " + errno_name(err) : std::to_string(r));
    errno = err;
    return r;
  }
  // A call that returns a descriptor: "fd" (numbers differ between the two), or -1 and errno.
  int fd(const std::string& what, int r) {
    const int err = errno;
    add(what, r < 0 ? "-1 " + errno_name(err) : "fd");
    errno = err;
    return r;
  }
  // A call made on another thread, with the errno it left there.
  void ret_of(const std::string& what, long r, int err) {
    add(what, r < 0 ? "-1 " + errno_name(err) : std::to_string(r));
  }
  void fd_of(const std::string& what, int r, int err) {
    add(what, r < 0 ? "-1 " + errno_name(err) : "fd");
  }
  void bits(const std::string& what, std::uint32_t m) { add(what, bit_names(m)); }
  void num(const std::string& what, long long v) { add(what, std::to_string(v)); }
  void flag(const std::string& what, bool b) { add(what, b ? "yes" : "no"); }
  void err(const std::string& what, int e) { add(what, e == 0 ? "0" : errno_name(e)); }
  // A step the scenario cannot go on without (a listener, a connection): its failure is a
  // broken scenario, reported as such rather than as a difference.
  bool need(bool ok, const std::string& what) {
    if (!ok) problems.push_back(what + " failed (errno " + errno_name(errno) + ")");
    return ok;
  }

  std::vector<Entry> entries;
  std::vector<std::string> problems;

 private:
  void add(const std::string& what, std::string value) {
    entries.push_back({what, std::move(value)});
  }
};

bool same(const Trace& a, const Trace& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    if (a.entries[i].what != b.entries[i].what || a.entries[i].value != b.entries[i].value) {
      return false;
    }
  }
  return true;
}

std::string side_by_side(const Trace& k, const Trace& u) {
  std::string out =
      "     step                                          kernel                 usnet\n";
  const std::size_t n = std::max(k.entries.size(), u.entries.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Entry none{"(missing)", ""};
    const Entry& a = i < k.entries.size() ? k.entries[i] : none;
    const Entry& b = i < u.entries.size() ? u.entries[i] : none;
    const bool differs = a.what != b.what || a.value != b.value;
    char line[512];
    std::snprintf(line, sizeof(line), "%s %2zu %-45s %-22s %s\n", differs ? ">>" : "  ", i,
                  (a.what == b.what ? a.what : a.what + " / " + b.what).c_str(), a.value.c_str(),
                  b.value.c_str());
    out += line;
  }
  return out;
}

// ---- what scenarios share ----

constexpr int kWaitMs = 5000;  // the longest a scenario waits for something that must happen
constexpr short kAllBits =
    POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND | POLLRDHUP;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}
const sockaddr* sa(const sockaddr_in& a) {
  return reinterpret_cast<const sockaddr*>(&a);
}

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
}

// Waits until thread `tid` sleeps in a blocking call; false after kWaitMs.
bool wait_until_asleep(pid_t tid) {
  return usnet::test::wait_until_asleep(tid, milliseconds(kWaitMs));
}

// One run of a scenario: the calls, the trace, and the descriptors to close at the end.
class Env {
 public:
  Env(const Api& api, Trace& trace) : a(api), t(trace) {}
  ~Env() {
    for (auto it = fds_.rbegin(); it != fds_.rend(); ++it)
      a.close(*it);
  }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  const Api& a;
  Trace& t;

  int keep(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // close() by the scenario itself, recorded.
  int close(const std::string& what, int fd) {
    std::erase(fds_, fd);
    return static_cast<int>(t.ret(what, a.close(fd)));
  }
  int tcp(int flags = 0) { return keep(a.socket(AF_INET, SOCK_STREAM | flags, 0)); }
  int udp() { return keep(a.socket(AF_INET, SOCK_DGRAM, 0)); }
  int epoll() { return keep(a.epoll_create1(0)); }

  std::uint16_t port(int fd) const {
    sockaddr_in got{};
    socklen_t len = sizeof(got);
    if (a.getsockname(fd, reinterpret_cast<sockaddr*>(&got), &len) != 0) return 0;
    return ntohs(got.sin_port);
  }
  bool bind_any_port(int fd) const {
    const auto addr = loopback(0);
    return a.bind(fd, sa(addr), sizeof(addr)) == 0;
  }
  bool connect_to(int fd, std::uint16_t port) const {
    const auto addr = loopback(port);
    return a.connect(fd, sa(addr), sizeof(addr)) == 0;
  }
  int set_int(int fd, int level, int name, int v) const {
    return a.setsockopt(fd, level, name, &v, sizeof(v));
  }
  int set_timeout(int fd, int name, int ms) const {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    return a.setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv));
  }
  // SO_ERROR: the pending error (0 if none), or -1 if getsockopt failed.
  int so_error(int fd) const {
    int v = 0;
    socklen_t len = sizeof(v);
    return a.getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) == 0 ? v : -1;
  }
  int set_nonblocking(int fd, bool on) const {
    const int fl = a.fcntl(fd, F_GETFL, 0);
    return a.fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
  }

  // A listener on 127.0.0.1 and an ephemeral port; -1 (and a problem noted) on failure.
  int listener(int rcvbuf = 0) {
    const int l = tcp();
    const bool ok = t.need(l >= 0, "listener socket") &&
                    t.need(rcvbuf == 0 || set_int(l, SOL_SOCKET, SO_RCVBUF, rcvbuf) == 0,
                           "listener SO_RCVBUF") &&
                    t.need(bind_any_port(l), "listener bind") &&
                    t.need(a.listen(l, 16) == 0, "listen");
    return ok ? l : -1;
  }
  // A connected pair: *c the client, *s the accepted end. Buffer sizes other than 0 are
  // set before the connection exists (and lock autotuning, on both stacks).
  bool pair(int* c, int* s, int rcvbuf = 0, int sndbuf = 0) {
    const int l = listener(rcvbuf);
    if (l < 0) return false;
    *c = tcp();
    if (!t.need(*c >= 0, "client socket")) return false;
    if (sndbuf != 0 && !t.need(set_int(*c, SOL_SOCKET, SO_SNDBUF, sndbuf) == 0, "SO_SNDBUF")) {
      return false;
    }
    if (!t.need(connect_to(*c, port(l)), "connect")) return false;
    *s = keep(a.accept4(l, nullptr, nullptr, 0));
    if (!t.need(*s >= 0, "accept")) return false;
    std::erase(fds_, l);
    a.close(l);
    return true;
  }
  // A TCP port on 127.0.0.1 where nothing listens (a bound socket that does not listen, kept
  // open so the port stays taken): a connection to it is refused with a reset.
  std::uint16_t refusing_port() {
    const int fd = tcp();
    if (!t.need(fd >= 0 && bind_any_port(fd), "bind of the refusing port")) return 0;
    return port(fd);
  }
  // A UDP port where nothing is bound (bound, then closed): datagrams to it draw an ICMP
  // port unreachable.
  std::uint16_t closed_udp_port() {
    const int fd = a.socket(AF_INET, SOCK_DGRAM, 0);
    if (!t.need(fd >= 0 && bind_any_port(fd), "bind of the closed UDP port")) return 0;
    const std::uint16_t p = port(fd);
    a.close(fd);
    return p;
  }

  // The revents of poll(fd, every bit, timeout 0), or 0xffff if poll failed.
  std::uint32_t bits_now(int fd) const {
    pollfd p{fd, kAllBits, 0};
    return a.poll(&p, 1, 0) < 0 ? 0xffffU : static_cast<std::uint16_t>(p.revents);
  }
  void snap(const std::string& what, int fd) { t.bits(what, bits_now(fd)); }
  // Waits until poll reports one of `want` (POLLERR and POLLHUP included), at most kWaitMs.
  bool wait_for(int fd, std::uint32_t want, int ms = kWaitMs) const {
    const auto deadline = Clock::now() + milliseconds(ms);
    for (;;) {
      const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd, static_cast<short>(want & ~(POLLERR | POLLHUP)), 0};
      const int r = a.poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
      if (r > 0 && (static_cast<std::uint16_t>(p.revents) & want) != 0) return true;
      if (r < 0 || left <= 0) return false;
      if (r > 0) std::this_thread::sleep_for(milliseconds(1));  // something else: look again
    }
  }
  // Waits until at least n bytes are queued to read on fd (peeking), at most kWaitMs.
  bool wait_bytes(int fd, std::size_t n) const {
    const auto deadline = Clock::now() + milliseconds(kWaitMs);
    std::vector<char> buf(n);
    while (Clock::now() < deadline) {
      const ssize_t r = a.recv(fd, buf.data(), n, MSG_PEEK | MSG_DONTWAIT);
      if (r >= static_cast<ssize_t>(n)) return true;
      if (r == 0) return false;
      if (!wait_for(fd, POLLIN, 100)) continue;
      if (r > 0) std::this_thread::sleep_for(milliseconds(1));
    }
    return false;
  }
  // Reads exactly n bytes (blocking calls, each bounded by a wait for readability).
  bool recv_exact(int fd, std::size_t n) const {
    std::vector<char> buf(65536);
    std::size_t got = 0;
    while (got < n) {
      if (!wait_for(fd, POLLIN)) return false;
      const ssize_t r = a.recv(fd, buf.data(), std::min(buf.size(), n - got), MSG_DONTWAIT);
      if (r == 0) return false;
      if (r > 0) got += static_cast<std::size_t>(r);
    }
    return true;
  }

  // poll on one descriptor, recorded: the count and the revents.
  void poll1(const std::string& what, int fd, short events, int ms) {
    pollfd p{fd, events, 0};
    t.ret(what, a.poll(&p, 1, ms));
    t.bits(what + " revents", static_cast<std::uint16_t>(p.revents));
  }
  int ctl(const std::string& what, int ep, int op, int fd, std::uint32_t events,
          std::uint64_t data = 0) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    return static_cast<int>(t.ret(what, a.epoll_ctl(ep, op, fd, &ev)));
  }
  // epoll_wait, recorded: the count, then each event's bits and data.
  int ewait(const std::string& what, int ep, int max, int ms) {
    std::vector<epoll_event> ev(static_cast<std::size_t>(std::max(max, 1)));
    const int n = static_cast<int>(t.ret(what, a.epoll_wait(ep, ev.data(), max, ms)));
    for (int i = 0; i < n; ++i) {
      t.bits(what + " events", ev[static_cast<std::size_t>(i)].events);
      t.num(what + " data", static_cast<long long>(ev[static_cast<std::size_t>(i)].data.u64));
    }
    return n;
  }

 private:
  std::vector<int> fds_;
};

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define READINESS_UNDER_TSAN 1
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif
#endif

// A call blocked on a descriptor that another thread closes meanwhile. TSan reports close()
// of a descriptor in use as a race on it, and for the kernel's calls that is the very
// behaviour under test; so the kernel's call is hidden from TSan. usnet's calls are not.
template <typename Fn>
auto blocked_call([[maybe_unused]] const Api& a, Fn fn) {
#ifdef READINESS_UNDER_TSAN
  if (&a == &kKernel) {
    __tsan_ignore_thread_begin();
    const auto r = fn();
    __tsan_ignore_thread_end();
    return r;
  }
#endif
  return fn();
}

// Starts `body` on a thread and returns the thread once it sleeps in a blocking call (or
// kWaitMs passed), recording which as "<who> asleep". Scenarios then act on the sleeper.
template <typename Fn>
std::thread start_blocked(Env& e, const std::string& who, Fn body) {
  std::atomic<pid_t> tid{0};
  std::thread t([&tid, body]() mutable {
    tid = ::gettid();  // the last touch of `tid`: this function returns only after it
    body();
  });
  while (tid == 0)
    std::this_thread::yield();
  e.t.flag(who + " asleep", wait_until_asleep(tid));
  return t;
}

struct Scenario {
  const char* name;
  std::function<void(Env&)> run;
};

// ---- the scenarios ----

// A byte count is the same on both sides only where the scenario chose it.
const char kHello[] = "hello";

void peer_rst(Env& e, int s) {
  linger lg{1, 0};
  e.t.ret("SO_LINGER 0 on the peer", e.a.setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  e.close("close the peer (reset)", s);
}

std::vector<Scenario> poll_scenarios() {
  return {
      {"tcp_fresh_socket_poll_bits",
       [](Env& e) {
         const int fd = e.tcp();
         if (!e.t.need(fd >= 0, "socket")) return;
         e.poll1("poll", fd, kAllBits, 0);
         e.t.err("SO_ERROR", e.so_error(fd));
       }},
      {"udp_fresh_socket_poll_bits",
       [](Env& e) {
         const int fd = e.udp();
         if (!e.t.need(fd >= 0, "socket")) return;
         e.poll1("poll", fd, kAllBits, 0);
       }},
      {"listener_without_connection_poll_bits",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         e.poll1("poll", l, kAllBits, 0);
       }},
      {"listener_with_pending_connection_poll_bits",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const int c = e.tcp();
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         e.t.flag("listener readable", e.wait_for(l, POLLIN));
         e.snap("listener", l);
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         e.snap("listener after accept", l);
       }},
      {"nonblocking_connect_completes",
       [](Env& e) {
         const int l = e.listener();
         const int c = e.tcp(SOCK_NONBLOCK);
         if (l < 0 || !e.t.need(c >= 0, "socket")) return;
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         e.t.flag("became writable", e.wait_for(c, POLLOUT));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
         e.t.ret("connect again", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
       }},
      {"nonblocking_connect_refused",
       [](Env& e) {
         const std::uint16_t port = e.refusing_port();
         const int c = e.tcp(SOCK_NONBLOCK);
         if (port == 0 || !e.t.need(c >= 0, "socket")) return;
         e.t.ret("connect", e.a.connect(c, sa(loopback(port)), sizeof(sockaddr_in)));
         e.t.flag("error reported", e.wait_for(c, POLLERR));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
         e.t.err("SO_ERROR again", e.so_error(c));
         e.snap("client after SO_ERROR", c);
         char b[8];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), MSG_DONTWAIT));
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
         // A connect() after the failure reports it (the error is gone: ECONNABORTED) and
         // leaves the socket as a fresh one; the one after that starts over.
         e.t.ret("connect again", e.a.connect(c, sa(loopback(port)), sizeof(sockaddr_in)));
         e.snap("client after connect again", c);
         e.t.ret("connect a third time", e.a.connect(c, sa(loopback(port)), sizeof(sockaddr_in)));
         e.t.flag("refused again", e.wait_for(c, POLLERR));
         e.t.err("SO_ERROR", e.so_error(c));
       }},
      {"tcp_shutdown_of_unconnected_socket",
       [](Env& e) {
         const int a = e.tcp();
         const int b = e.tcp();
         if (!e.t.need(a >= 0 && b >= 0, "sockets")) return;
         e.t.ret("shutdown(SHUT_RDWR)", e.a.shutdown(a, SHUT_RDWR));
         e.snap("after SHUT_RDWR", a);
         e.t.ret("shutdown(SHUT_WR)", e.a.shutdown(b, SHUT_WR));
         e.snap("after SHUT_WR", b);
         e.t.ret("send", e.a.send(b, "x", 1, MSG_NOSIGNAL));
       }},
      {"blocking_connect_refused",
       [](Env& e) {
         const std::uint16_t port = e.refusing_port();
         const int c = e.tcp();
         if (port == 0 || !e.t.need(c >= 0, "socket")) return;
         e.t.ret("connect", e.a.connect(c, sa(loopback(port)), sizeof(sockaddr_in)));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
       }},
      {"established_pair_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.snap("client", c);
         e.snap("server", s);
       }},
      {"data_arrival_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, kHello, 5, 0));
         e.t.flag("readable", e.wait_bytes(s, 5));
         e.snap("server", s);
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.snap("server after recv", s);
       }},
      {"peer_fin_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.t.flag("FIN seen", e.wait_for(s, POLLRDHUP));
         e.snap("server", s);
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.snap("client", c);
         e.t.ret("send on client", e.a.send(c, "x", 1, MSG_NOSIGNAL));
         e.t.ret("send on server", e.a.send(s, "x", 1, MSG_NOSIGNAL));
       }},
      {"peer_fin_after_data",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, "abc", 3, 0));
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.t.flag("FIN seen", e.wait_for(s, POLLRDHUP));
         e.snap("server", s);
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.snap("server after the data", s);
         e.t.ret("recv at the end", e.a.recv(s, b, sizeof(b), 0));
       }},
      {"own_shut_wr_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.snap("client", c);
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
         e.t.ret("shutdown(SHUT_WR) again", e.a.shutdown(c, SHUT_WR));
         char b[4];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"own_shut_rd_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(s, SHUT_RD));
         e.snap("server", s);
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.t.ret("send", e.a.send(s, "x", 1, MSG_NOSIGNAL));
         e.snap("client", c);
       }},
      {"data_after_own_shut_rd",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(s, SHUT_RD));
         e.t.ret("peer send", e.a.send(c, "late", 4, 0));
         e.t.flag("data queued", e.wait_bytes(s, 4));
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), MSG_DONTWAIT));
         e.t.ret("recv at the end", e.a.recv(s, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"own_shut_rdwr_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_RDWR)", e.a.shutdown(c, SHUT_RDWR));
         e.snap("client", c);
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
         char b[4];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), 0));
         e.t.flag("peer sees FIN", e.wait_for(s, POLLRDHUP));
         e.snap("server", s);
       }},
      {"both_directions_shut_down_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.t.flag("server sees FIN", e.wait_for(s, POLLRDHUP));
         e.t.ret("shutdown(s, SHUT_WR)", e.a.shutdown(s, SHUT_WR));
         e.t.flag("client sees FIN", e.wait_for(c, POLLRDHUP));
         e.t.flag("client reports HUP", e.wait_for(c, POLLHUP));
         e.snap("client", c);
         e.snap("server", s);
       }},
      {"peer_reset_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         peer_rst(e, s);
         e.t.flag("error reported", e.wait_for(c, POLLERR));
         e.snap("client", c);
         char b[4];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), 0));
         e.snap("client after recv", c);
         e.t.ret("recv again", e.a.recv(c, b, sizeof(b), 0));
         e.t.err("SO_ERROR", e.so_error(c));
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
       }},
      {"peer_close_with_unread_data_resets",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, "abc", 3, 0));
         e.t.flag("peer has the data", e.wait_bytes(s, 3));
         e.close("close the peer unread", s);
         e.t.flag("error reported", e.wait_for(c, POLLERR));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
         e.snap("client after SO_ERROR", c);
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
       }},
      {"udp_datagram_poll_bits",
       [](Env& e) {
         const int u1 = e.udp();
         const int u2 = e.udp();
         if (!e.t.need(u1 >= 0 && u2 >= 0 && e.bind_any_port(u1), "udp sockets")) return;
         const auto to = loopback(e.port(u1));
         e.t.ret("sendto", e.a.sendto(u2, "ping", 4, 0, sa(to), sizeof(to)));
         e.t.flag("readable", e.wait_for(u1, POLLIN));
         e.snap("receiver", u1);
         char b[16];
         e.t.ret("recv", e.a.recv(u1, b, sizeof(b), 0));
         e.snap("receiver after recv", u1);
       }},
      {"udp_icmp_error_on_connected_socket",
       [](Env& e) {
         const std::uint16_t port = e.closed_udp_port();
         const int u = e.udp();
         if (port == 0 || !e.t.need(u >= 0, "socket")) return;
         e.t.ret("connect", e.a.connect(u, sa(loopback(port)), sizeof(sockaddr_in)));
         e.t.ret("send", e.a.send(u, "x", 1, 0));
         e.t.flag("error reported", e.wait_for(u, POLLERR));
         e.snap("socket", u);
         char b[4];
         e.t.ret("recv", e.a.recv(u, b, sizeof(b), MSG_DONTWAIT));
         e.snap("socket after recv", u);
         e.t.ret("send again", e.a.send(u, "x", 1, 0));
         e.t.flag("error reported again", e.wait_for(u, POLLERR));
         e.t.err("SO_ERROR", e.so_error(u));
         e.snap("socket after SO_ERROR", u);
       }},
      {"udp_icmp_error_on_unconnected_socket_is_silent",
       [](Env& e) {
         const std::uint16_t port = e.closed_udp_port();
         const int u = e.udp();
         if (port == 0 || !e.t.need(u >= 0, "socket")) return;
         const auto to = loopback(port);
         e.t.ret("sendto", e.a.sendto(u, "x", 1, 0, sa(to), sizeof(to)));
         e.poll1("poll 200 ms", u, POLLIN, 200);
         e.t.err("SO_ERROR", e.so_error(u));
       }},
      {"udp_shutdown_poll_bits",
       [](Env& e) {
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(u >= 0 && v >= 0 && e.bind_any_port(v), "udp sockets")) return;
         e.t.ret("shutdown unconnected", e.a.shutdown(u, SHUT_RDWR));
         e.snap("unconnected", u);
         e.t.ret("connect", e.a.connect(v, sa(loopback(e.port(v))), sizeof(sockaddr_in)));
         e.t.ret("shutdown(SHUT_WR) connected", e.a.shutdown(v, SHUT_WR));
         e.snap("connected after SHUT_WR", v);
         e.t.ret("send", e.a.send(v, "x", 1, MSG_NOSIGNAL));
       }},
      {"udp_datagram_after_shut_rd",
       [](Env& e) {
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(u >= 0 && v >= 0 && e.bind_any_port(u) && e.bind_any_port(v), "udp")) {
           return;
         }
         e.t.ret("connect", e.a.connect(u, sa(loopback(e.port(v))), sizeof(sockaddr_in)));
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(u, SHUT_RD));
         e.snap("after SHUT_RD", u);
         char b[8];
         e.t.ret("recv, non-blocking", e.a.recv(u, b, sizeof(b), MSG_DONTWAIT));
         e.t.ret("recv, blocking", e.a.recv(u, b, sizeof(b), 0));
         const auto to = loopback(e.port(u));
         e.t.ret("peer sendto", e.a.sendto(v, "late", 4, 0, sa(to), sizeof(to)));
         e.poll1("poll 200 ms for a datagram", u, POLLRDNORM, 200);
         e.t.ret("recv", e.a.recv(u, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"poll_invalid_and_negative_descriptors",
       [](Env& e) {
         const int fd = e.a.socket(AF_INET, SOCK_STREAM, 0);
         if (!e.t.need(fd >= 0, "socket")) return;
         e.a.close(fd);
         pollfd p[2] = {{fd, POLLIN, 0}, {-1, POLLIN, 0}};
         e.t.ret("poll", e.a.poll(p, 2, 0));
         e.t.bits("closed descriptor", static_cast<std::uint16_t>(p[0].revents));
         e.t.bits("negative descriptor", static_cast<std::uint16_t>(p[1].revents));
       }},
  };
}

// Two epoll instances watch one listener with EPOLLEXCLUSIVE and a thread waits on one of
// them when a connection arrives: that instance takes the wake-up. When the waiter is on
// the second, the first had nobody waiting: the wake-up went on past it, and it keeps the
// event for a later epoll_wait.
void exclusive_wake_with_waiter(Env& e, bool waiter_on_first) {
  const int l = e.listener();
  const int ep1 = e.epoll();
  const int ep2 = e.epoll();
  if (l < 0 || !e.t.need(ep1 >= 0 && ep2 >= 0, "epoll_create1")) return;
  e.ctl("ADD to ep1", ep1, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 13);
  e.ctl("ADD to ep2", ep2, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 14);
  const int waited = waiter_on_first ? ep1 : ep2;
  const int other = waiter_on_first ? ep2 : ep1;
  int n = 0;
  epoll_event ev{};
  std::thread waiter =
      start_blocked(e, "waiter", [&] { n = e.a.epoll_wait(waited, &ev, 1, kWaitMs); });
  const int c = e.tcp();
  e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
  waiter.join();
  e.t.num("waiter got", n);
  e.t.bits("waiter events", n > 0 ? ev.events : 0);
  e.t.num("waiter data", n > 0 ? static_cast<long long>(ev.data.u64) : 0);
  e.ewait("the other instance", other, 8, 0);
}

std::vector<Scenario> epoll_scenarios() {
  return {
      {"epoll_level_triggered_two_writes",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN", ep, EPOLL_CTL_ADD, s, EPOLLIN, 1);
         e.ewait("wait, nothing yet", ep, 8, 0);
         e.t.ret("send 1", e.a.send(c, "a", 1, 0));
         e.ewait("wait for the first", ep, 8, kWaitMs);
         e.t.ret("send 2", e.a.send(c, "b", 1, 0));
         e.t.flag("both queued", e.wait_bytes(s, 2));
         e.ewait("wait again", ep, 8, 0);
         char b[4];
         e.t.ret("recv 1 byte", e.a.recv(s, b, 1, 0));
         e.ewait("wait, 1 byte left", ep, 8, 0);
         e.t.ret("recv the rest", e.a.recv(s, b, sizeof(b), 0));
         e.ewait("wait, drained", ep, 8, 0);
       }},
      {"epoll_edge_triggered_two_writes",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLET", ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLET, 2);
         e.ewait("wait, nothing yet", ep, 8, 0);
         e.t.ret("send 1", e.a.send(c, "a", 1, 0));
         e.ewait("wait for the first", ep, 8, kWaitMs);
         e.ewait("wait again, no new data", ep, 8, 0);
         e.t.ret("send 2", e.a.send(c, "b", 1, 0));
         e.ewait("wait for the second (re-report)", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
         char b[4];
         e.t.ret("recv 1 byte", e.a.recv(s, b, 1, 0));
         e.ewait("wait after a partial read", ep, 8, 0);
         e.t.ret("recv the rest", e.a.recv(s, b, sizeof(b), 0));
       }},
      {"epoll_edge_triggered_epollout_after_drain",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s, 16384, 16384) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLOUT|EPOLLET", ep, EPOLL_CTL_ADD, c, EPOLLOUT | EPOLLET, 3);
         e.ewait("wait, writable", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
         e.t.ret("O_NONBLOCK", e.set_nonblocking(c, true));
         std::vector<char> chunk(4096, 'x');
         std::size_t total = 0;
         ssize_t r = 0;
         for (int i = 0; i < 100000; ++i) {
           r = e.a.send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL);
           if (r <= 0) break;
           total += static_cast<std::size_t>(r);
         }
         e.t.ret("send until full", r);
         e.t.flag("queued something", total > 0);
         e.t.flag("peer read it all", e.recv_exact(s, total));
         e.ewait("wait, writable again", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
       }},
      {"epoll_oneshot_fires_once_and_mod_rearms",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLONESHOT", ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLONESHOT, 4);
         e.t.ret("send 1", e.a.send(c, "a", 1, 0));
         e.ewait("wait, fires", ep, 8, kWaitMs);
         e.ewait("wait, disabled", ep, 8, 0);
         e.t.ret("send 2", e.a.send(c, "b", 1, 0));
         e.t.flag("both queued", e.wait_bytes(s, 2));
         e.ewait("wait, still disabled", ep, 8, 0);
         e.ctl("MOD re-arm", ep, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLONESHOT, 5);
         e.ewait("wait, fires again", ep, 8, 0);
         e.ewait("wait, disabled again", ep, 8, 0);
         e.ctl("ADD again", ep, EPOLL_CTL_ADD, s, EPOLLIN, 6);
         e.ctl("DEL", ep, EPOLL_CTL_DEL, s, 0);
         e.ewait("wait, deleted", ep, 8, 0);
       }},
      {"epoll_rdhup_on_peer_fin",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLRDHUP|EPOLLET", ep, EPOLL_CTL_ADD, s,
               EPOLLIN | EPOLLRDHUP | EPOLLET, 7);
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.ewait("wait", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
       }},
      {"epoll_hup_after_shut_rdwr",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD IN|OUT|RDHUP", ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 8);
         e.ewait("wait, writable", ep, 8, kWaitMs);
         e.t.ret("shutdown(SHUT_RDWR)", e.a.shutdown(s, SHUT_RDWR));
         e.ewait("wait", ep, 8, kWaitMs);
       }},
      {"epoll_hup_after_own_shut_wr_and_peer_fin",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLRDHUP", ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLRDHUP, 9);
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.ewait("wait after own SHUT_WR", ep, 8, 0);
         e.t.flag("server sees FIN", e.wait_for(s, POLLRDHUP));
         e.t.ret("shutdown(s, SHUT_WR)", e.a.shutdown(s, SHUT_WR));
         e.t.flag("client sees FIN", e.wait_for(c, POLLRDHUP));
         e.t.flag("client reports HUP", e.wait_for(c, POLLHUP));
         e.ewait("wait", ep, 8, 0);
       }},
      {"epoll_err_hup_on_reset_with_no_events_asked",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD events 0", ep, EPOLL_CTL_ADD, c, 0, 10);
         e.ewait("wait, nothing", ep, 8, 0);
         peer_rst(e, s);
         e.ewait("wait", ep, 8, kWaitMs);
         e.t.err("SO_ERROR", e.so_error(c));
         e.ewait("wait after SO_ERROR", ep, 8, 0);
       }},
      {"epoll_exclusive_two_instances_no_waiter",
       [](Env& e) {
         const int l = e.listener();
         const int ep1 = e.epoll();
         const int ep2 = e.epoll();
         if (l < 0 || !e.t.need(ep1 >= 0 && ep2 >= 0, "epoll_create1")) return;
         e.ctl("ADD to ep1", ep1, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 11);
         e.ctl("ADD to ep2", ep2, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 12);
         const int c = e.tcp();
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         e.t.flag("listener readable", e.wait_for(l, POLLIN));
         e.ewait("ep1", ep1, 8, 0);
         e.ewait("ep2", ep2, 8, 0);
       }},
      {"epoll_exclusive_waiter_on_first_instance",
       [](Env& e) { exclusive_wake_with_waiter(e, true); }},
      {"epoll_exclusive_waiter_on_second_instance",
       [](Env& e) { exclusive_wake_with_waiter(e, false); }},
      {"epoll_wait_in_another_thread_woken_by_data",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN", ep, EPOLL_CTL_ADD, s, EPOLLIN, 17);
         int n = 0;
         epoll_event ev{};
         std::thread waiter =
             start_blocked(e, "waiter", [&] { n = e.a.epoll_wait(ep, &ev, 1, kWaitMs); });
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         waiter.join();
         e.t.num("waiter got", n);
         e.t.bits("waiter events", n > 0 ? ev.events : 0);
         e.t.num("waiter data", n > 0 ? static_cast<long long>(ev.data.u64) : 0);
       }},
      {"epoll_nested_in_epoll",
       [](Env& e) {
         int c = -1, s = -1;
         const int inner = e.epoll();
         const int outer = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(inner >= 0 && outer >= 0, "epoll_create1")) return;
         e.ctl("ADD socket to inner", inner, EPOLL_CTL_ADD, s, EPOLLIN, 18);
         e.ctl("ADD inner to outer", outer, EPOLL_CTL_ADD, inner, EPOLLIN, 19);
         e.ctl("ADD outer to inner (loop)", inner, EPOLL_CTL_ADD, outer, EPOLLIN, 20);
         e.ewait("outer, nothing yet", outer, 8, 0);
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.ewait("outer", outer, 8, kWaitMs);
         e.ewait("inner", inner, 8, 0);
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.ewait("outer after the read", outer, 8, 0);
         e.ewait("inner after the read", inner, 8, 0);
         e.poll1("poll on inner", inner, POLLIN | POLLOUT, 0);
         e.t.ret("send again", e.a.send(c, "y", 1, 0));
         e.poll1("poll on inner, data", inner, POLLIN | POLLOUT, kWaitMs);
         e.ewait("outer, data", outer, 8, 0);
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.poll1("poll on inner, drained", inner, POLLIN, 0);
         e.poll1("poll on outer, drained", outer, POLLIN, 0);
       }},
      {"epoll_close_removes_socket_from_set",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, s, EPOLLIN, 21);
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.t.flag("queued", e.wait_bytes(s, 1));
         e.ewait("wait, ready", ep, 8, 0);
         e.close("close the socket", s);
         e.ewait("wait after close", ep, 8, 0);
         epoll_event ev{};
         e.t.ret("DEL of the closed descriptor", e.a.epoll_ctl(ep, EPOLL_CTL_DEL, s, &ev));
       }},
      {"epoll_maxevents_one_round_robin",
       [](Env& e) {
         int c1 = -1, s1 = -1, c2 = -1, s2 = -1;
         const int ep = e.epoll();
         if (!e.pair(&c1, &s1) || !e.pair(&c2, &s2) || !e.t.need(ep >= 0, "epoll_create1")) {
           return;
         }
         e.t.ret("send 1", e.a.send(c1, "x", 1, 0));
         e.t.ret("send 2", e.a.send(c2, "y", 1, 0));
         e.t.flag("queued", e.wait_bytes(s1, 1) && e.wait_bytes(s2, 1));
         e.ctl("ADD 1", ep, EPOLL_CTL_ADD, s1, EPOLLIN, 22);
         e.ctl("ADD 2", ep, EPOLL_CTL_ADD, s2, EPOLLIN, 23);
         e.ewait("wait 1", ep, 1, 0);
         e.ewait("wait 2", ep, 1, 0);
         e.ewait("wait 3", ep, 1, 0);
         e.ewait("wait all", ep, 8, 0);
       }},
      {"epoll_mod_changes_interest",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLOUT", ep, EPOLL_CTL_ADD, s, EPOLLOUT, 24);
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.t.flag("queued", e.wait_bytes(s, 1));
         e.ewait("wait", ep, 8, 0);
         e.ctl("MOD EPOLLIN", ep, EPOLL_CTL_MOD, s, EPOLLIN, 25);
         e.ewait("wait after MOD", ep, 8, 0);
         e.ctl("MOD EPOLLRDHUP", ep, EPOLL_CTL_MOD, s, EPOLLRDHUP, 26);
         e.ewait("wait after MOD to RDHUP", ep, 8, 0);
       }},
      {"epoll_wait_timeout",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, s, EPOLLIN, 27);
         const auto t0 = Clock::now();
         e.ewait("wait 150 ms", ep, 8, 150);
         const auto ms = ms_since(t0);
         e.t.flag("took about 150 ms", ms >= 140 && ms < 150 + 3000);
       }},
      {"epoll_level_triggered_listener",
       [](Env& e) {
         const int l = e.listener();
         const int ep = e.epoll();
         if (l < 0 || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLOUT, 28);
         e.ewait("wait, no connection", ep, 8, 0);
         const int c = e.tcp();
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         e.ewait("wait", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         e.ewait("wait after accept", ep, 8, 0);
       }},
      {"epoll_fresh_and_connecting_socket",
       [](Env& e) {
         const int l = e.listener();
         const int ep = e.epoll();
         const int fresh = e.tcp();
         const int c = e.tcp(SOCK_NONBLOCK);
         if (l < 0 || !e.t.need(ep >= 0 && fresh >= 0 && c >= 0, "sockets")) return;
         e.ctl("ADD fresh socket", ep, EPOLL_CTL_ADD, fresh, EPOLLIN | EPOLLOUT, 29);
         e.ewait("wait", ep, 8, 0);
         e.ctl("DEL fresh socket", ep, EPOLL_CTL_DEL, fresh, 0);
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         e.ctl("ADD connecting socket", ep, EPOLL_CTL_ADD, c, EPOLLOUT | EPOLLET, 30);
         e.ewait("wait for the connection", ep, 8, kWaitMs);
         e.t.err("SO_ERROR", e.so_error(c));
       }},
  };
}

std::vector<Scenario> epoll_errno_scenarios() {
  return {
      {"epoll_ctl_add_twice_eexist",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("ADD again", ep, EPOLL_CTL_ADD, u, EPOLLIN);
       }},
      {"epoll_ctl_mod_and_del_unknown_enoent",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("MOD", ep, EPOLL_CTL_MOD, u, EPOLLIN);
         e.ctl("DEL", ep, EPOLL_CTL_DEL, u, 0);
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("DEL", ep, EPOLL_CTL_DEL, u, 0);
         e.ctl("DEL again", ep, EPOLL_CTL_DEL, u, 0);
       }},
      {"epoll_ctl_bad_descriptors_ebadf",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         const int gone = e.a.socket(AF_INET, SOCK_DGRAM, 0);
         const int gone_ep = e.a.epoll_create1(0);
         if (!e.t.need(ep >= 0 && u >= 0 && gone >= 0 && gone_ep >= 0, "setup")) return;
         e.a.close(gone);
         e.a.close(gone_ep);
         e.ctl("ADD fd -1", ep, EPOLL_CTL_ADD, -1, EPOLLIN);
         e.ctl("ADD a closed socket", ep, EPOLL_CTL_ADD, gone, EPOLLIN);
         e.ctl("ADD on a closed epoll", gone_ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("ADD on epfd -1", -1, EPOLL_CTL_ADD, u, EPOLLIN);
       }},
      {"epoll_ctl_epfd_is_fd_einval",
       [](Env& e) {
         const int ep = e.epoll();
         if (!e.t.need(ep >= 0, "setup")) return;
         e.ctl("ADD epfd to itself", ep, EPOLL_CTL_ADD, ep, EPOLLIN);
       }},
      {"epoll_ctl_socket_as_epfd_einval",
       [](Env& e) {
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(u >= 0 && v >= 0, "setup")) return;
         e.ctl("ADD with a socket as epfd", u, EPOLL_CTL_ADD, v, EPOLLIN);
       }},
      {"epoll_ctl_exclusive_with_mod_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0 && v >= 0, "setup")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("MOD with EPOLLEXCLUSIVE", ep, EPOLL_CTL_MOD, u, EPOLLIN | EPOLLEXCLUSIVE);
         e.ctl("ADD exclusive", ep, EPOLL_CTL_ADD, v, EPOLLIN | EPOLLEXCLUSIVE);
         e.ctl("MOD of the exclusive item", ep, EPOLL_CTL_MOD, v, EPOLLIN);
         e.ctl("DEL of the exclusive item", ep, EPOLL_CTL_DEL, v, 0);
       }},
      {"epoll_ctl_exclusive_with_oneshot_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("ADD EXCLUSIVE|ONESHOT", ep, EPOLL_CTL_ADD, u,
               EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT);
         e.ctl("ADD EXCLUSIVE|RDHUP", ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP);
         e.ctl("ADD EXCLUSIVE|ET", ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLEXCLUSIVE | EPOLLET);
       }},
      {"epoll_ctl_exclusive_on_epoll_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int inner = e.epoll();
         if (!e.t.need(ep >= 0 && inner >= 0, "setup")) return;
         e.ctl("ADD an epoll exclusively", ep, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE);
         e.ctl("ADD an epoll", ep, EPOLL_CTL_ADD, inner, EPOLLIN);
       }},
      {"epoll_ctl_null_event_efault",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.t.ret("ADD null", e.a.epoll_ctl(ep, EPOLL_CTL_ADD, u, nullptr));
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.t.ret("MOD null", e.a.epoll_ctl(ep, EPOLL_CTL_MOD, u, nullptr));
         e.t.ret("DEL null", e.a.epoll_ctl(ep, EPOLL_CTL_DEL, u, nullptr));
       }},
      {"epoll_ctl_unknown_op_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("op 99", ep, 99, u, EPOLLIN);
       }},
      {"epoll_create1_bad_flags_einval",
       [](Env& e) {
         e.keep(e.t.fd("epoll_create1(1)", e.a.epoll_create1(1)));
         e.keep(e.t.fd("epoll_create1(O_NONBLOCK)", e.a.epoll_create1(O_NONBLOCK)));
         e.keep(e.t.fd("epoll_create1(EPOLL_CLOEXEC)", e.a.epoll_create1(EPOLL_CLOEXEC)));
       }},
      {"epoll_wait_bad_arguments",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         const int gone = e.a.epoll_create1(0);
         if (!e.t.need(ep >= 0 && u >= 0 && gone >= 0, "setup")) return;
         e.a.close(gone);
         epoll_event ev[2];
         e.t.ret("maxevents 0", e.a.epoll_wait(ep, ev, 0, 0));
         e.t.ret("maxevents -1", e.a.epoll_wait(ep, ev, -1, 0));
         e.t.ret("a socket as epfd", e.a.epoll_wait(u, ev, 2, 0));
         e.t.ret("a closed epfd", e.a.epoll_wait(gone, ev, 2, 0));
       }},
  };
}

std::vector<Scenario> select_scenarios() {
  return {
      {"select_timeout_expires_and_is_zeroed",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         fd_set r;
         FD_ZERO(&r);
         FD_SET(s, &r);
         timeval tv{0, 150'000};
         const auto t0 = Clock::now();
         e.t.ret("select", e.a.select(s + 1, &r, nullptr, nullptr, &tv));
         const auto ms = ms_since(t0);
         e.t.flag("took about 150 ms", ms >= 140 && ms < 150 + 3000);
         e.t.flag("still in the read set", FD_ISSET(s, &r));
         e.t.num("timeval left, s", tv.tv_sec);
         e.t.num("timeval left, us", tv.tv_usec);
       }},
      {"select_read_and_write_sets",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.t.flag("queued", e.wait_bytes(s, 1));
         fd_set r, w;
         FD_ZERO(&r);
         FD_ZERO(&w);
         FD_SET(s, &r);
         FD_SET(s, &w);
         FD_SET(c, &r);
         timeval tv{5, 0};
         e.t.ret("select", e.a.select(std::max(c, s) + 1, &r, &w, nullptr, &tv));
         e.t.flag("server readable", FD_ISSET(s, &r));
         e.t.flag("server writable", FD_ISSET(s, &w));
         e.t.flag("client readable", FD_ISSET(c, &r));
         e.t.flag("time left is most of 5 s", tv.tv_sec >= 4 && tv.tv_sec <= 5);
       }},
      {"select_listener_and_closed_descriptor",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const int c = e.tcp();
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         fd_set r, w;
         FD_ZERO(&r);
         FD_ZERO(&w);
         FD_SET(l, &r);
         FD_SET(l, &w);
         timeval tv{5, 0};
         e.t.ret("select", e.a.select(l + 1, &r, &w, nullptr, &tv));
         e.t.flag("listener readable", FD_ISSET(l, &r));
         e.t.flag("listener writable", FD_ISSET(l, &w));
         const int gone = e.a.socket(AF_INET, SOCK_DGRAM, 0);
         e.a.close(gone);
         FD_ZERO(&r);
         FD_SET(gone, &r);
         tv = {0, 0};
         e.t.ret("select on a closed descriptor", e.a.select(gone + 1, &r, nullptr, nullptr, &tv));
       }},
  };
}

std::vector<Scenario> blocking_scenarios() {
  return {
      {"so_rcvtimeo_recv_eagain",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 200 ms", e.set_timeout(s, SO_RCVTIMEO, 200));
         timeval tv{};
         socklen_t len = sizeof(tv);
         e.t.ret("getsockopt", e.a.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
         e.t.num("SO_RCVTIMEO us", tv.tv_sec * 1'000'000LL + tv.tv_usec);
         const auto t0 = Clock::now();
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         const auto ms = ms_since(t0);
         e.t.flag("took about 200 ms", ms >= 190 && ms < 200 + 3000);
       }},
      {"so_rcvtimeo_accept_and_udp_eagain",
       [](Env& e) {
         const int l = e.listener();
         const int u = e.udp();
         if (l < 0 || !e.t.need(u >= 0, "socket")) return;
         e.t.ret("SO_RCVTIMEO on the listener", e.set_timeout(l, SO_RCVTIMEO, 150));
         e.t.ret("SO_RCVTIMEO on udp", e.set_timeout(u, SO_RCVTIMEO, 150));
         auto t0 = Clock::now();
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         auto ms = ms_since(t0);
         e.t.flag("accept took about 150 ms", ms >= 140 && ms < 150 + 3000);
         e.t.flag("udp bound", e.bind_any_port(u));
         t0 = Clock::now();
         char b[4];
         e.t.ret("udp recv", e.a.recv(u, b, sizeof(b), 0));
         ms = ms_since(t0);
         e.t.flag("udp recv took about 150 ms", ms >= 140 && ms < 150 + 3000);
       }},
      {"so_sndtimeo_send_eagain_when_full",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s, 16384, 16384)) return;
         e.t.ret("SO_SNDTIMEO 200 ms", e.set_timeout(c, SO_SNDTIMEO, 200));
         std::vector<char> big(1 << 20, 'x');
         auto t0 = Clock::now();
         const ssize_t first = e.a.send(c, big.data(), big.size(), MSG_NOSIGNAL);
         auto ms = ms_since(t0);
         e.t.flag("first send queued part of it", first > 0 && first < (1 << 20));
         e.t.flag("first send waited about 200 ms", ms >= 190 && ms < 200 + 3000);
         t0 = Clock::now();
         e.t.ret("second send", e.a.send(c, big.data(), 4096, MSG_NOSIGNAL));
         ms = ms_since(t0);
         e.t.flag("second send waited about 200 ms", ms >= 190 && ms < 200 + 3000);
         e.t.flag("peer reads it all", e.recv_exact(s, static_cast<std::size_t>(first)));
       }},
      {"blocked_recv_ended_by_shut_rd_from_another_thread",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(s, SO_RCVTIMEO, kWaitMs));
         ssize_t r = 0;
         int err = 0;
         std::thread reader = start_blocked(e, "reader", [&] {
           char b[8];
           r = e.a.recv(s, b, sizeof(b), 0);
           err = r < 0 ? errno : 0;
         });
         const auto t0 = Clock::now();
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(s, SHUT_RD));
         reader.join();
         e.t.ret_of("recv returned", r, err);
         e.t.flag("ended at once", ms_since(t0) < 2000);
       }},
      {"blocked_recv_ended_by_peer_reset",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(s, SO_RCVTIMEO, kWaitMs));
         ssize_t r = 0;
         int err = 0;
         std::thread reader = start_blocked(e, "reader", [&] {
           char b[8];
           r = e.a.recv(s, b, sizeof(b), 0);
           err = r < 0 ? errno : 0;
         });
         const auto t0 = Clock::now();
         peer_rst(e, c);
         reader.join();
         e.t.ret_of("recv returned", r, err);
         e.t.flag("ended at once", ms_since(t0) < 2000);
       }},
      {"close_of_socket_blocked_in_recv_in_another_thread",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 1 s", e.set_timeout(s, SO_RCVTIMEO, 1000));
         ssize_t r = 0;
         int err = 0;
         long long took = 0;
         std::thread reader = start_blocked(e, "reader", [&] {
           char b[8];
           const auto t0 = Clock::now();
           r = blocked_call(e.a, [&] { return e.a.recv(s, b, sizeof(b), 0); });
           err = r < 0 ? errno : 0;
           took = ms_since(t0);
         });
         e.close("close", s);
         // The blocked call holds the socket: it is not woken, and the connection does not
         // end (no FIN) until the call returns.
         e.t.bits("peer right after the close", e.bits_now(c) & POLLRDHUP);
         reader.join();
         e.t.ret_of("recv returned", r, err);
         e.t.flag("recv ran to its timeout", took >= 950);
         e.t.flag("peer sees FIN after the call returned", e.wait_for(c, POLLRDHUP));
         char b[4];
         e.t.ret("recv on the closed descriptor", e.a.recv(s, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"close_of_listener_blocked_in_accept_in_another_thread",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const std::uint16_t port = e.port(l);
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(l, SO_RCVTIMEO, kWaitMs));
         int r = 0;
         int err = 0;
         std::thread acceptor = start_blocked(e, "acceptor", [&] {
           r = blocked_call(e.a, [&] { return e.a.accept4(l, nullptr, nullptr, 0); });
           err = r < 0 ? errno : 0;
         });
         e.close("close the listener", l);
         // The blocked accept holds the listener: it still listens, and takes this one.
         const int c = e.tcp();
         e.t.ret("connect", e.a.connect(c, sa(loopback(port)), sizeof(sockaddr_in)));
         acceptor.join();
         e.t.fd_of("accept returned", e.keep(r), err);
         const int c2 = e.tcp();
         e.t.ret("connect after the accept returned",
                 e.a.connect(c2, sa(loopback(port)), sizeof(sockaddr_in)));
       }},
      {"close_of_epoll_another_thread_waits_on",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.a.epoll_create1(0);
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, s, EPOLLIN, 31);
         int n = 0;
         epoll_event ev{};
         std::thread waiter = start_blocked(e, "waiter", [&] {
           n = blocked_call(e.a, [&] { return e.a.epoll_wait(ep, &ev, 1, kWaitMs); });
         });
         e.t.ret("close the epoll", e.a.close(ep));
         // The wait in progress holds the instance, with what it watches, until it returns.
         const auto t0 = Clock::now();
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         waiter.join();
         e.t.num("waiter got", n);
         e.t.bits("waiter events", n > 0 ? ev.events : 0);
         e.t.num("waiter data", n > 0 ? static_cast<long long>(ev.data.u64) : 0);
         e.t.flag("woken at once", ms_since(t0) < 2000);
       }},
      {"blocked_send_completes_when_peer_reads",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s, 16384, 16384)) return;
         constexpr std::size_t kBig = 1 << 20;
         ssize_t r = 0;
         std::thread writer = start_blocked(e, "writer", [&] {
           std::vector<char> big(kBig, 'y');
           r = e.a.send(c, big.data(), big.size(), MSG_NOSIGNAL);
         });
         e.t.flag("peer reads it all", e.recv_exact(s, kBig));
         writer.join();
         e.t.num("send returned", r);
       }},
      {"blocked_accept_woken_by_connection",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(l, SO_RCVTIMEO, kWaitMs));
         int r = 0;
         int err = 0;
         std::thread acceptor = start_blocked(e, "acceptor", [&] {
           r = e.a.accept4(l, nullptr, nullptr, 0);
           err = r < 0 ? errno : 0;
         });
         const int c = e.tcp();
         e.t.ret("connect", e.a.connect(c, sa(loopback(e.port(l))), sizeof(sockaddr_in)));
         acceptor.join();
         e.t.fd_of("accept returned", e.keep(r), err);
         if (r >= 0) e.t.ret("send on the accepted", e.a.send(r, "x", 1, 0));
         e.t.flag("client gets it", e.wait_bytes(c, 1));
       }},
      {"blocked_accept_ended_by_listener_shutdown",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(l, SO_RCVTIMEO, kWaitMs));
         int r = 0;
         int err = 0;
         std::thread acceptor = start_blocked(e, "acceptor", [&] {
           r = e.a.accept4(l, nullptr, nullptr, 0);
           err = r < 0 ? errno : 0;
         });
         const auto t0 = Clock::now();
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(l, SHUT_RD));
         acceptor.join();
         e.t.fd_of("accept returned", e.keep(r), err);
         e.t.flag("ended at once", ms_since(t0) < 2000);
         e.snap("listener", l);
       }},
      {"poll_timeout_zero_then_infinite_with_data_from_another_thread",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.poll1("poll timeout 0", s, POLLIN, 0);
         const pid_t me = ::gettid();
         bool asleep = false;
         ssize_t sent = 0;
         std::thread writer([&] {
           asleep = wait_until_asleep(me);
           sent = e.a.send(c, "x", 1, 0);
         });
         e.poll1("poll timeout -1", s, POLLIN, -1);
         writer.join();
         e.t.flag("poller was asleep", asleep);
         e.t.num("sent", sent);
       }},
      {"o_nonblock_via_fcntl",
       [](Env& e) {
         int c = -1, s = -1;
         const int l = e.listener();
         if (l < 0 || !e.pair(&c, &s)) return;
         e.t.num("F_GETFL", e.a.fcntl(s, F_GETFL, 0));
         e.t.ret("F_SETFL O_NONBLOCK", e.set_nonblocking(s, true));
         e.t.num("F_GETFL after", e.a.fcntl(s, F_GETFL, 0));
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.t.ret("F_SETFL O_NONBLOCK on the listener", e.set_nonblocking(l, true));
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         e.t.ret("F_SETFL blocking again", e.set_nonblocking(s, false));
         e.t.num("F_GETFL blocking", e.a.fcntl(s, F_GETFL, 0));
         e.t.ret("peer send", e.a.send(c, "ab", 2, 0));
         e.t.flag("queued", e.wait_bytes(s, 2));
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
       }},
  };
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kAll = [] {
    std::vector<Scenario> all;
    for (auto group : {poll_scenarios, epoll_scenarios, epoll_errno_scenarios, select_scenarios,
                       blocking_scenarios}) {
      auto v = group();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }();
  return kAll;
}

Trace run(const Api& api, const Scenario& sc) {
  Trace t;
  {
    Env e(api, t);
    errno = 0;
    sc.run(e);
  }
  return t;
}

bool g_private_netns = false;

class ReadinessConformance : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() {
    static bool done = false;
    if (done) return;
    done = true;
    // The kernel's side runs in a namespace of its own with only `lo`, as usnet's default
    // stack has only its loopback. Threads this thread starts later inherit it.
    g_private_netns = usnet::test::enter_private_netns();
    if (!g_private_netns) {
      std::fprintf(stderr,
                   "\n*** readiness conformance: cannot unshare a private network namespace "
                   "(%s); the kernel side uses this machine's loopback ***\n\n",
                   std::strerror(errno));
    }
  }
};

TEST_P(ReadinessConformance, KernelAndUsnetAgree) {
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

INSTANTIATE_TEST_SUITE_P(Table, ReadinessConformance,
                         ::testing::Range<std::size_t>(0, scenarios().size()), scenario_name);

TEST(ReadinessConformanceTable, HasAtLeastFortyScenarios) {
  EXPECT_GE(scenarios().size(), 40u);
}

}  // namespace
