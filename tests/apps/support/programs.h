// The fixture of the program tests (programs_test.cpp): unmodified Debian programs on usnet
// through `usnet run` in a namespace the test creates, with the kernel of that namespace as
// their peer. `usnet run` makes the TAP (pr0) and gives its kernel side 198.18.3.1/24;
// usnet is 198.18.3.2/24 (and, for the IPv6 tests, 2001:db8:3::1/64 and ::2/64). Every process the
// test starts is ended by pid: a `usnet run` gets SIGTERM (which it forwards to its program) and,
// if it has not exited 5 s later, its program and then itself get SIGKILL.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "interop/support/interop.h"

namespace usnet::apps {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first child of process `pid` (the program a `usnet run` started), or -1.
inline pid_t first_child(pid_t pid) {
  const std::string p =
      "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  std::istringstream in(slurp(p));
  pid_t c = -1;
  in >> c;
  return c;
}

class ProgramsFixture : public interop::NetnsFixture {
 protected:
  static constexpr const char* kTap = "pr0";
  static constexpr const char* kKernel = "198.18.3.1";
  static constexpr const char* kUsnet = "198.18.3.2";
  // With ipv6_ set, `usnet run` gives both sides an IPv6 address too.
  static constexpr const char* kKernel6 = "2001:db8:3::1";
  static constexpr const char* kUsnet6 = "2001:db8:3::2";

  void SetUp() override {
    NetnsFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ::setenv("USNET_PRELOAD", USNET_PRELOAD_LIB, 1);
    dir_ = "/tmp/usnet-apps-" + std::to_string(::getpid()) + "-" + ns_;
    std::filesystem::create_directories(dir_);
  }

  void TearDown() override {
    for (pid_t pid : runs_)
      stop_run(pid);
    runs_.clear();
    NetnsFixture::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // `usnet run` for this namespace, with environment variables `env` (NAME=VALUE) for it.
  std::vector<std::string> on_usnet(const std::vector<std::string>& args,
                                    const std::vector<std::string>& env = {}) const {
    std::vector<std::string> v = {"env"};
    v.insert(v.end(), env.begin(), env.end());
    for (const char* a : {USNET_TOOL_PATH, "run", "--netns"})
      v.emplace_back(a);
    v.push_back(ns_);
    for (const std::string& a :
         {std::string("--tap"), std::string(kTap), std::string("--addr"),
          std::string(kUsnet) + "/24", std::string("--peer-addr"), std::string(kKernel) + "/24"}) {
      v.push_back(a);
    }
    if (ipv6_) {
      for (const std::string& a : {std::string("--addr"), std::string(kUsnet6) + "/64",
                                   std::string("--peer-addr"), std::string(kKernel6) + "/64"}) {
        v.push_back(a);
      }
    }
    v.emplace_back("--");
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }

  // Runs a program on usnet to completion; its stdout and stderr in *out.
  int run_usnet(const std::vector<std::string>& args, std::string* out, int timeout_s = 60,
                const std::vector<std::string>& env = {}) {
    std::vector<std::string> v = {"sh", "-c", "exec \"$@\" 2>&1", "sh"};
    const auto u = on_usnet(args, env);
    v.insert(v.end(), u.begin(), u.end());
    return interop::run(v, out, timeout_s);
  }

  // Runs a kernel program in the namespace to completion, stdout and stderr in *out.
  int run_kernel(const std::vector<std::string>& args, std::string* out, int timeout_s = 60) {
    std::vector<std::string> v = {"sh", "-c", "exec \"$@\" 2>&1", "sh"};
    v.insert(v.end(), args.begin(), args.end());
    return in_ns(v, out, timeout_s);
  }

  // Starts a program on usnet in the background, stdout and stderr into *log (a file).
  pid_t start_usnet(const std::vector<std::string>& args, std::string* log,
                    const std::vector<std::string>& env = {}) {
    *log = dir_ + "/run" + std::to_string(runs_.size()) + ".log";
    const auto argv = on_usnet(args, env);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0 || ::dup2(fd, STDERR_FILENO) < 0 ||
          ::dup2(devnull, STDIN_FILENO) < 0) {
        _exit(126);
      }
      std::vector<char*> a;
      for (const auto& s : argv)
        a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      ::execvp(a[0], a.data());
      _exit(127);
    }
    if (pid > 0) runs_.push_back(pid);
    return pid;
  }

  // The exit status of a background `usnet run` (as a shell reports it: 128+signal), or -1
  // if it has not ended within timeout_ms.
  int wait_run(pid_t pid, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    for (;;) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        std::erase(runs_, pid);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      if (std::chrono::steady_clock::now() > deadline) return -1;
      ::usleep(2'000);  // the exit is what is measured: look often
    }
  }

  void stop_run(pid_t pid) {
    const pid_t program = first_child(pid);  // `env` execs the tool: pid is the tool
    ::kill(pid, SIGTERM);
    if (wait_run(pid, 5000) >= 0) return;
    if (program > 0) ::kill(program, SIGKILL);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::erase(runs_, pid);
  }

  // Connects from the namespace's kernel to ip:port until the connection is accepted (a
  // server on usnet listens: nothing can show its socket to `ss`), as a client would. The
  // probe connection is closed at once; servers that take one connection only are waited
  // for with wait_blocked instead. False after timeout_s or if `run` exited.
  bool wait_usnet_listening(const char* ip, int port, pid_t run, int timeout_s = 10) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe_connect(ip, port)) return true;
      int status = 0;
      if (run > 0 && ::waitpid(run, &status, WNOHANG) == run) {
        std::erase(runs_, run);
        std::fprintf(stderr, "the program for port %d exited before it listened\n", port);
        return false;
      }
      ::usleep(20'000);  // between two connection attempts
    }
    std::fprintf(stderr, "nothing accepts on %s:%d after %d s\n", ip, port, timeout_s);
    return false;
  }

  // Waits until the program of `run` has started its stack (a second thread: usnet's) and
  // its main thread sleeps in the same system call on two looks 20 ms apart: it is blocked
  // (in accept, recv, ...) rather than on its way there.
  bool wait_blocked(pid_t run, int timeout_s = 10) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t prog = first_child(run);
      if (prog > 0) {
        const std::string base = "/proc/" + std::to_string(prog) + "/task/";
        std::error_code ec;
        std::size_t threads = 0;
        for (auto it = std::filesystem::directory_iterator(base, ec);
             !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
          ++threads;
        }
        std::istringstream stat(slurp(base + std::to_string(prog) + "/stat"));
        std::string field;
        std::string state;
        for (int i = 0; i < 3 && stat >> field; ++i)
          state = field;
        const std::string sc = slurp(base + std::to_string(prog) + "/syscall");
        const std::string now = sc.substr(0, sc.find(' '));
        if (threads >= 2 && state == "S" && now == last && now != "running") return true;
        last = state == "S" ? now : "";
      }
      ::usleep(20'000);  // the two looks
    }
    return false;
  }

  // A file of `size` bytes of seeded pseudo-random content in the test's directory.
  std::string make_file(const std::string& name, std::size_t size) {
    const std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary);
    std::mt19937_64 rng(size);
    std::vector<std::uint64_t> block(1 << 16);
    for (std::size_t done = 0; done < size;) {
      for (auto& w : block)
        w = rng();
      const std::size_t n = std::min(size - done, block.size() * sizeof(std::uint64_t));
      out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
      done += n;
    }
    return path;
  }

  // The SHA-256 of a file (sha256sum), or "" if it cannot be read.
  static std::string digest(const std::string& path) {
    std::string out;
    if (interop::run({"sha256sum", path}, &out) != 0) return "";
    return out.substr(0, out.find(' '));
  }

  std::string dir_;
  std::vector<pid_t> runs_;
  bool ipv6_ = false;  // on_usnet adds the IPv6 addresses above

 private:
  // One kernel connect() from inside the namespace (a forked child enters it: the test's
  // own threads stay where they are).
  bool probe_connect(const char* ip, int port) const {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int nsfd = ::open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC);
      if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) _exit(2);
      const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(port));
      ::inet_pton(AF_INET, ip, &a.sin_addr);
      // A SYN that goes unanswered (the TAP not yet opened) gives up after 1 s.
      timeval tv{1, 0};
      ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      _exit(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
};

}  // namespace usnet::apps
