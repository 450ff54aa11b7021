// Interop tests put a usnet host (the `usnet` tool) on a TAP inside a network namespace the
// test creates, and use the Linux kernel in that namespace as the peer. Hygiene
// (DESIGN.md): namespaces are named usnet-it-<pid>-<n>, addresses come from 198.18.0.0/15,
// nothing is routed out, everything is deleted in TearDown, and only the processes the test
// started are signalled, by pid. A test killed from outside never reaches TearDown, so each
// test process first deletes the usnet-it-<pid>-<n> namespaces whose <pid> is gone.
//
// Without root, /dev/net/tun or iproute2 the tests are skipped with a loud message.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace usnet::interop {

inline bool can_run(std::string* why) {
  if (::geteuid() != 0) {
    *why = "not running as root";
  } else if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
    *why = "/dev/net/tun is missing";
  } else if (std::system("ip netns list >/dev/null 2>&1") != 0) {
    *why = "`ip netns` (iproute2) does not work here";
  } else {
    return true;
  }
  return false;
}

#define USNET_REQUIRE_INTEROP()                                                   \
  do {                                                                            \
    std::string why_;                                                             \
    if (!::usnet::interop::can_run(&why_)) {                                      \
      std::fprintf(stderr,                                                        \
                   "\n*** SKIPPED INTEROP TEST: %s. Interop tests need root and " \
                   "/dev/net/tun; they did NOT run. ***\n\n",                     \
                   why_.c_str());                                                 \
      GTEST_SKIP() << "interop test not run: " << why_;                           \
    }                                                                             \
  } while (0)

// Runs a command to completion; returns its exit status and (optionally) its stdout.
inline int run(const std::vector<std::string>& argv, std::string* out = nullptr,
               int timeout_s = 60) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(pipefd[1]);
  std::string buf;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    pollfd p{pipefd[0], POLLIN, 0};
    ::poll(&p, 1, 100);
    char tmp[4096];
    const ssize_t n = ::read(pipefd[0], tmp, sizeof(tmp));
    if (n > 0) {
      buf.append(tmp, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out != nullptr) *out = buf;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The pid in a namespace name `<prefix><pid>` or `<prefix><pid>-<anything>`, or -1 when the
// name is not of that form (then it is someone else's and never touched).
inline pid_t namespace_pid(std::string_view name, std::string_view prefix) {
  if (!prefix.starts_with("usnet-") || !name.starts_with(prefix)) return -1;
  name.remove_prefix(prefix.size());
  const std::size_t digits = name.find_first_not_of("0123456789");
  const std::string_view pid = name.substr(0, digits);
  if (pid.empty() || pid.size() > 9 || pid.front() == '0') return -1;
  if (digits != std::string_view::npos && name[digits] != '-') return -1;
  return static_cast<pid_t>(std::stol(std::string(pid)));
}

// The names `ip netns list` shows (each line is "NAME" or "NAME (id: N)").
inline std::vector<std::string> namespace_names() {
  std::vector<std::string> names;
  std::string list;
  if (run({"ip", "netns", "list"}, &list) != 0) return names;
  std::istringstream lines(list);
  for (std::string line; std::getline(lines, line);)
    names.push_back(line.substr(0, line.find(' ')));
  return names;
}

// Deletes the namespaces named `<prefix><pid>[-...]` whose process no longer exists
// (kill(pid, 0) fails with ESRCH: pids of this machine's pid namespace, where the tests run),
// that is, those a test run killed before its TearDown left behind. A namespace of a live
// process, or one named otherwise, stays (so does one whose process is a zombie not yet
// reaped: the next run sweeps it). Processes `ip netns pids` still finds in a swept namespace
// were started by the dead run, not by us: they are named, not signalled. Returns the names
// deleted.
inline std::vector<std::string> sweep_dead_namespaces(std::string_view prefix) {
  std::vector<std::string> swept;
  for (const std::string& name : namespace_names()) {
    const pid_t pid = namespace_pid(name, prefix);
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::string pids;
    run({"ip", "netns", "pids", name}, &pids);
    std::replace(pids.begin(), pids.end(), '\n', ' ');
    if (run({"ip", "netns", "del", name}) != 0) continue;
    std::fprintf(stderr, "interop: deleted namespace %s left by dead test process %d%s%s\n",
                 name.c_str(), static_cast<int>(pid),
                 pids.empty() ? "" : "; processes still in it, left running: ", pids.c_str());
    swept.push_back(name);
  }
  return swept;
}

// A namespace for one test, with a `usnet` tool process inside it on a TAP.
class NetnsFixture : public ::testing::Test {
 public:
  static constexpr const char* kNamespacePrefix = "usnet-it-";

 protected:
  static constexpr const char* kKernelAddr = "198.18.3.1";
  static constexpr const char* kUsnetAddr = "198.18.3.2";

  void SetUp() override {
    USNET_REQUIRE_INTEROP();
    static bool swept = false;  // once per test process, before its first namespace
    if (!swept) {
      sweep_dead_namespaces(kNamespacePrefix);
      swept = true;
    }
    static int counter = 0;
    ns_ = kNamespacePrefix + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    ASSERT_EQ(run({"ip", "netns", "add", ns_}), 0) << "cannot create namespace " << ns_;
    created_ = true;
    ASSERT_EQ(run({"ip", "-n", ns_, "link", "set", "lo", "up"}), 0);
  }

  void TearDown() override {
    stop_tool();
    for (pid_t pid : bg_) {
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    bg_.clear();
    if (created_) run({"ip", "netns", "del", ns_});
  }

  // The tool's arguments for the TAP in this test's namespace.
  std::vector<std::string> tool_argv(std::vector<std::string> args) const {
    args.insert(args.begin(), USNET_TOOL_PATH);
    for (const char* a : {"--netns", ns_.c_str(), "--tap", "ut0", "--addr", "198.18.3.2/24",
                          "--peer-addr", "198.18.3.1/24"}) {
      args.emplace_back(a);
    }
    return args;
  }

  // Runs a `usnet` subcommand to completion (a client), with its stdout in *out.
  int run_tool(const std::vector<std::string>& args, std::string* out = nullptr,
               int timeout_s = 120) {
    return run(tool_argv(args), out, timeout_s);
  }

  // Starts a kernel-side program in the namespace in the background; it is killed (by
  // pid) in TearDown unless waited for with wait_bg.
  pid_t spawn_in_ns(const std::vector<std::string>& argv) { return spawn_in(ns_, argv); }

  // The same in any namespace (tests that make a second one), optionally with stdout
  // going to the file `out`.
  pid_t spawn_in(const std::string& ns, const std::vector<std::string>& argv,
                 const std::string& out = {}) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (!out.empty()) {
        const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0) _exit(126);
      }
      std::vector<std::string> full = {"ip", "netns", "exec", ns};
      full.insert(full.end(), argv.begin(), argv.end());
      std::vector<char*> args;
      args.reserve(full.size() + 1);
      for (auto& a : full)
        args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      _exit(127);
    }
    if (pid > 0) bg_.push_back(pid);
    return pid;
  }

  // Waits up to timeout_s for a background program; its exit status, or -1.
  int wait_bg(pid_t pid, int timeout_s) {
    int status = 0;
    for (int i = 0; i < timeout_s * 10; ++i) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        std::erase(bg_, pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      ::usleep(100'000);
    }
    return -1;
  }

  // Stops the tool and returns what it printed after becoming ready (counters, sockets).
  std::string stop_tool_and_read() {
    std::string rest;
    if (tool_pid_ > 0) {
      ::kill(tool_pid_, SIGTERM);
      char buf[4096];
      for (int i = 0; i < 100; ++i) {
        pollfd p{tool_out_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::read(tool_out_, buf, sizeof(buf));
        if (n <= 0) break;
        rest.append(buf, static_cast<std::size_t>(n));
      }
    }
    stop_tool();
    return rest;
  }

  std::vector<pid_t> bg_;

  // Starts `usnet <args...> --netns NS --tap ut0 --addr .2/24 --peer-addr .1/24` and waits
  // until it prints a line containing `ready_marker`.
  void start_tool(std::vector<std::string> args, const std::string& ready_marker) {
    args.insert(args.begin(), USNET_TOOL_PATH);
    for (const char* a : {"--netns", ns_.c_str(), "--tap", "ut0", "--addr", "198.18.3.2/24",
                          "--peer-addr", "198.18.3.1/24"}) {
      args.emplace_back(a);
    }
    int pipefd[2];
    ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
    tool_pid_ = ::fork();
    if (tool_pid_ == 0) {
      ::dup2(pipefd[1], STDOUT_FILENO);
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(pipefd[1]);
    tool_out_ = pipefd[0];
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (seen.find(ready_marker) == std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "tool not ready: " << seen;
      pollfd p{tool_out_, POLLIN, 0};
      ::poll(&p, 1, 100);
      char buf[1024];
      const ssize_t n = ::read(tool_out_, buf, sizeof(buf));
      if (n > 0) seen.append(buf, static_cast<std::size_t>(n));
      ASSERT_NE(n, 0) << "tool exited: " << seen;
    }
  }

  void stop_tool() {
    if (tool_pid_ <= 0) return;
    ::kill(tool_pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(tool_pid_, &status, WNOHANG) == tool_pid_) {
        tool_pid_ = -1;
        break;
      }
      ::usleep(100'000);
    }
    if (tool_pid_ > 0) {
      ::kill(tool_pid_, SIGKILL);
      ::waitpid(tool_pid_, &status, 0);
      tool_pid_ = -1;
    }
    if (tool_out_ >= 0) ::close(tool_out_);
    tool_out_ = -1;
  }

  // Runs a command inside the namespace (as the kernel's own program).
  int in_ns(std::vector<std::string> argv, std::string* out = nullptr, int timeout_s = 60) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", ns_});
    return run(argv, out, timeout_s);
  }

  // Waits until a kernel socket of the namespace listens on TCP `port` (`ss -Hltn`), so a
  // test starts its client only once the kernel-side server can take it. False (with the
  // reason printed) after timeout_s or if `server` (when given) exited first.
  bool wait_kernel_listening(int port, pid_t server = -1, int timeout_s = 10) {
    return wait_listening_in(ns_, port, server, timeout_s);
  }

  // The same in any namespace (tests that make a second one).
  bool wait_listening_in(const std::string& ns, int port, pid_t server, int timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    const std::string filter = "sport = :" + std::to_string(port);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string out;
      if (run({"ip", "netns", "exec", ns, "ss", "-Hltn", filter}, &out, 5) == 0 &&
          out.find("LISTEN") != std::string::npos) {
        return true;
      }
      int status = 0;
      if (server > 0 && ::waitpid(server, &status, WNOHANG) == server) {
        std::erase(bg_, server);
        std::fprintf(stderr, "the server for port %d exited before it listened\n", port);
        return false;
      }
      ::usleep(10'000);  // between two looks at the socket table
    }
    std::fprintf(stderr, "nothing listens on port %d in %s after %d s\n", port, ns.c_str(),
                 timeout_s);
    return false;
  }

  // Reads what the running tool printed, until `marker` has appeared in *seen or timeout_s
  // passed; true if it appeared.
  bool read_tool_until(const std::string& marker, std::string* seen, int timeout_s = 10) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (seen->find(marker) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || tool_out_ < 0) return false;
      pollfd p{tool_out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(tool_out_, buf, sizeof(buf));
      if (n <= 0) return seen->find(marker) != std::string::npos;
      seen->append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  std::string ns_;
  bool created_ = false;
  pid_t tool_pid_ = -1;
  int tool_out_ = -1;
};

}  // namespace usnet::interop
