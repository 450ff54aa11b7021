// What the side-by-side conformance tables of tests/runtime share (readiness, the open-file
// layer, signals): the socket calls once for the kernel and once for usnet, the trace a
// scenario records, and the environment it runs in. A scenario is written once against an
// Api; it runs with the kernel's calls and then with usnet's, and the two traces must agree
// entry by entry. A difference prints both traces side by side.
//
// Nothing waits a fixed short time for something to happen: a scenario waits for the event
// itself with a generous bound, and a thread that must be blocked before the next step is
// watched in /proc until it sleeps.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

#include "../../support/private_netns.h"
#include "../../support/thread_wait.h"
#include "usnet/usnet.h"

namespace usnet::conformance {

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
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*ioctl)(int, unsigned long, int*);
};

inline int kernel_fcntl(int fd, int cmd, int arg) {
  return ::fcntl(fd, cmd, arg);
}
inline int usnet_fcntl3(int fd, int cmd, int arg) {
  return usnet_fcntl(fd, cmd, arg);
}
inline int kernel_ioctl(int fd, unsigned long req, int* arg) {
  return ::ioctl(fd, req, arg);
}
inline int usnet_ioctl3(int fd, unsigned long req, int* arg) {
  return usnet_ioctl(fd, req, arg);
}

inline const Api kKernel = {
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
    .dup = ::dup,
    .dup2 = ::dup2,
    .dup3 = ::dup3,
    .ioctl = kernel_ioctl,
};
inline const Api kUsnet = {
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
    .dup = usnet_dup,
    .dup2 = usnet_dup2,
    .dup3 = usnet_dup3,
    .ioctl = usnet_ioctl3,
};

inline bool is_kernel(const Api& a) {
  return &a == &kKernel;
}

// ---- the trace ----

inline std::string errno_name(int e) {
  const char* n = ::strerrorname_np(e);
  return n != nullptr ? n : "errno " + std::to_string(e);
}

// poll(2) and epoll(7) share these bit values.
inline std::string bit_names(std::uint32_t m) {
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
  // A difference by design (api/process.h: fork and exec): what each side must show. Both
  // empty for the usual entry, where the two sides must agree.
  std::string kernel_must;
  std::string usnet_must;
};

// A call's result as a trace shows it: its return value, or -1 and the errno it left.
inline std::string result_text(long r, int err) {
  return r < 0 ? "-1 " + errno_name(err) : std::to_string(r);
}

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
  void add_text(const std::string& what, std::string value) { add(what, std::move(value)); }
  void num(const std::string& what, long long v) { add(what, std::to_string(v)); }
  void flag(const std::string& what, bool b) { add(what, b ? "yes" : "no"); }
  void err(const std::string& what, int e) { add(what, e == 0 ? "0" : errno_name(e)); }
  // A result that differs from the kernel's by design: each side must show its own.
  void by_design(const std::string& what, const std::string& value, std::string kernel_must,
                 std::string usnet_must) {
    entries.push_back({what, value, std::move(kernel_must), std::move(usnet_must)});
  }
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
    entries.push_back({what, std::move(value), {}, {}});
  }
};

// One step of the kernel's trace `k` and usnet's `u` agree (or each shows what it must).
inline bool entry_agrees(const Entry& k, const Entry& u) {
  if (k.what != u.what) return false;
  if (k.kernel_must.empty() && u.usnet_must.empty()) return k.value == u.value;
  return k.value == k.kernel_must && u.value == u.usnet_must;
}

inline bool same(const Trace& a, const Trace& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    if (!entry_agrees(a.entries[i], b.entries[i])) return false;
  }
  return true;
}

inline std::string side_by_side(const Trace& k, const Trace& u) {
  std::string out =
      "     step                                          kernel                 usnet\n";
  const std::size_t n = std::max(k.entries.size(), u.entries.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Entry none{"(missing)", "", {}, {}};
    const Entry& a = i < k.entries.size() ? k.entries[i] : none;
    const Entry& b = i < u.entries.size() ? u.entries[i] : none;
    const bool differs = !entry_agrees(a, b);
    char line[512];
    std::snprintf(line, sizeof(line), "%s %2zu %-45s %-22s %s\n", differs ? ">>" : "  ", i,
                  (a.what == b.what ? a.what : a.what + " / " + b.what).c_str(), a.value.c_str(),
                  b.value.c_str());
    out += line;
  }
  return out;
}

// ---- what scenarios share ----

inline constexpr int kWaitMs = 5000;  // the longest a scenario waits for something that must happen
inline constexpr short kAllBits =
    POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND | POLLRDHUP;

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}
inline const sockaddr* sa(const sockaddr_in& a) {
  return reinterpret_cast<const sockaddr*>(&a);
}

// The loopback address and `port` of a family: 127.0.0.1 or ::1, as a name to pass to
// bind/connect/sendto. Both stacks have both (usnet's lo carries ::1 as Linux's does).
struct LoopbackName {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
};
inline LoopbackName loopback_of(int family, std::uint16_t port) {
  LoopbackName n;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&n.ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    n.len = sizeof(sockaddr_in6);
  } else {
    const sockaddr_in a = loopback(port);
    std::memcpy(&n.ss, &a, sizeof(a));
    n.len = sizeof(sockaddr_in);
  }
  return n;
}

inline long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
}

// Waits until thread `tid` of this process, or the main thread of process `pid`, sleeps in
// a blocking call; false after kWaitMs.
inline bool wait_until_asleep(pid_t tid) {
  return usnet::test::wait_until_asleep(tid, milliseconds(kWaitMs));
}
inline bool wait_until_asleep_pid(pid_t pid) {
  return usnet::test::wait_until_asleep_pid(pid, milliseconds(kWaitMs));
}

// One run of a scenario: the calls, the trace, and the descriptors to close at the end.
class Env {
 public:
  // `family`: AF_INET or AF_INET6, the family of every socket and name the scenario makes
  // through Env (the table runs each scenario in both).
  Env(const Api& api, Trace& trace, int fam = AF_INET) : a(api), t(trace), family(fam) {}
  ~Env() {
    for (auto it = fds_.rbegin(); it != fds_.rend(); ++it)
      a.close(*it);
  }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  const Api& a;
  Trace& t;
  const int family;

  int keep(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // close() by the scenario itself, recorded.
  int close(const std::string& what, int fd) {
    std::erase(fds_, fd);
    return static_cast<int>(t.ret(what, a.close(fd)));
  }
  int tcp(int flags = 0) { return keep(a.socket(family, SOCK_STREAM | flags, 0)); }
  int udp() { return keep(a.socket(family, SOCK_DGRAM, 0)); }
  LoopbackName name(std::uint16_t port) const { return loopback_of(family, port); }
  // connect(fd, loopback:port), not recorded: the scenario records what it returns.
  int connect(int fd, std::uint16_t port) const {
    const auto n = name(port);
    return a.connect(fd, n.get(), n.len);
  }
  int epoll() { return keep(a.epoll_create1(0)); }

  std::uint16_t port(int fd) const {
    sockaddr_storage got{};
    socklen_t len = sizeof(got);
    if (a.getsockname(fd, reinterpret_cast<sockaddr*>(&got), &len) != 0) return 0;
    // sin_port and sin6_port sit at the same offset, but say which one is read.
    if (got.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port);
  }
  bool bind_any_port(int fd) const {
    const auto n = name(0);
    return a.bind(fd, n.get(), n.len) == 0;
  }
  bool connect_to(int fd, std::uint16_t port) const { return connect(fd, port) == 0; }
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
    const int fd = a.socket(family, SOCK_DGRAM, 0);
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
#define CONFORMANCE_UNDER_TSAN 1
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif
#endif

// A call blocked on a descriptor that another thread closes meanwhile. TSan reports close()
// of a descriptor in use as a race on it, and for the kernel's calls that is the very
// behaviour under test; so the kernel's call is hidden from TSan. usnet's calls are not.
template <typename Fn>
auto blocked_call([[maybe_unused]] const Api& a, Fn fn) {
#ifdef CONFORMANCE_UNDER_TSAN
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

inline Trace run(const Api& api, const Scenario& sc, int family = AF_INET) {
  Trace t;
  {
    Env e(api, t, family);
    errno = 0;
    sc.run(e);
  }
  return t;
}

// The kernel's side of a table runs in a network namespace of its own with only `lo`, as
// usnet's default stack has only its loopback; threads started later inherit it. Once per
// test program; says so loudly if it cannot be had.
inline void enter_kernel_namespace_once(const char* table) {
  static bool done = false;
  if (done) return;
  done = true;
  if (!usnet::test::enter_private_netns()) {
    std::fprintf(stderr,
                 "\n*** %s: cannot unshare a private network namespace (%s); the kernel side "
                 "uses this machine's loopback ***\n\n",
                 table, std::strerror(errno));
  }
}

}  // namespace usnet::conformance
