#include "tool_common.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include <fstream>
#include <sstream>

#include "dev/kernel_netif.h"
#include "stack/sysctl.h"
#include "wire/addresses.h"

namespace usnet::tool {
namespace {

// The process-wide state a signal handler may touch: the flag, and the eventfd it writes
// (write(2) is async-signal-safe).
volatile std::sig_atomic_t g_stop = 0;
int g_stop_fd = -1;

void on_signal(int /*sig*/) {
  g_stop = 1;
  if (g_stop_fd >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_stop_fd, &one, sizeof(one));
  }
}

int run_quiet(const std::vector<std::string>& argv) {
  Child c = spawn(argv, false);
  if (c.pid < 0) return -1;
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

bool stop_requested() {
  return g_stop != 0;
}

void install_stop_handlers() {
  if (g_stop_fd < 0) g_stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

int stop_event_fd() {
  return g_stop_fd;
}

bool configure_peer(const NetOptions& o, const std::string& ifname) {
  std::vector<std::string> peers = o.more_peer_addrs;
  if (!o.peer_addr.empty()) peers.insert(peers.begin(), o.peer_addr);
  if (auto st = kernel_netif_set_mtu(ifname, static_cast<std::size_t>(o.mtu)); !st) {
    std::cerr << "usnet: cannot set MTU on " << ifname << ": " << error_name(st.error()) << "\n";
    return false;
  }
  std::vector<Ipv6Cidr> v6;
  for (const std::string& p : peers) {
    if (p.find(':') != std::string::npos) {
      auto c = Ipv6Cidr::parse(p);
      if (!c) {
        std::cerr << "usnet: bad --peer-addr " << p << "\n";
        return false;
      }
      v6.push_back(*c);  // once the link is up, as `ip -6 addr add` on it
      continue;
    }
    auto c = Ipv4Cidr::parse(p);
    if (!c) {
      std::cerr << "usnet: bad --peer-addr " << p << "\n";
      return false;
    }
    if (auto st = kernel_netif_set_ipv4(ifname, *c); !st) {
      std::cerr << "usnet: cannot configure " << ifname << " with " << p << ": "
                << error_name(st.error()) << "\n";
      return false;
    }
  }
  if (auto st = kernel_netif_set_up(ifname); !st) {
    std::cerr << "usnet: cannot bring up " << ifname << ": " << error_name(st.error()) << "\n";
    return false;
  }
  for (const Ipv6Cidr& c : v6) {
    if (auto st = kernel_netif_add_ipv6(ifname, c); !st) {
      std::cerr << "usnet: cannot configure " << ifname << " with " << c.to_string() << ": "
                << error_name(st.error()) << "\n";
      return false;
    }
  }
  return true;
}

void add_net_options(CLI::App& app, NetOptions& o) {
  app.add_option("--tap", o.tap, "Attach a TAP device of this name (needs root and /dev/net/tun)");
  app.add_option_function<std::vector<std::string>>(
         "--addr",
         [&o](const std::vector<std::string>& v) {
           o.addr = v.front();
           o.more_addrs.assign(v.begin() + 1, v.end());
         },
         "usnet's address on the TAP, as CIDR, IPv4 or IPv6 (198.18.0.2/24, 2001:db8::2/64); "
         "may be given more than once")
      // One value each time: the program's own arguments after `--` are not taken for more.
      ->allow_extra_args(false);
  app.add_option_function<std::vector<std::string>>(
         "--peer-addr",
         [&o](const std::vector<std::string>& v) {
           o.peer_addr = v.front();
           o.more_peer_addrs.assign(v.begin() + 1, v.end());
         },
         "Configure the kernel side of the TAP with this CIDR, IPv4 or IPv6, and bring it up; "
         "may be given more than once")
      ->allow_extra_args(false);
  app.add_option("--gateway", o.gateway, "Default route via this address");
  app.add_option("--netns", o.netns, "Create the TAP inside this (existing) network namespace");
  app.add_option("--mac", o.mac, "usnet's MAC address on the TAP (default: random, local)");
  app.add_option("--mtu", o.mtu, "MTU of the TAP link")->check(CLI::Range(68, 65535));
  app.add_flag("--tap-gro", o.tap_gro,
               "Let the kernel hand over TCP data coalesced into frames of up to 64 KiB "
               "(IFF_VNET_HDR with TSO, as GRO does); the MSS announced still follows --mtu");
  app.add_flag("--trace", o.trace, "Trace every call and packet through the layers (stderr)");
  app.add_option("--pcap", o.pcap, "Record every frame of the TAP into this pcap file");
  app.add_option("--sysctl", o.sysctls,
                 "Set a stack setting under its Linux name, e.g. net.ipv4.tcp_rmem='4096 "
                 "131072 15728640' (repeatable; see `usnet sysctl -a`)");
  app.add_option("--sysctl-file", o.sysctl_file,
                 "Apply settings from a file in sysctl.conf syntax (before any --sysctl)");
}

void print_sysctl_error(const std::string& name, int err) {
  const std::string canon = sysctl_normalize(name);
  if (err == ENOENT && !sysctl_get(Sysctl{}, canon)) {
    std::string path = canon;
    std::replace(path.begin(), path.end(), '.', '/');
    std::cerr << "usnet sysctl: cannot stat /proc/sys/" << path << ": No such file or directory\n";
    return;
  }
  // procps 4 checks a read-only key's mode itself and reports EINVAL for it.
  const int shown = err == EACCES ? EINVAL : err;
  std::cerr << "usnet sysctl: setting key \"" << canon << "\": " << std::strerror(shown) << "\n";
}

bool set_sysctl(usnet_stack* stack, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) {
    std::cerr << "usnet sysctl: \"" << assignment << "\" must be of the form name=value\n";
    return false;
  }
  const std::string name = assignment.substr(0, eq);
  if (usnet_sysctl_set(stack, name.c_str(), assignment.c_str() + eq + 1) < 0) {
    print_sysctl_error(name, errno);
    return false;
  }
  return true;
}

bool load_sysctl_file(
    usnet_stack* stack, const std::string& path,
    const std::function<void(const std::string& name, const std::string& value)>& each) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "usnet sysctl: cannot open \"" << path << "\": " << std::strerror(errno) << "\n";
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  bool ok = true;
  for (const SysctlAssignment& a : sysctl_parse_list(text.str(), '\n')) {
    if (!a.valid) {
      // sysctl(8) goes on after a malformed line.
      std::cerr << "usnet sysctl: " << path << "(" << a.line
                << "): invalid syntax, continuing...\n";
      continue;
    }
    if (usnet_sysctl_set(stack, a.name.c_str(), a.value.c_str()) < 0) {
      if (!a.ignore_errors) {
        print_sysctl_error(a.name, errno);
        ok = false;
      }
      continue;
    }
    if (each) each(sysctl_normalize(a.name), a.value);
  }
  return ok;
}

namespace {

// The --sysctl-file, then each --sysctl, on a stack just made.
bool apply_sysctl_options(const NetOptions& o, usnet_stack* stack) {
  if (!o.sysctl_file.empty() && !load_sysctl_file(stack, o.sysctl_file)) return false;
  return std::all_of(o.sysctls.begin(), o.sysctls.end(),
                     [&](const std::string& a) { return set_sysctl(stack, a); });
}

}  // namespace

void drain_closed_connections(const Host& host) {
  const int left = usnet_stack_drain(host.stack, kDrainAtExitMs);
  if (left > 0) {
    std::cerr << "usnet: exit with " << left << " connection(s) still delivering after "
              << kDrainAtExitMs << " ms\n";
  }
}

Host::~Host() {
  if (rt != nullptr) usnet_runtime_free(rt);
}

bool setup_host(const NetOptions& o, Host& host) {
  if (o.tap.empty()) {
    host.stack = usnet_stack_current();  // the default stack: loopback only
    host.rt = nullptr;
    if (o.trace) usnet_trace(host.stack, 1);
    return apply_sysctl_options(o, host.stack);
  }
  host.rt = usnet_runtime_new();
  host.stack = usnet_stack_new(host.rt, "usnet", 0);
  if (o.trace) usnet_trace(host.stack, 1);
  if (!apply_sysctl_options(o, host.stack)) return false;
  auto attach = [&]() -> bool {
    host.ifindex = usnet_stack_add_tap_flags(host.stack, o.tap.c_str(),
                                             o.mac.empty() ? nullptr : o.mac.c_str(), o.mtu,
                                             o.tap_gro ? USNET_TAP_GRO : 0U);
    if (host.ifindex < 0) {
      std::cerr << "usnet: cannot open TAP " << o.tap << ": " << std::strerror(errno) << "\n";
      return false;
    }
    const char* kname = usnet_stack_tap_name(host.stack, host.ifindex);
    if (!o.peer_addr.empty() && !configure_peer(o, kname)) return false;
    return true;
  };
  const bool ok = o.netns.empty() ? attach() : in_netns(o.netns, attach);
  if (!ok) return false;
  if (!o.pcap.empty() && usnet_stack_capture(host.stack, host.ifindex, o.pcap.c_str()) < 0) {
    std::cerr << "usnet: cannot write " << o.pcap << ": " << std::strerror(errno) << "\n";
    return false;
  }
  std::vector<std::string> addrs = o.more_addrs;
  if (!o.addr.empty()) addrs.insert(addrs.begin(), o.addr);
  for (const std::string& a : addrs) {
    if (usnet_stack_add_address(host.stack, host.ifindex, a.c_str()) < 0) {
      std::cerr << "usnet: cannot add address " << a << ": " << std::strerror(errno) << "\n";
      return false;
    }
  }
  if (!o.gateway.empty() &&
      usnet_stack_add_route(host.stack, "0.0.0.0/0", o.gateway.c_str(), 0) < 0) {
    std::cerr << "usnet: cannot add default route via " << o.gateway << ": " << std::strerror(errno)
              << "\n";
    return false;
  }
  usnet_stack_use(host.stack);
  return true;
}

std::optional<Netns> Netns::create(const std::string& name) {
  if (run_quiet({"ip", "netns", "add", name}) != 0) return std::nullopt;
  return Netns(name);
}

Netns::Netns(Netns&& o) noexcept : name_(std::move(o.name_)) {
  o.name_.clear();
}

Netns::~Netns() {
  if (!name_.empty()) run_quiet({"ip", "netns", "del", name_});
}

bool in_netns(const std::string& name, const std::function<bool()>& fn) {
  const int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const std::string path = "/run/netns/" + name;
  const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    std::cerr << "usnet: cannot enter network namespace " << name << ": " << std::strerror(errno)
              << "\n";
    if (self >= 0) ::close(self);
    if (target >= 0) ::close(target);
    return false;
  }
  const bool ok = fn();
  if (::setns(self, CLONE_NEWNET) != 0) {
    std::cerr << "usnet: cannot return to the original namespace: " << std::strerror(errno) << "\n";
    std::abort();  // continuing in the wrong namespace would be worse than stopping
  }
  ::close(self);
  ::close(target);
  return ok;
}

Child spawn(const std::vector<std::string>& argv, bool capture_stdout) {
  Child c;
  int pipefd[2] = {-1, -1};
  if (capture_stdout && ::pipe2(pipefd, O_CLOEXEC) != 0) return c;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (capture_stdout) {
      ::dup2(pipefd[1], STDOUT_FILENO);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: execvp
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  if (capture_stdout) {
    ::close(pipefd[1]);
    ::fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    c.stdout_fd = pipefd[0];
  }
  c.pid = pid;
  return c;
}

int wait_child(usnet_runtime* rt, Child& child, std::chrono::milliseconds limit,
               const std::function<void()>& each, std::string* output) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  bool exited = false;
  auto drain = [&] {
    if (child.stdout_fd < 0) return;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(child.stdout_fd, buf, sizeof(buf))) > 0) {
      if (output != nullptr) output->append(buf, static_cast<std::size_t>(n));
    }
  };
  while (!exited) {
    if (rt != nullptr) usnet_runtime_poll(rt, 5);
    if (each) each();
    drain();
    const pid_t r = ::waitpid(child.pid, &status, WNOHANG);
    if (r == child.pid) exited = true;
    if (!exited && (stop_requested() || std::chrono::steady_clock::now() > deadline)) {
      ::kill(child.pid, SIGKILL);
      ::waitpid(child.pid, &status, 0);
      drain();
      if (child.stdout_fd >= 0) ::close(child.stdout_fd);
      return -1;
    }
  }
  drain();
  if (child.stdout_fd >= 0) ::close(child.stdout_fd);
  child.stdout_fd = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_tap_privileges(std::string* why) {
  if (::geteuid() != 0) {
    *why = "not running as root";
    return false;
  }
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    *why = "/dev/net/tun is not available";
    return false;
  }
  if (::access("/usr/sbin/ip", X_OK) != 0 && ::access("/sbin/ip", X_OK) != 0 &&
      ::access("/usr/bin/ip", X_OK) != 0) {
    *why = "the `ip` command (iproute2) is not installed";
    return false;
  }
  return true;
}

}  // namespace usnet::tool
