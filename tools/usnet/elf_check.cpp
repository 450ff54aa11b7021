#include "elf_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <optional>
#include <span>
#include <sstream>
#include <string_view>
#include <vector>

namespace usnet::tool {
namespace {

// A read-only mapping of a whole file; empty if it cannot be mapped.
class Mapped {
 public:
  explicit Mapped(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p =
          ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const std::byte*>(p);
        size_ = static_cast<std::size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~Mapped() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// A copy of the `T` at `off`, if the file holds all of it (the mapping need not be aligned
// for T, so never a cast in place).
template <typename T>
std::optional<T> read_at(std::span<const std::byte> f, std::uint64_t off) {
  if (off > f.size() || f.size() - off < sizeof(T)) return std::nullopt;
  T v;
  std::memcpy(&v, f.data() + off, sizeof(T));
  return v;
}

// The NUL-terminated string at `off` inside the table [tab_off, tab_off + tab_size), if it
// ends inside it.
std::optional<std::string_view> string_at(std::span<const std::byte> f, std::uint64_t tab_off,
                                          std::uint64_t tab_size, std::uint64_t off) {
  if (tab_off > f.size() || tab_size > f.size() - tab_off || off >= tab_size) return std::nullopt;
  const char* base = reinterpret_cast<const char*>(f.data() + tab_off);
  const void* nul = std::memchr(base + off, '\0', tab_size - off);
  if (nul == nullptr) return std::nullopt;
  return std::string_view(base + off, static_cast<const char*>(nul) - (base + off));
}

struct Elf64 {
  using Ehdr = Elf64_Ehdr;
  using Phdr = Elf64_Phdr;
  using Shdr = Elf64_Shdr;
  using Sym = Elf64_Sym;
};
struct Elf32 {
  using Ehdr = Elf32_Ehdr;
  using Phdr = Elf32_Phdr;
  using Shdr = Elf32_Shdr;
  using Sym = Elf32_Sym;
};

// Go's linker names its runtime's functions runtime.*; runtime.main is in every Go program
// (cgo ones included), and C programs cannot spell a dot in a symbol by accident.
bool is_go_symbol(std::string_view name) {
  return name == "runtime.main" || name == "runtime.goexit" || name == "runtime.rt0_go";
}

template <typename E>
ProgramCheck check_elf(std::span<const std::byte> f, const std::string& path) {
  ProgramCheck out{ProgramVerdict::kOk, path, {}};
  const auto eh = read_at<typename E::Ehdr>(f, 0);
  if (!eh) return {ProgramVerdict::kNotElf, path, "truncated ELF header"};
  if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
    return {ProgramVerdict::kNotElf, path, "not an ELF executable"};
  }

  // Program headers: a PT_INTERP names the dynamic loader, which alone reads LD_PRELOAD.
  bool has_interp = false;
  if (eh->e_phentsize == sizeof(typename E::Phdr)) {
    for (unsigned i = 0; i < eh->e_phnum; ++i) {
      const auto ph = read_at<typename E::Phdr>(
          f, static_cast<std::uint64_t>(eh->e_phoff) + std::uint64_t{i} * sizeof(typename E::Phdr));
      if (!ph) break;
      if (ph->p_type == PT_INTERP) has_interp = true;
    }
  }

  // Section headers (stripped binaries keep them; a file without any is judged by its
  // program headers alone).
  bool go = false;
  std::vector<typename E::Shdr> sections;
  if (eh->e_shentsize == sizeof(typename E::Shdr)) {
    for (unsigned i = 0; i < eh->e_shnum; ++i) {
      const auto sh = read_at<typename E::Shdr>(
          f, static_cast<std::uint64_t>(eh->e_shoff) + std::uint64_t{i} * sizeof(typename E::Shdr));
      if (!sh) break;
      sections.push_back(*sh);
    }
  }
  if (eh->e_shstrndx < sections.size()) {
    const auto& names = sections[eh->e_shstrndx];
    for (const auto& sh : sections) {
      const auto name = string_at(f, names.sh_offset, names.sh_size, sh.sh_name);
      if (name && (*name == ".go.buildinfo" || *name == ".note.go.buildid")) go = true;
    }
  }
  // Symbols, in .symtab and .dynsym, each with the string table its sh_link names.
  for (const auto& sh : sections) {
    if (go) break;
    if ((sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || sh.sh_link >= sections.size())
      continue;
    const auto& strtab = sections[sh.sh_link];
    const std::uint64_t count = sh.sh_size / sizeof(typename E::Sym);
    for (std::uint64_t i = 0; i < count && !go; ++i) {
      const auto sym = read_at<typename E::Sym>(f, sh.sh_offset + i * sizeof(typename E::Sym));
      if (!sym) break;
      const auto name = string_at(f, strtab.sh_offset, strtab.sh_size, sym->st_name);
      if (name && is_go_symbol(*name)) go = true;
    }
  }

  if (go) {
    out.verdict = ProgramVerdict::kGo;
    out.reason =
        "is a Go program: Go makes its socket calls with its own system calls, not through "
        "libc, so LD_PRELOAD cannot put them on usnet";
  } else if (!has_interp) {
    out.verdict = ProgramVerdict::kStatic;
    out.reason =
        "is statically linked (no program interpreter): the dynamic loader never runs, so "
        "LD_PRELOAD cannot reach it";
  }
  return out;
}

// The interpreter of a #! script and its first argument ("" if none), or nullopt if the
// file is not a script.
std::optional<std::pair<std::string, std::string>> shebang(std::span<const std::byte> f) {
  if (f.size() < 2 || f[0] != std::byte{'#'} || f[1] != std::byte{'!'}) return std::nullopt;
  // The kernel reads at most BINPRM_BUF_SIZE (256) bytes of the line (execve(2)).
  const std::size_t n = std::min<std::size_t>(f.size(), 256);
  std::string line(reinterpret_cast<const char*>(f.data()) + 2, n - 2);
  line = line.substr(0, line.find('\n'));
  std::istringstream words(line);
  std::string interp;
  std::string arg;
  words >> interp >> arg;
  return std::make_pair(interp, arg);
}

}  // namespace

Credentials current_credentials() {
  return {::getuid(), ::getgid(), ::geteuid() == 0};
}

std::string find_on_path(const std::string& name, const std::string& path_env) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return name;
  std::istringstream dirs(path_env);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    // An empty entry means the current directory (execvp(3)).
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

ProgramCheck check_elf_file(const std::string& path) {
  const Mapped m(path);
  const auto f = m.bytes();
  if (f.size() < EI_NIDENT || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0) {
    return {ProgramVerdict::kNotElf, path, "not an ELF file"};
  }
  const auto cls = static_cast<unsigned char>(f[EI_CLASS]);
  const auto data = static_cast<unsigned char>(f[EI_DATA]);
  // Only this machine's byte order can run here at all.
  const unsigned char native =
      std::endian::native == std::endian::little ? ELFDATA2LSB : ELFDATA2MSB;
  if (data != native) return {ProgramVerdict::kNotElf, path, "ELF of another byte order"};
  if (cls == ELFCLASS64) return check_elf<Elf64>(f, path);
  if (cls == ELFCLASS32) return check_elf<Elf32>(f, path);
  return {ProgramVerdict::kNotElf, path, "unknown ELF class"};
}

ProgramCheck check_program(const std::string& program, const std::string& path_env,
                           const Credentials& creds) {
  std::string path = find_on_path(program, path_env);
  // Linux follows at most 4 levels of interpreters (BINPRM_MAX_RECURSION in fs/exec.c).
  for (int depth = 0; depth < 5; ++depth) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return {ProgramVerdict::kNotFound, program, "not found"};
    }
    const Mapped m(path);
    const auto script = shebang(m.bytes());
    if (!script) {
      // Secure-execution mode (AT_SECURE, ld.so(8)): the loader then ignores LD_PRELOAD
      // (except setuid libraries in standard directories). It starts when exec changes the
      // process's credentials: a set-user-ID file owned by another user, a set-group-ID
      // file of another group, or file capabilities the process does not hold already.
      // Linux ignores these bits on #! scripts, so only the binary that runs is asked.
      if (((st.st_mode & S_ISUID) != 0 && st.st_uid != creds.uid) ||
          ((st.st_mode & S_ISGID) != 0 && st.st_gid != creds.gid)) {
        return {ProgramVerdict::kSecureExec, path,
                "is set-user-ID or set-group-ID: the loader runs it in secure-execution mode "
                "and ignores LD_PRELOAD"};
      }
      if (!creds.privileged && ::getxattr(path.c_str(), "security.capability", nullptr, 0) >= 0) {
        return {ProgramVerdict::kSecureExec, path,
                "has file capabilities: the loader runs it in secure-execution mode and "
                "ignores LD_PRELOAD"};
      }
      return check_elf_file(path);
    }
    // `#!/usr/bin/env NAME`: the program that runs is NAME, found on PATH.
    const auto& [interp, arg] = *script;
    if (interp.ends_with("/env") && !arg.empty() && arg.front() != '-') {
      path = find_on_path(arg, path_env);
    } else {
      path = interp;
    }
  }
  return {ProgramVerdict::kNotElf, program, "too many levels of #! interpreters"};
}

}  // namespace usnet::tool
