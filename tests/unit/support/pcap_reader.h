// Reads the frames of a classic pcap file (micro- or nanosecond magic, either byte order):
// the fixtures under tests/fixtures, captured from the Linux kernel by capture.sh.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace usnet::test {

inline std::vector<std::vector<std::byte>> read_pcap(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<char> raw{std::istreambuf_iterator<char>(f), {}};
  std::vector<std::vector<std::byte>> frames;
  if (raw.size() < 24) return frames;
  std::uint32_t magic;
  std::memcpy(&magic, raw.data(), 4);
  const bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  auto u32 = [&](std::size_t off) {
    std::uint32_t v;
    std::memcpy(&v, raw.data() + off, 4);
    return swap ? __builtin_bswap32(v) : v;
  };
  std::size_t off = 24;
  while (off + 16 <= raw.size()) {
    const std::uint32_t caplen = u32(off + 8);
    off += 16;
    if (off + caplen > raw.size()) break;
    std::vector<std::byte> frame(caplen);
    std::memcpy(frame.data(), raw.data() + off, caplen);
    frames.push_back(std::move(frame));
    off += caplen;
  }
  return frames;
}

inline std::vector<std::vector<std::byte>> fixture(const std::string& name) {
  return read_pcap(std::string(USNET_FIXTURES_DIR) + "/" + name + ".pcap");
}

// A buffer of n bytes filled with 0xA5, so writes past what emit() should touch show up.
inline std::vector<std::byte> pattern_buffer(std::size_t n) {
  return std::vector<std::byte>(n, std::byte{0xa5});
}

}  // namespace usnet::test
