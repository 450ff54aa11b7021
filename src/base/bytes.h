// Byte-order helpers over std::byte spans. Every multi-byte field on the wire is big-endian
// (RFC 1700 "network byte order"); conversion happens in the accessor, never by overlaying a
// struct on the bytes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace usnet {

using ByteSpan = std::span<const std::byte>;
using MutableByteSpan = std::span<std::byte>;

template <typename T>
constexpr T byteswap_if_little(T v) noexcept {
  static_assert(std::is_unsigned_v<T>);
  if constexpr (std::endian::native == std::endian::big || sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(v));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(v));
  } else {
    return static_cast<T>(__builtin_bswap64(v));
  }
}

// Reads a big-endian T at `offset`. Precondition: offset + sizeof(T) <= bytes.size(); the
// views check their length once up front so the accessors can rely on it.
template <typename T>
inline T load_be(ByteSpan bytes, std::size_t offset) noexcept {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return byteswap_if_little(v);
}

template <typename T>
inline void store_be(MutableByteSpan bytes, std::size_t offset, T value) noexcept {
  const T v = byteswap_if_little(value);
  std::memcpy(bytes.data() + offset, &v, sizeof(T));
}

inline std::uint8_t load_u8(ByteSpan bytes, std::size_t offset) noexcept {
  return static_cast<std::uint8_t>(bytes[offset]);
}
inline void store_u8(MutableByteSpan bytes, std::size_t offset, std::uint8_t v) noexcept {
  bytes[offset] = static_cast<std::byte>(v);
}

inline ByteSpan as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace usnet
