// `usnet run [network options] -- PROGRAM ARGS...`: runs an unmodified, dynamically linked
// program on usnet. The tool makes a persistent TAP in the namespace and configures its
// kernel side, then starts PROGRAM there with libusnet_preload.so preloaded and the USNET_*
// variables set (run_env.h); the program's own stack opens the TAP when it first needs
// usnet. The tool waits, forwards the signals a user sends, removes the TAP it made and
// returns the program's exit status (128 + the signal that killed it, as a shell does).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "dev/kernel_netif.h"
#include "elf_check.h"
#include "persistent_tap.h"
#include "run_env.h"
#include "tool_common.h"
#include "wire/addresses.h"

extern char** environ;  // NOLINT: POSIX

namespace usnet::tool {
namespace {

struct RunOptions {
  NetOptions net;
  std::string loopback = "kernel";
  bool counters = false;
  std::vector<std::string> argv;
};

// The signals a user sends to end or reload a program: passed on to it.
constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// The kernel side of the TAP: created persistent and configured, in the namespace.
bool make_tap(const RunOptions& o, bool* created) {
  std::string error;
  auto setup = [&]() -> bool {
    if (!tap_create_persistent(o.net.tap, created, &error)) return false;
    if (o.net.peer_addr.empty()) return true;
    return configure_peer(o.net, o.net.tap);  // says what failed
  };
  const bool ok = o.net.netns.empty() ? setup() : in_netns(o.net.netns, setup);
  if (!ok && !error.empty()) std::cerr << "usnet run: " << error << "\n";
  return ok;
}

void remove_tap(const RunOptions& o) {
  std::string error;
  auto remove = [&] { return tap_remove_persistent(o.net.tap, &error); };
  const bool ok = o.net.netns.empty() ? remove() : in_netns(o.net.netns, remove);
  if (!ok) std::cerr << "usnet run: " << error << "\n";
}

std::string self_exe() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).string();
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    env.emplace_back(*e);
  return env;
}

// In the forked child: the namespace, the signal mask the tool blocked, then exec. Only
// async-signal-safe calls from here on (the tool may have threads: CLI11 does not, but
// be safe), so everything was prepared before fork.
[[noreturn]] void exec_child(int netns_fd, const sigset_t& old_mask, char* const* argv,
                             char* const* envp) {
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
    constexpr char msg[] = "usnet run: cannot enter the network namespace\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(126);
  }
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ::execvpe(argv[0], argv, envp);
  const int err = errno;
  constexpr char msg[] = "usnet run: cannot execute the program\n";
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  _exit(err == ENOENT ? 127 : 126);
}

// Waits for the child, forwarding what a user sends. A signal the kernel generated for the
// terminal (Ctrl-C: si_code SI_KERNEL) reached the child too, through its process group,
// so it is not sent twice (as sudo(8) does).
int wait_forwarding(pid_t pid, int sfd) {
  for (;;) {
    signalfd_siginfo si{};
    const ssize_t n = ::read(sfd, &si, sizeof(si));
    if (n != static_cast<ssize_t>(sizeof(si))) {
      if (n < 0 && errno == EINTR) continue;
      // Cannot read signals: fall back to a plain wait.
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }
    if (si.ssi_signo == SIGCHLD) {
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid && (WIFEXITED(status) || WIFSIGNALED(status))) return status;
      continue;
    }
    const bool from_tty = si.ssi_code == SI_KERNEL;
    if (!from_tty && static_cast<pid_t>(si.ssi_pid) != pid) {
      ::kill(pid, static_cast<int>(si.ssi_signo));
    }
  }
}

void print_counters(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().empty()) {
    std::cerr << "usnet run: the program wrote no counters (its stack never started)\n";
  } else {
    std::cerr << text.str();
  }
}

int run_program(RunOptions o) {
  if (o.argv.empty()) {
    std::cerr << "usnet run: no program given (usnet run [options] -- PROGRAM ARGS...)\n";
    return 2;
  }
  if (o.loopback != "kernel" && o.loopback != "usnet") {
    std::cerr << "usnet run: --loopback is kernel or usnet\n";
    return 2;
  }
  const char* path_env = std::getenv("PATH");
  const ProgramCheck check = check_program(
      o.argv[0], path_env != nullptr ? path_env : "/usr/bin:/bin", current_credentials());
  switch (check.verdict) {
    case ProgramVerdict::kOk:
    case ProgramVerdict::kNotElf:  // execve decides (ENOEXEC), as a shell would
      break;
    case ProgramVerdict::kNotFound:
      std::cerr << "usnet run: " << o.argv[0] << ": command not found\n";
      return 127;
    case ProgramVerdict::kStatic:
    case ProgramVerdict::kSecureExec:
    case ProgramVerdict::kGo:
      std::cerr << "usnet run: refusing " << check.path << ": it " << check.reason
                << ". Its sockets would silently stay on the kernel.\n";
      return 126;
  }

  const char* override_env = std::getenv("USNET_PRELOAD");
  const std::string preload =
      find_preload_library(override_env != nullptr ? override_env : "", self_exe(),
                           USNET_TOOL_LIBDIR_REL, USNET_TOOL_PRELOAD_BUILD_REL);
  if (preload.empty()) {
    std::cerr << "usnet run: cannot find libusnet_preload.so (set USNET_PRELOAD to its path)\n";
    return 2;
  }
  if (preload.find_first_of(": ") != std::string::npos) {
    std::cerr << "usnet run: the library path " << preload
              << " contains ':' or ' ', which LD_PRELOAD cannot carry\n";
    return 2;
  }
  std::string why;
  if (!have_tap_privileges(&why)) {
    std::cerr << "usnet run: cannot make a TAP device: " << why << "\n";
    return 2;
  }

  // The counters file: made here (mkstemp) so that no other user can place one first.
  std::string counters_path;
  if (o.counters) {
    char tmpl[] = "/tmp/usnet-run-counters-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) {
      std::cerr << "usnet run: cannot make a counters file: " << std::strerror(errno) << "\n";
      return 2;
    }
    ::close(fd);
    counters_path = tmpl;
  }

  int netns_fd = -1;
  if (!o.net.netns.empty()) {
    netns_fd = ::open(("/run/netns/" + o.net.netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      std::cerr << "usnet run: no network namespace " << o.net.netns << ": " << std::strerror(errno)
                << "\n";
      return 2;
    }
  }
  // Settings are checked here, on the tool's own scratch stack, so a bad name or value is
  // refused with sysctl(8)'s message before the program starts; the program's stack
  // applies the same through USNET_SYSCTL_FILE and USNET_SYSCTL (file first).
  std::string sysctl_list;
  {
    usnet_stack* scratch = usnet_stack_current();
    bool ok = o.net.sysctl_file.empty() || load_sysctl_file(scratch, o.net.sysctl_file);
    for (const std::string& a : o.net.sysctls) {
      ok = set_sysctl(scratch, a) && ok;
      if (a.find(';') != std::string::npos) {
        std::cerr << "usnet run: --sysctl " << a << ": a value cannot hold ';'\n";
        ok = false;
      }
      if (!sysctl_list.empty()) sysctl_list += ';';
      sysctl_list += a;
    }
    if (!ok) {
      if (netns_fd >= 0) ::close(netns_fd);
      return 2;
    }
  }
  bool created = false;
  if (!make_tap(o, &created)) {
    if (netns_fd >= 0) ::close(netns_fd);
    return 2;
  }

  RunEnv env;
  env.preload = preload;
  env.tap = o.net.tap;
  // USNET_ADDR holds every --addr, comma-separated (src/preload/README.md).
  env.addr = o.net.addr;
  for (const std::string& a : o.net.more_addrs)
    env.addr += "," + a;
  env.gateway = o.net.gateway;
  env.mac = o.net.mac;
  env.mtu = o.net.mtu;
  env.tap_gro = o.net.tap_gro;
  env.loopback = o.loopback;
  env.trace = o.net.trace;
  env.pcap = o.net.pcap.empty() ? "" : std::filesystem::absolute(o.net.pcap).string();
  env.counters = counters_path;
  env.sysctl = sysctl_list;
  env.sysctl_file =
      o.net.sysctl_file.empty() ? "" : std::filesystem::absolute(o.net.sysctl_file).string();
  std::vector<std::string> envs = run_environment(current_environment(), env);
  std::vector<char*> envp;
  envp.reserve(envs.size() + 1);
  for (auto& e : envs)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  argv.reserve(o.argv.size() + 1);
  for (auto& a : o.argv)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  // Signals arrive through a signalfd: blocked here, unblocked in the child before exec.
  sigset_t mask;
  sigset_t old_mask;
  sigemptyset(&mask);
  for (int s : kForwarded)
    sigaddset(&mask, s);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);

  int status = 0;
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(netns_fd, old_mask, argv.data(), envp.data());
  if (pid < 0) {
    std::cerr << "usnet run: fork: " << std::strerror(errno) << "\n";
    status = 2 << 8;
  } else {
    status = wait_forwarding(pid, sfd);
  }
  if (sfd >= 0) ::close(sfd);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (netns_fd >= 0) ::close(netns_fd);

  if (o.counters) {
    print_counters(counters_path);
    ::unlink(counters_path.c_str());
  }
  if (created) remove_tap(o);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

}  // namespace

void register_run(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run an unmodified program on usnet (LD_PRELOAD): usnet run [options] -- PROGRAM ARGS...");
  add_net_options(*cmd, opts->net);
  cmd->add_option("--loopback", opts->loopback,
                  "Where 127/8 goes: kernel (default, reaches local services) or usnet");
  cmd->add_flag("--counters", opts->counters, "Print the program's stack counters when it exits");
  cmd->add_option("command", opts->argv, "The program and its arguments, after --")->required();
  cmd->callback([opts] {
    RunOptions o = *opts;
    // Defaults for a run without network options: a TAP in the current namespace on a
    // benchmarking-range subnet (RFC 2544), usnet at .2 and the kernel at .1.
    if (o.net.tap.empty()) o.net.tap = "usnet0";
    if (o.net.addr.empty()) o.net.addr = "198.18.0.2/24";
    if (o.net.peer_addr.empty()) o.net.peer_addr = "198.18.0.1/24";
    throw CLI::RuntimeError(run_program(std::move(o)));
  });
}

}  // namespace usnet::tool
