// fork, vfork and the exec family (issue 8 item 5). fork: libc's, whose atfork handlers
// (api/process.cpp) turn the child's inherited usnet descriptors into closed ones; the
// child's new sockets go to the kernel (configured() is false there). vfork is fork: the
// child of a vfork shares the parent's memory, where the handlers would mark the parent's
// descriptors too. exec: usnet sockets do not survive it (their kernel descriptors are
// close-on-exec); the new image gets LD_PRELOAD and the USNET_* variables back even when
// the program passes an environment without them, so it runs on usnet too.
#include <dlfcn.h>
#include <spawn.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "preload/preload.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): unistd.h only with _GNU_SOURCE

using namespace usnet::preload;  // NOLINT(google-build-using-namespace): the C edge

namespace {

// The entries of the environment at load that an exec'd image must see again.
struct CarriedEnv {
  std::vector<std::string> entries;  // "LD_PRELOAD=...", "USNET_TAP=...", ...
  std::string library;               // this library's path (dladdr)
};

CarriedEnv& carried() {
  static auto* c = new CarriedEnv;  // NOLINT: immortal, read by exec at any time
  return *c;
}

bool carried_name(std::string_view entry) {
  return entry.starts_with("LD_PRELOAD=") || entry.starts_with("USNET_");
}

std::string_view name_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

__attribute__((constructor)) void save_environment() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&save_environment), &info) != 0 &&  // NOLINT
      info.dli_fname != nullptr) {
    carried().library = info.dli_fname;
  }
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (carried_name(*e)) carried().entries.emplace_back(*e);
  }
}

// envp plus the carried entries it lacks; an LD_PRELOAD of its own that leaves this
// library out gets it in front. The strings live until exec (or its failure) returns.
class FixedEnv {
 public:
  explicit FixedEnv(char* const* envp) {
    const CarriedEnv& c = carried();
    std::vector<std::string_view> have;
    for (char* const* e = envp; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      if (entry.starts_with("LD_PRELOAD=") && !c.library.empty() &&
          entry.find(c.library) == std::string_view::npos) {
        owned_.push_back("LD_PRELOAD=" + c.library + ":" + std::string(entry.substr(11)));
        ptrs_.push_back(nullptr);  // filled below, once owned_ stops moving
        slots_.push_back(ptrs_.size() - 1);
      } else {
        ptrs_.push_back(*e);
      }
      have.push_back(name_of(entry));
    }
    for (const auto& entry : c.entries) {
      const std::string_view n = name_of(entry);
      bool present = false;
      for (auto h : have)
        present = present || h == n;
      if (!present) ptrs_.push_back(const_cast<char*>(entry.c_str()));  // NOLINT: exec's type
    }
    for (std::size_t i = 0; i < slots_.size(); ++i)
      ptrs_[slots_[i]] = owned_[i].data();
    ptrs_.push_back(nullptr);
  }
  char* const* get() { return ptrs_.data(); }

 private:
  std::vector<std::string> owned_;
  std::vector<std::size_t> slots_;
  std::vector<char*> ptrs_;
};

// The arguments of an execl-style call, up to its terminating null.
std::vector<char*> collect_args(const char* arg0, va_list ap) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(arg0));  // NOLINT: exec's type
  if (arg0 != nullptr) {
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): the caller's va_start
    while (char* a = va_arg(ap, char*))
      argv.push_back(a);
  }
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

extern "C" {

pid_t fork(void) {
  const pid_t pid = real().fork();
  if (pid == 0)
    debug_line("usnet preload: pid %d: forked child: its sockets go to the kernel",
               static_cast<int>(::getpid()));
  return pid;
}

pid_t vfork(void) {
  return fork();
}

int execve(const char* path, char* const argv[], char* const envp[]) {
  FixedEnv env(envp);
  return real().execve(path, argv, env.get());
}

int execv(const char* path, char* const argv[]) {
  return execve(path, argv, environ);
}

int execvpe(const char* file, char* const argv[], char* const envp[]) {
  FixedEnv env(envp);
  return real().execvpe(file, argv, env.get());
}

int execvp(const char* file, char* const argv[]) {
  return execvpe(file, argv, environ);
}

int fexecve(int fd, char* const argv[], char* const envp[]) {
  FixedEnv env(envp);
  return real().fexecve(fd, argv, env.get());
}

int execl(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  std::vector<char*> argv = collect_args(arg, ap);
  va_end(ap);
  return execve(path, argv.data(), environ);
}

int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  std::vector<char*> argv = collect_args(arg, ap);
  va_end(ap);
  return execvpe(file, argv.data(), environ);
}

int execle(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  std::vector<char*> argv = collect_args(arg, ap);
  char* const* envp = va_arg(ap, char* const*);  // after the terminating null
  va_end(ap);
  return execve(path, argv.data(), envp);
}

int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  FixedEnv env(envp);
  return real().posix_spawn(pid, path, actions, attr, argv, env.get());
}

int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                 const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  FixedEnv env(envp);
  return real().posix_spawnp(pid, file, actions, attr, argv, env.get());
}

}  // extern "C"
