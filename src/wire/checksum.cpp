#include "wire/checksum.h"

#include <cstring>

namespace usnet::wire {
namespace {

std::uint32_t fold64(std::uint64_t s) noexcept {
  s = (s & 0xffffffffULL) + (s >> 32);
  s = (s & 0xffffffffULL) + (s >> 32);
  return static_cast<std::uint32_t>(s);
}

}  // namespace

std::uint32_t checksum_partial(ByteSpan bytes, std::uint32_t sum) noexcept {
  // Sum 32-bit native-order words into a 64-bit accumulator (no carry can be lost before
  // 2^32 words), then swap the folded result to big-endian order once at the end
  // (RFC 1071 section 2(B): byte-order independence).
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t acc = 0;
  while (n >= 32) {
    std::uint32_t w[8];
    std::memcpy(w, p, sizeof(w));
    acc += std::uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
    p += 32;
    n -= 32;
  }
  while (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd byte is the high byte of a big-endian word padded with zero.
    std::uint16_t w = 0;
    std::memcpy(&w, p, 1);
    acc += w;
  }
  std::uint32_t folded = fold64(acc);
  // Fold to 16 bits in native order, then convert to a big-endian word value.
  folded = (folded & 0xffff) + (folded >> 16);
  folded = (folded & 0xffff) + (folded >> 16);
  const auto be = byteswap_if_little(static_cast<std::uint16_t>(folded));
  return fold64(std::uint64_t{sum} + be);
}

std::uint32_t checksum_partial_naive(ByteSpan bytes, std::uint32_t sum) noexcept {
  std::uint64_t acc = sum;
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) {
    acc += (std::uint32_t{static_cast<std::uint8_t>(bytes[i])} << 8) |
           static_cast<std::uint8_t>(bytes[i + 1]);
  }
  if (i < bytes.size()) acc += std::uint32_t{static_cast<std::uint8_t>(bytes[i])} << 8;
  return fold64(acc);
}

std::uint16_t checksum_finish(std::uint32_t sum) noexcept {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::uint32_t pseudo_header_sum_v4(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol,
                                   std::uint32_t length) noexcept {
  std::uint64_t s = (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) +
                    (dst.value & 0xffff) + protocol + (length >> 16) + (length & 0xffff);
  return fold64(s);
}

std::uint32_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                std::uint32_t length) noexcept {
  if (src.is_v4()) return pseudo_header_sum_v4(src.v4(), dst.v4(), protocol, length);
  std::uint64_t s = protocol + (length >> 16) + (length & 0xffff);
  for (int i = 0; i < 8; ++i)
    s += std::uint64_t{src.v6().group(i)} + dst.v6().group(i);
  return fold64(s);
}

std::uint16_t checksum_update16(std::uint16_t old_checksum, std::uint16_t old_word,
                                std::uint16_t new_word) noexcept {
  std::uint32_t s = static_cast<std::uint16_t>(~old_checksum);
  s += static_cast<std::uint16_t>(~old_word);
  s += new_word;
  return checksum_finish(s);
}

std::uint16_t checksum_update32(std::uint16_t old_checksum, std::uint32_t old_value,
                                std::uint32_t new_value) noexcept {
  std::uint32_t s = static_cast<std::uint16_t>(~old_checksum);
  s += static_cast<std::uint16_t>(~(old_value >> 16));
  s += static_cast<std::uint16_t>(~(old_value & 0xffff));
  s += new_value >> 16;
  s += new_value & 0xffff;
  return checksum_finish(s);
}

}  // namespace usnet::wire
