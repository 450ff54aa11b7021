// What `usnet run` checks before it preloads usnet into a program: LD_PRELOAD is honoured
// only by the dynamic loader, and not in secure-execution mode (ld.so(8), "Secure-execution
// mode"), and a Go binary makes its socket calls with its own system calls (Go's syscall
// package), so none of them would reach usnet. Parsed from the ELF headers (elf(5)) with
// every offset bounds-checked: the file is the user's and may be anything.
#pragma once

#include <sys/types.h>

#include <string>

namespace usnet::tool {

enum class ProgramVerdict {
  kOk,          // dynamically linked ELF (or a script whose interpreter is)
  kNotFound,    // no such file, or not executable, on PATH
  kNotElf,      // neither ELF nor a #! script: left to execve to judge
  kStatic,      // no PT_INTERP: the dynamic loader never runs, LD_PRELOAD is ignored
  kSecureExec,  // setuid/setgid changing credentials, or file capabilities
  kGo,          // a Go program (.go.buildinfo or runtime.* symbols)
};

struct ProgramCheck {
  ProgramVerdict verdict = ProgramVerdict::kOk;
  std::string path;    // the file the verdict is about (the interpreter, for a script)
  std::string reason;  // one line for the user, empty when kOk
};

// The credentials the check compares a setuid/setgid file with: the real ids of the process
// that will exec it (secure-execution mode starts when exec changes them, execve(2)).
struct Credentials {
  uid_t uid;
  gid_t gid;
  bool privileged;  // euid 0: file capabilities add nothing to a root process
};
Credentials current_credentials();

// `program` as execvp(3) finds it (a name without '/' searched on `path_env`). A #! script
// is judged by its interpreter (and `env NAME` by NAME), at most a few levels deep.
ProgramCheck check_program(const std::string& program, const std::string& path_env,
                           const Credentials& creds);

// The ELF part alone, for a file already found: kOk, kNotElf, kStatic or kGo.
ProgramCheck check_elf_file(const std::string& path);

// execvp's search: the first executable regular file named `name` on `path_env`; `name`
// itself if it contains '/'; empty if none.
std::string find_on_path(const std::string& name, const std::string& path_env);

}  // namespace usnet::tool
