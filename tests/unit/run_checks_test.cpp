// `usnet run`'s checks of the program (tools/usnet/elf_check.h) on ELF files made here
// byte by byte (no program interpreter, a .go.buildinfo section, runtime.* symbols, broken
// offsets), on this test's own binary (a dynamically linked program), on scripts, on
// set-user-ID files and file capabilities; and the environment it builds (run_env.h).
#include "elf_check.h"
#include "run_env.h"

#include <elf.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace usnet::tool {
namespace {

struct ElfSpec {
  bool interp;
  std::string section;  // a section of this name, if not empty
  std::string symbol;   // a .symtab symbol of this name, if not empty
};
ElfSpec spec(bool interp, std::string section = "", std::string symbol = "") {
  return {interp, std::move(section), std::move(symbol)};
}

template <typename T>
void put(std::vector<char>& f, std::size_t off, const T& v) {
  if (f.size() < off + sizeof(T)) f.resize(off + sizeof(T));
  std::memcpy(f.data() + off, &v, sizeof(T));
}

// A minimal ELF64 executable of this machine: header, one or two program headers, and
// section headers [null, .shstrtab, (section), (.symtab, .strtab)].
std::vector<char> make_elf(const ElfSpec& s) {
  std::vector<char> f(4096, '\0');
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  put(f, eh.e_phoff, load);
  eh.e_phnum = 1;
  if (s.interp) {
    Elf64_Phdr in{};
    in.p_type = PT_INTERP;
    put(f, eh.e_phoff + sizeof(Elf64_Phdr), in);
    eh.e_phnum = 2;
  }
  // String tables at 1024 (.shstrtab) and 1536 (.strtab), section headers at 2048.
  std::string shstr = std::string("\0.shstrtab\0.symtab\0.strtab\0", 27) + s.section + '\0';
  std::memcpy(f.data() + 1024, shstr.data(), shstr.size());
  std::vector<Elf64_Shdr> sh(2);
  sh[1].sh_name = 1;
  sh[1].sh_type = SHT_STRTAB;
  sh[1].sh_offset = 1024;
  sh[1].sh_size = shstr.size();
  if (!s.section.empty()) {
    Elf64_Shdr x{};
    x.sh_name = 27;
    x.sh_type = SHT_PROGBITS;
    sh.push_back(x);
  }
  if (!s.symbol.empty()) {
    const std::string str = std::string(1, '\0') + s.symbol + '\0';
    std::memcpy(f.data() + 1536, str.data(), str.size());
    Elf64_Shdr strtab{};
    strtab.sh_name = 19;
    strtab.sh_type = SHT_STRTAB;
    strtab.sh_offset = 1536;
    strtab.sh_size = str.size();
    Elf64_Sym syms[2]{};
    syms[1].st_name = 1;
    put(f, 1800, syms);
    Elf64_Shdr symtab{};
    symtab.sh_name = 11;
    symtab.sh_type = SHT_SYMTAB;
    symtab.sh_offset = 1800;
    symtab.sh_size = sizeof(syms);
    symtab.sh_link = static_cast<Elf64_Word>(sh.size() + 1);
    sh.push_back(symtab);
    sh.push_back(strtab);
  }
  eh.e_shoff = 2048;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = static_cast<Elf64_Half>(sh.size());
  eh.e_shstrndx = 1;
  for (std::size_t i = 0; i < sh.size(); ++i)
    put(f, 2048 + i * sizeof(Elf64_Shdr), sh[i]);
  put(f, 0, eh);
  return f;
}

class RunChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("usnet-run-checks-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::vector<char>& bytes, mode_t mode = 0755) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ::chmod(p.c_str(), mode);
    return p;
  }
  std::string write_text(const std::string& name, const std::string& text) {
    return write(name, std::vector<char>(text.begin(), text.end()));
  }

  static Credentials me() { return {::getuid(), ::getgid(), true}; }

  std::filesystem::path dir_;
};

TEST_F(RunChecks, DynamicProgramIsAccepted) {
  EXPECT_EQ(check_elf_file("/proc/self/exe").verdict, ProgramVerdict::kOk);
  EXPECT_EQ(check_elf_file(write("dyn", make_elf(spec(true)))).verdict, ProgramVerdict::kOk);
}

TEST_F(RunChecks, NoInterpreterIsStatic) {
  const auto c = check_program(write("static", make_elf(spec(false))), "", me());
  EXPECT_EQ(c.verdict, ProgramVerdict::kStatic);
  EXPECT_NE(c.reason.find("statically linked"), std::string::npos) << c.reason;
}

TEST_F(RunChecks, GoProgramsAreRecognised) {
  EXPECT_EQ(check_elf_file(write("go1", make_elf(spec(true, ".go.buildinfo")))).verdict,
            ProgramVerdict::kGo);
  EXPECT_EQ(check_elf_file(write("go2", make_elf(spec(true, "", "runtime.main")))).verdict,
            ProgramVerdict::kGo);
  // Static Go (the usual case) is said to be Go, the more useful of the two reasons.
  EXPECT_EQ(check_elf_file(write("go3", make_elf(spec(false, ".go.buildinfo")))).verdict,
            ProgramVerdict::kGo);
  EXPECT_EQ(check_elf_file(write("c", make_elf(spec(true, "", "runtime_main")))).verdict,
            ProgramVerdict::kOk);
}

TEST_F(RunChecks, BrokenOffsetsAreNotTrusted) {
  auto f = make_elf(spec(true, "", "runtime.main"));
  // Section headers past the end of the file, and a string table past it: no crash, no Go.
  auto far = f;
  reinterpret_cast<Elf64_Ehdr*>(far.data())->e_shoff = 1ULL << 40;
  EXPECT_EQ(check_elf_file(write("far", far)).verdict, ProgramVerdict::kOk);
  auto huge = f;
  Elf64_Shdr sh;
  std::memcpy(&sh, huge.data() + 2048 + 3 * sizeof(Elf64_Shdr), sizeof(sh));  // .strtab
  sh.sh_size = ~0ULL;
  std::memcpy(huge.data() + 2048 + 3 * sizeof(Elf64_Shdr), &sh, sizeof(sh));
  EXPECT_EQ(check_elf_file(write("huge", huge)).verdict, ProgramVerdict::kOk);
  for (std::size_t n : {std::size_t{3}, std::size_t{20}, sizeof(Elf64_Ehdr) + 10}) {
    auto cut = f;
    cut.resize(n);
    EXPECT_NE(check_elf_file(write("cut" + std::to_string(n), cut)).verdict, ProgramVerdict::kGo);
  }
  EXPECT_EQ(check_elf_file(write_text("text", "hello")).verdict, ProgramVerdict::kNotElf);
}

TEST_F(RunChecks, ScriptsAreJudgedByTheirInterpreter) {
  const std::string st = write("static", make_elf(spec(false)));
  EXPECT_EQ(check_program(write_text("s1", "#!" + st + " -x\nexit\n"), "", me()).verdict,
            ProgramVerdict::kStatic);
  const std::string dyn = write("dyn", make_elf(spec(true)));
  EXPECT_EQ(check_program(write_text("s2", "#! " + dyn + "\n"), "", me()).verdict,
            ProgramVerdict::kOk);
  // `#!/usr/bin/env NAME` is NAME found on PATH.
  EXPECT_EQ(check_program(write_text("s3", "#!/usr/bin/env static\n"), dir_.string(), me()).verdict,
            ProgramVerdict::kStatic);
  // A script's own set-user-ID bit does nothing (Linux ignores it on #! files).
  EXPECT_EQ(
      check_program(write("s4", {'#', '!', '/', 'x'}, 04755), "", {12345, 12345, false}).verdict,
      ProgramVerdict::kNotFound);  // its interpreter /x does not exist
}

TEST_F(RunChecks, PathSearchAsExecvp) {
  write("prog", make_elf(spec(true)));
  write("noexec", make_elf(spec(true)), 0644);
  EXPECT_EQ(find_on_path("prog", "/nonexistent:" + dir_.string()), (dir_ / "prog").string());
  EXPECT_EQ(find_on_path("noexec", dir_.string()), "");
  EXPECT_EQ(check_program("no-such-program-here", dir_.string(), me()).verdict,
            ProgramVerdict::kNotFound);
}

TEST_F(RunChecks, SetuidAndSetgidThatChangeCredentials) {
  const std::string su = write("su", make_elf(spec(true)), 04755);
  const std::string sg = write("sg", make_elf(spec(true)), 02755);
  struct stat st {};
  ASSERT_EQ(::stat(su.c_str(), &st), 0);
  // Owned by the user who runs it: exec changes nothing, the loader honours LD_PRELOAD.
  EXPECT_EQ(check_program(su, "", {st.st_uid, st.st_gid, false}).verdict, ProgramVerdict::kOk);
  EXPECT_EQ(check_program(sg, "", {st.st_uid, st.st_gid, false}).verdict, ProgramVerdict::kOk);
  const auto other = check_program(su, "", {st.st_uid + 1, st.st_gid, false});
  EXPECT_EQ(other.verdict, ProgramVerdict::kSecureExec);
  EXPECT_NE(other.reason.find("secure-execution"), std::string::npos);
  EXPECT_EQ(check_program(sg, "", {st.st_uid, st.st_gid + 1, false}).verdict,
            ProgramVerdict::kSecureExec);
}

TEST_F(RunChecks, FileCapabilities) {
  const std::string p = write("capped", make_elf(spec(true)));
  vfs_cap_data caps{};
  caps.magic_etc = VFS_CAP_REVISION_2;
  caps.data[0].permitted = 1U << CAP_NET_RAW;
  if (::setxattr(p.c_str(), "security.capability", &caps, XATTR_CAPS_SZ_2, 0) != 0) {
    GTEST_SKIP() << "cannot set file capabilities here (" << std::strerror(errno)
                 << "): needs root and a file system with security xattrs";
  }
  EXPECT_EQ(check_program(p, "", {::getuid(), ::getgid(), false}).verdict,
            ProgramVerdict::kSecureExec);
  // root already holds every capability: exec gains none, no secure-execution mode.
  EXPECT_EQ(check_program(p, "", {::getuid(), ::getgid(), true}).verdict, ProgramVerdict::kOk);
}

TEST(RunEnvironment, VariablesReplacedAndPreloadFirst) {
  RunEnv e;
  e.preload = "/opt/usnet/lib/libusnet_preload.so";
  e.tap = "ut0";
  e.addr = "198.18.0.2/24";
  e.mtu = 9000;
  e.loopback = "kernel";
  e.counters = "/tmp/c";
  const auto env = run_environment(
      {"PATH=/bin", "USNET_TAP=old", "USNET_GATEWAY=198.18.0.1",
       "LD_PRELOAD=/lib/a.so /opt/usnet/lib/libusnet_preload.so:/lib/b.so", "HOME=/root"},
      e);
  const std::vector<std::string> want = {
      "PATH=/bin",
      "HOME=/root",
      "USNET_TAP=ut0",
      "USNET_ADDR=198.18.0.2/24",
      "USNET_MTU=9000",
      "USNET_LOOPBACK=kernel",
      "USNET_COUNTERS=/tmp/c",
      "LD_PRELOAD=/opt/usnet/lib/libusnet_preload.so:/lib/a.so:/lib/b.so"};
  EXPECT_EQ(env, want);
}

TEST(RunEnvironment, FindsTheLibrary) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("usnet-run-lib-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "bin");
  std::filesystem::create_directories(dir / "lib");
  std::ofstream(dir / "lib" / "libusnet_preload.so") << "x";
  const std::string exe = (dir / "bin" / "usnet").string();
  EXPECT_EQ(find_preload_library("", exe, "../lib", "../nope.so"),
            (dir / "lib" / "libusnet_preload.so").string());
  EXPECT_EQ(find_preload_library("", exe, "../nolib", "../lib/libusnet_preload.so"),
            (dir / "lib" / "libusnet_preload.so").string());
  EXPECT_EQ(find_preload_library("", exe, "../nolib", "../nope.so"), "");
  EXPECT_EQ(find_preload_library((dir / "nope.so").string(), exe, "../lib", "x"), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace usnet::tool
