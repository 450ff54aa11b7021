// Link and network addresses as values. Stored in host order; the wire views convert.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace usnet {

struct MacAddress {
  std::array<std::uint8_t, 6> octets{};

  static constexpr MacAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  constexpr bool is_broadcast() const { return *this == broadcast(); }
  constexpr bool is_multicast() const { return (octets[0] & 0x01) != 0; }
  constexpr bool is_zero() const { return *this == MacAddress{}; }
  std::string to_string() const;
  static std::optional<MacAddress> parse(std::string_view text);

  friend constexpr auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

struct Ipv4Address {
  std::uint32_t value = 0;  // host order: 198.18.0.1 is 0xc6120001

  static constexpr Ipv4Address any() { return {0}; }
  static constexpr Ipv4Address broadcast() { return {0xffffffffU}; }
  static constexpr Ipv4Address from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                           std::uint8_t d) {
    return {(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d};
  }
  constexpr bool is_any() const { return value == 0; }
  constexpr bool is_broadcast() const { return value == 0xffffffffU; }
  constexpr bool is_multicast() const { return (value >> 28) == 0xe; }  // 224/4
  constexpr bool is_loopback() const { return (value >> 24) == 127; }   // 127/8
  std::string to_string() const;
  static std::optional<Ipv4Address> parse(std::string_view text);

  friend constexpr auto operator<=>(const Ipv4Address&, const Ipv4Address&) = default;
};

// An address with a prefix length, as `ip addr add 198.18.0.2/24` takes it.
struct Ipv4Cidr {
  Ipv4Address address;
  std::uint8_t prefix_len = 32;

  constexpr std::uint32_t mask() const {
    return prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len);
  }
  constexpr Ipv4Address network() const { return {address.value & mask()}; }
  constexpr Ipv4Address directed_broadcast() const { return {address.value | ~mask()}; }
  constexpr bool contains(Ipv4Address a) const { return (a.value & mask()) == network().value; }
  std::string to_string() const;
  static std::optional<Ipv4Cidr> parse(std::string_view text);

  friend constexpr bool operator==(const Ipv4Cidr&, const Ipv4Cidr&) = default;
};

}  // namespace usnet
