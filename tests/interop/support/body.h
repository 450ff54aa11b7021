// What the interop tests check transfers with: the generated body the `usnet` tool sends
// (its body_byte(), tools/usnet/tcp_io.h), a file compared against it, and a counter read
// from the tool's `--counters` dump (nstat names).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace usnet::interop {

inline unsigned char body_byte(std::uint64_t i) {
  return static_cast<unsigned char>((i * 7 + i / 4096) & 0xff);
}

// True if the two files hold the same bytes (a download against the file served).
inline bool same_files(const std::string& a, const std::string& b) {
  std::ifstream fa(a, std::ios::binary);
  std::ifstream fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  return std::equal(std::istreambuf_iterator<char>(fa), std::istreambuf_iterator<char>(),
                    std::istreambuf_iterator<char>(fb), std::istreambuf_iterator<char>());
}

// True if `path` holds exactly `size` bytes of the generated body.
inline bool file_is_body(const std::string& path, std::uint64_t size, std::string* why) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *why = "cannot open " + path;
    return false;
  }
  std::vector<char> buf(1 << 20);
  std::uint64_t off = 0;
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(f.gcount());
    for (std::size_t i = 0; i < n; ++i) {
      if (static_cast<unsigned char>(buf[i]) != body_byte(off + i)) {
        *why = "byte " + std::to_string(off + i) + " differs";
        return false;
      }
    }
    off += n;
  }
  if (off != size) {
    *why = "size " + std::to_string(off) + " != " + std::to_string(size);
    return false;
  }
  return true;
}

// The value of counter `name` in a `--counters` dump ("Name value" lines); 0 if absent.
inline std::uint64_t counter(const std::string& dump, const std::string& name) {
  const auto p = dump.find(name + " ");
  if (p == std::string::npos) return 0;
  return std::strtoull(dump.c_str() + p + name.size(), nullptr, 10);
}

}  // namespace usnet::interop
