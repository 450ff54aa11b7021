// The process's usnet stack, made from the environment (src/preload/README.md) the first
// time a call needs it, and the process-wide switches of the preload.
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include <chrono>

#include "api/handles.h"
#include "api/process.h"
#include "preload/pending.h"
#include "preload/preload.h"
#include "stack/stack.h"
#include "transport/tcp/tcp.h"
#include "transport/tcp/tcp_sock.h"
#include "usnet/usnet.h"
#include "wire/addresses.h"

namespace usnet::preload {

thread_local bool t_inside __attribute__((tls_model("initial-exec"))) = false;
thread_local const sigset_t* t_wait_mask __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

std::atomic<usnet_stack*> g_stack{nullptr};
std::atomic<bool> g_in_use{false};
// This process was forked from one that had a stack (or from such a child): the TAP and
// the sockets are the parent's, and this process's new sockets go to the kernel. A child
// of a process that had none (a server that daemonizes before its first socket) may start
// a stack of its own.
std::atomic<bool> g_child_of_stack{false};
// What USNET_ADDR gave (preload.h usnet_has_ipv4/usnet_has_ipv6).
std::atomic<bool> g_has_ipv4{false};
std::atomic<bool> g_has_ipv6{false};

void after_fork_child() {
  if (g_stack.load(std::memory_order_relaxed) != nullptr) {
    g_child_of_stack.store(true, std::memory_order_relaxed);
  }
}

bool env_on(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

// Written with the kernel's write(2): stdio may be what the program is busy with.
__attribute__((format(printf, 1, 0))) void say(const char* fmt, va_list ap) {
  char line[512];
  // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): the caller's va_start
  int n = std::vsnprintf(line, sizeof(line) - 1, fmt, ap);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof(line)) - 2) n = static_cast<int>(sizeof(line)) - 2;
  line[n++] = '\n';
  (void)!real().write(STDERR_FILENO, line, static_cast<std::size_t>(n));
}

void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(fmt, ap);
  va_end(ap);
}

// At exit the kernel closes a process's sockets and goes on delivering what they hold; a
// usnet socket's data lives in this process, so exit waits here for it: every usnet socket
// still open is closed (as the kernel closes them), then the connections are given up to
// USNET_EXIT_WAIT_MS (default 5000) to deliver their data and FIN.
void drain_at_exit(usnet_stack* s) {
  for (int fd : api::fd_map().fds_of(s->runtime))
    (void)usnet_close(fd);
  int wait_ms = 5000;
  if (const char* w = std::getenv("USNET_EXIT_WAIT_MS"); w != nullptr && *w != '\0') {
    wait_ms = std::atoi(w);
  }
  const int left = usnet_stack_drain(s, wait_ms);
  if (left > 0) {
    say("usnet preload: pid %d: exit with %d connection(s) still delivering after %d ms "
        "(USNET_EXIT_WAIT_MS)",
        static_cast<int>(::getpid()), left, wait_ms);
  }
}

void at_exit() {
  usnet_stack* s = stack();
  if (s == nullptr) return;  // no stack, or a forked child's copy of the parent's
  Inside in;
  drain_at_exit(s);
  const char* where = std::getenv("USNET_COUNTERS");
  if (where == nullptr || *where == '\0') return;
  const std::string_view w(where);
  if (w == "-" || w == "stderr") {
    (void)usnet_stack_dump_counters(s, STDERR_FILENO);
    return;
  }
  const int fd = ::open(where, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    say("usnet preload: cannot write counters to %s: %s", where, std::strerror(errno));
    return;
  }
  (void)usnet_stack_dump_counters(s, fd);
  ::close(fd);
}

// Attaching to the TAP turns its carrier on, but the kernel acts on that later (linkwatch
// runs at most once a second): until then it drops what it sends through the TAP (an ARP
// reply, a SYN-ACK, a UDP answer), which a first connection would pay for with a 1 s
// retransmission and a one-shot datagram with its loss. So the start waits, up to 2 s, for
// the kernel to report the link running (IFF_RUNNING follows the operational state). A
// TAP whose kernel side is down is not waited for.
void wait_link_running(const char* tap) {
  const int s = real().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  ifreq r{};
  std::strncpy(r.ifr_name, tap, IFNAMSIZ - 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    if (real().ioctl(s, SIOCGIFFLAGS, &r) != 0 || (r.ifr_flags & IFF_UP) == 0) break;
    if ((r.ifr_flags & IFF_RUNNING) != 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      debug_line("usnet preload: %s is not running after 2 s; going on", tap);
      break;
    }
    ::usleep(5000);  // the kernel offers no wait for it short of a netlink listener
  }
  real().close(s);
}

// USNET_ADDR: one CIDR or several, comma-separated, of either family (README). Each is
// added to the TAP interface; false (errno set, `bad` naming the entry) at the first one
// refused.
bool add_addresses(usnet_stack* s, int ifindex, std::string_view list, std::string& bad) {
  bool v4 = false;
  bool v6 = false;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view one = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!one.empty() && one.front() == ' ')
      one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ')
      one.remove_suffix(1);
    if (one.empty()) continue;
    bad = std::string(one);
    if (usnet_stack_add_address(s, ifindex, bad.c_str()) != 0) return false;
    if (one.find(':') == std::string_view::npos) {
      v4 = true;
    } else if (auto c = Ipv6Cidr::parse(one); c && !c->address.is_link_local()) {
      v6 = true;
    }
  }
  bad.clear();
  g_has_ipv4.store(v4, std::memory_order_relaxed);
  g_has_ipv6.store(v6, std::memory_order_relaxed);
  return true;
}

// The stack of README's environment, or null (with the reason said once on stderr).
usnet_stack* start_stack() {
  const char* tap = std::getenv("USNET_TAP");
  if (tap == nullptr || *tap == '\0') return nullptr;  // configured() said so
  const char* addr = std::getenv("USNET_ADDR");
  if (addr == nullptr || *addr == '\0') {
    say("usnet preload: USNET_TAP=%s needs USNET_ADDR (CIDR): every call goes to the kernel", tap);
    return nullptr;
  }
  int mtu = 1500;
  if (const char* m = std::getenv("USNET_MTU"); m != nullptr && *m != '\0') mtu = std::atoi(m);
  const char* mac = std::getenv("USNET_MAC");
  if (mac != nullptr && *mac == '\0') mac = nullptr;
  const char* gateway = std::getenv("USNET_GATEWAY");
  if (gateway != nullptr && *gateway == '\0') gateway = nullptr;
  const char* pcap = std::getenv("USNET_PCAP");
  const char* gro = std::getenv("USNET_TAP_GRO");
  const unsigned tap_flags = gro != nullptr && std::strcmp(gro, "1") == 0 ? USNET_TAP_GRO : 0U;

  usnet_runtime* rt = usnet_runtime_new();
  usnet_stack* s = rt != nullptr ? usnet_stack_new(rt, "preload", 0) : nullptr;
  if (s == nullptr) {
    say("usnet preload: cannot make a stack: %s", std::strerror(errno));
    return nullptr;
  }
  // The settings first (README "Settings (sysctl)"): the file, then the list, before the
  // device and the first socket, so that every socket sees them. A refused setting is said
  // and the rest still apply, as sysctl -p goes on past a bad line.
  if (const char* file = std::getenv("USNET_SYSCTL_FILE"); file != nullptr && *file != '\0') {
    if (usnet_sysctl_load_file(s, file) != 0)
      say("usnet preload: USNET_SYSCTL_FILE=%s: %s", file, std::strerror(errno));
  }
  if (const char* list = std::getenv("USNET_SYSCTL"); list != nullptr && *list != '\0') {
    if (usnet_sysctl_apply(s, list) != 0)
      say("usnet preload: USNET_SYSCTL: %s", std::strerror(errno));
  }
  const int ifindex = usnet_stack_add_tap_flags(s, tap, mac, mtu, tap_flags);
  const char* step = "open TAP";
  bool ok = ifindex > 0;
  if (ok && pcap != nullptr && *pcap != '\0') {
    step = "capture to USNET_PCAP";
    ok = usnet_stack_capture(s, ifindex, pcap) == 0;
  }
  std::string bad;
  if (ok) {
    step = "add USNET_ADDR";
    ok = add_addresses(s, ifindex, addr, bad);
  }
  if (ok) wait_link_running(tap);
  if (ok && gateway != nullptr && std::strchr(gateway, ':') != nullptr) {
    // usnet's IPv6 has on-link prefixes only (net/ipv6.h): no route via a gateway yet.
    say("usnet preload: USNET_GATEWAY=%s: IPv6 gateways are not supported yet; IPv6 reaches "
        "usnet's on-link prefixes only",
        gateway);
    gateway = nullptr;
  }
  if (ok && gateway != nullptr) {
    step = "add the route via USNET_GATEWAY";
    ok = usnet_stack_add_route(s, "0.0.0.0/0", gateway, ifindex) == 0;
  }
  if (!ok) {
    say("usnet preload: cannot %s (USNET_TAP=%s USNET_ADDR=%s%s%s): %s; every call goes to "
        "the kernel",
        step, tap, addr, bad.empty() ? "" : ", at ", bad.c_str(), std::strerror(errno));
    usnet_runtime_free(rt);
    return nullptr;
  }
  usnet_stack_set_default(s);
  if (debug()) {
    say("usnet preload: pid %d: stack up on %s, %s%s%s, loopback to %s",
        static_cast<int>(::getpid()), tap, addr, gateway != nullptr ? " via " : "",
        gateway != nullptr ? gateway : "", loopback_in_usnet() ? "usnet" : "the kernel");
  }
  return s;
}

}  // namespace

bool debug() noexcept {
  static const bool on = env_on("USNET_PRELOAD_DEBUG");
  return on;
}

void debug_line(const char* fmt, ...) {
  if (!debug()) return;
  va_list ap;
  va_start(ap, fmt);
  say(fmt, ap);
  va_end(ap);
}

bool usnet_has_ipv4() noexcept {
  return g_has_ipv4.load(std::memory_order_relaxed);
}

bool usnet_has_ipv6() noexcept {
  return g_has_ipv6.load(std::memory_order_relaxed);
}

bool loopback_in_usnet() noexcept {
  static const bool on = [] {
    const char* v = std::getenv("USNET_LOOPBACK");
    return v != nullptr && std::string_view(v) == "usnet";
  }();
  return on;
}

bool configured() noexcept {
  static const bool tap = [] {
    const char* t = std::getenv("USNET_TAP");
    const bool set = t != nullptr && *t != '\0';
    if (!set) debug_line("usnet preload: USNET_TAP is not set: every call goes to the kernel");
    return set;
  }();
  return tap && !g_child_of_stack.load(std::memory_order_relaxed);
}

bool ensure_stack() {
  if (!configured()) return false;
  if (g_stack.load(std::memory_order_acquire) != nullptr) return true;
  static std::mutex mu;
  static bool tried = false;
  Inside in;
  std::lock_guard lock(mu);
  if (!tried) {
    tried = true;
    if (usnet_stack* s = start_stack()) {
      g_stack.store(s, std::memory_order_release);
      note_usnet_in_use();
      std::atexit(at_exit);
    }
  }
  return g_stack.load(std::memory_order_acquire) != nullptr;
}

usnet_stack* stack() noexcept {
  return g_child_of_stack.load(std::memory_order_relaxed) ? nullptr
                                                          : g_stack.load(std::memory_order_acquire);
}

bool usnet_in_use() noexcept {
  return g_in_use.load(std::memory_order_relaxed);
}

void note_usnet_in_use() noexcept {
  g_in_use.store(true, std::memory_order_relaxed);
}

// At load: the fork handlers of the descriptor table are in place before the program can
// fork, so a child forked before the stack started still knows it is one.
__attribute__((constructor)) void preload_init() {
  Inside in;
  (void)real();
  (void)api::fd_map();
  (void)pending();
  ::pthread_atfork(nullptr, nullptr, after_fork_child);
}

}  // namespace usnet::preload
