// What the `usnet` subcommands share: network options (TAP, addresses, namespace), the
// stop flag set by SIGINT/SIGTERM, network namespaces the tool creates and removes, and
// child processes run while the runtime keeps the stack going.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "usnet/usnet.h"

namespace usnet::tool {

// Set by SIGINT/SIGTERM; every loop of the tool checks it.
bool stop_requested();
void install_stop_handlers();
// A kernel eventfd that becomes readable when SIGINT/SIGTERM arrives (after
// install_stop_handlers), so an event loop wakes in its epoll set instead of polling the flag.
int stop_event_fd();

// Options that put a usnet host on a TAP device.
struct NetOptions {
  std::string tap;                      // TAP name; empty: no TAP (loopback-only default stack)
  std::string addr;                     // usnet's address on the TAP, CIDR (the first --addr)
  std::vector<std::string> more_addrs;  // further --addr CIDRs (IPv4 or IPv6)
  std::string peer_addr;  // the kernel side's address on the TAP, CIDR (configured if set)
  std::vector<std::string> more_peer_addrs;  // further --peer-addr CIDRs (IPv4 or IPv6)
  std::string gateway;                       // default route via this address
  std::string netns;                         // create the TAP inside this existing namespace
  std::string mac;
  int mtu = 1500;
  bool tap_gro = false;  // --tap-gro: USNET_TAP_GRO (the kernel's TCP segments coalesced)
  bool trace = false;
  std::string pcap;
  std::vector<std::string> sysctls;  // --sysctl NAME=VALUE, in order
  std::string sysctl_file;           // --sysctl-file FILE (sysctl.conf syntax), applied first
};
void add_net_options(CLI::App& app, NetOptions& o);
// Configures the kernel side of TAP `ifname` in the calling thread's namespace: the MTU,
// every --peer-addr (IPv4 or IPv6), and up. Prints what failed; false then.
bool configure_peer(const NetOptions& o, const std::string& ifname);

// Prints why setting `name` failed with `err`, as sysctl(8) words it ("cannot stat
// /proc/sys/...: No such file or directory", "setting key \"...\": Invalid argument").
void print_sysctl_error(const std::string& name, int err);
// Sets one NAME=VALUE on the stack; prints the error and returns false if it fails.
bool set_sysctl(usnet_stack* stack, const std::string& assignment);
// Applies a sysctl.conf file, line by line; `each` hears of every setting applied. Prints
// every error; false if there was one.
bool load_sysctl_file(
    usnet_stack* stack, const std::string& path,
    const std::function<void(const std::string& name, const std::string& value)>& each = {});

// A runtime and stack set up as the options say. Prints the reason and returns false on
// failure.
struct Host {
  usnet_runtime* rt = nullptr;
  usnet_stack* stack = nullptr;
  int ifindex = 0;
  ~Host();
};
bool setup_host(const NetOptions& o, Host& host);
// Before a client command returns: the stack lives in this process, so what its closed
// connections still owe the peer (data, a FIN lost on the way) goes only while it runs.
// Waits up to kDrainAtExitMs for it, as the preload's USNET_EXIT_WAIT_MS default does.
inline constexpr int kDrainAtExitMs = 5000;
void drain_closed_connections(const Host& host);

// A network namespace this process created (`ip netns add`); deleted by the destructor.
class Netns {
 public:
  static std::optional<Netns> create(const std::string& name);
  Netns(Netns&& o) noexcept;
  Netns& operator=(Netns&&) = delete;
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns();
  const std::string& name() const { return name_; }

 private:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// Runs `fn` with the calling thread inside namespace `name` (setns), then returns to the
// namespace it was in. False if the namespace cannot be entered.
bool in_netns(const std::string& name, const std::function<bool()>& fn);

// A child process started by the tool; waited for while the runtime runs.
struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;  // read end of its stdout, if captured
};
Child spawn(const std::vector<std::string>& argv, bool capture_stdout);
// Runs the runtime (and `each`, if given, on every turn) until the child exits or `limit`
// passes (then the child is killed). Returns its exit status, or -1.
int wait_child(usnet_runtime* rt, Child& child, std::chrono::milliseconds limit,
               const std::function<void()>& each = {}, std::string* output = nullptr);

// True if this process may create TAP devices and namespaces.
bool have_tap_privileges(std::string* why);

}  // namespace usnet::tool
