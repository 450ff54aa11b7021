// Link and network addresses as values. Ipv4Address is a host-order integer; Ipv6Address
// keeps its 16 bytes in network order; IpAddress holds either, for the layers that serve
// both families (sockets, routes, connection tables). The wire views convert.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include "base/bytes.h"

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

// 16 bytes in network order (the order of the text form), unlike Ipv4Address's host-order
// integer: IPv6 code compares prefixes byte by byte and copies the bytes to and from the
// wire and sockaddr_in6 unchanged.
struct Ipv6Address {
  std::array<std::uint8_t, 16> bytes{};

  static constexpr Ipv6Address any() { return {}; }
  static constexpr Ipv6Address loopback() {
    Ipv6Address a;
    a.bytes[15] = 1;
    return a;
  }
  // ::ffff:a.b.c.d (RFC 4291 2.5.5.2), the form dual-stack sockets show IPv4 peers in.
  static constexpr Ipv6Address v4_mapped(Ipv4Address v4) {
    Ipv6Address a;
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    for (int i = 0; i < 4; ++i)
      a.bytes[12 + i] = static_cast<std::uint8_t>(v4.value >> (24 - 8 * i));
    return a;
  }
  static Ipv6Address from_bytes(ByteSpan b) noexcept;  // precondition: b.size() >= 16
  void store(MutableByteSpan out) const noexcept;      // precondition: out.size() >= 16

  constexpr std::uint16_t group(int i) const {
    return static_cast<std::uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  }
  constexpr bool is_any() const { return *this == any(); }
  constexpr bool is_loopback() const { return *this == loopback(); }
  constexpr bool is_multicast() const { return bytes[0] == 0xff; }  // ff00::/8
  constexpr bool is_link_local() const {                            // fe80::/10
    return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
  }
  constexpr bool is_v4_mapped() const {
    for (int i = 0; i < 10; ++i)
      if (bytes[i] != 0) return false;
    return bytes[10] == 0xff && bytes[11] == 0xff;
  }
  // The IPv4 address of a v4-mapped address; meaningful only when is_v4_mapped().
  constexpr Ipv4Address v4() const {
    return Ipv4Address::from_octets(bytes[12], bytes[13], bytes[14], bytes[15]);
  }

  // RFC 5952 section 4: lowercase, no leading zeros, "::" for the longest run of two or
  // more zero groups (the first of equal runs), ::ffff:a.b.c.d for v4-mapped (section 5).
  // glibc's inet_ntop also prints the deprecated IPv4-compatible ::a.b.c.d form; this does
  // not (RFC 4291 2.5.5.1 deprecates it).
  std::string to_string() const;
  // What inet_pton(AF_INET6) accepts: hex groups of 1-4 digits, at most one "::", an
  // optional dotted quad in the last 32 bits. No zone ("%eth0"), no brackets, no prefix.
  static std::optional<Ipv6Address> parse(std::string_view text);

  friend constexpr auto operator<=>(const Ipv6Address&, const Ipv6Address&) = default;
};

// An IPv6 address with a prefix length, as `ip -6 addr add 2001:db8::2/64` takes it.
struct Ipv6Cidr {
  Ipv6Address address;
  std::uint8_t prefix_len = 128;

  constexpr bool contains(const Ipv6Address& a) const {
    std::size_t bits = prefix_len > 128 ? 128 : prefix_len;
    for (std::size_t i = 0; bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
      const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
      if ((address.bytes[i] & mask) != (a.bytes[i] & mask)) return false;
    }
    return true;
  }
  std::string to_string() const;
  static std::optional<Ipv6Cidr> parse(std::string_view text);

  friend constexpr bool operator==(const Ipv6Cidr&, const Ipv6Cidr&) = default;
};

// RFC 4291 2.5.1 / RFC 2464 4: the modified EUI-64 interface identifier of a MAC (the
// universal/local bit inverted, ff:fe in the middle), in the low 64 bits of `prefix`.
constexpr Ipv6Address eui64_address(const Ipv6Address& prefix, const MacAddress& mac) {
  Ipv6Address a = prefix;
  const auto& m = mac.octets;
  a.bytes[8] = static_cast<std::uint8_t>(m[0] ^ 0x02);
  a.bytes[9] = m[1];
  a.bytes[10] = m[2];
  a.bytes[11] = 0xff;
  a.bytes[12] = 0xfe;
  a.bytes[13] = m[3];
  a.bytes[14] = m[4];
  a.bytes[15] = m[5];
  return a;
}

// An IPv4 or an IPv6 address: what the family-generic layers hold (a socket's addresses,
// TCP's four-tuple, the port tables, ICMP errors), so that one code path serves both and
// only the network layer knows which it is. An IPv4 address is stored as its v4-mapped
// IPv6 form (RFC 4291 2.5.5.2) with family AF_INET, so that both families share one
// compare and one hash; the family keeps 198.18.0.1 and ::ffff:198.18.0.1 apart (the
// second is an IPv6 socket's name for an IPv4 peer; a dual-stack socket's addresses are
// unmapped into the first before any table sees them, as Linux's ipv6_addr_v4mapped
// checks send them to the IPv4 code).
//
// Invariant: family() is AF_INET or AF_INET6; for AF_INET, bytes 0-11 are ::ffff:.
class IpAddress {
 public:
  constexpr IpAddress() : IpAddress(Ipv4Address::any()) {}
  // Implicit: every IPv4 address is an IpAddress, and IPv4 code passes its own.
  constexpr IpAddress(Ipv4Address a)  // NOLINT(google-explicit-constructor)
      : family_(AF_INET), a_(Ipv6Address::v4_mapped(a)) {}
  constexpr explicit IpAddress(const Ipv6Address& a) : family_(AF_INET6), a_(a) {}
  static constexpr IpAddress any(int family) {
    return family == AF_INET6 ? IpAddress(Ipv6Address::any()) : IpAddress(Ipv4Address::any());
  }

  constexpr int family() const { return family_; }
  constexpr bool is_v4() const { return family_ == AF_INET; }
  constexpr bool is_v6() const { return family_ == AF_INET6; }
  // The IPv4 address; meaningful only when is_v4().
  constexpr Ipv4Address v4() const { return a_.v4(); }
  // The IPv6 form: the address itself, or for IPv4 its v4-mapped form.
  constexpr const Ipv6Address& v6() const { return a_; }
  // An IPv6 address that is v4-mapped becomes the IPv4 address it stands for.
  constexpr IpAddress unmapped() const {
    return is_v6() && a_.is_v4_mapped() ? IpAddress(v4()) : *this;
  }

  constexpr bool is_any() const { return is_v4() ? v4().is_any() : a_.is_any(); }
  constexpr bool is_loopback() const { return is_v4() ? v4().is_loopback() : a_.is_loopback(); }
  constexpr bool is_multicast() const { return is_v4() ? v4().is_multicast() : a_.is_multicast(); }
  // 255.255.255.255 (IPv6 has no broadcast, RFC 4291 2).
  constexpr bool is_broadcast() const { return is_v4() && v4().is_broadcast(); }
  constexpr bool is_link_local() const { return is_v6() && a_.is_link_local(); }

  // The address as it appears on the wire: 4 bytes for IPv4, 16 for IPv6 (what keyed
  // hashes take, so an IPv4 connection hashes the bytes it always hashed).
  // A view into this object: never of a temporary (the rvalue form is deleted).
  std::span<const std::uint8_t> wire_bytes() const& noexcept {
    return is_v4() ? std::span<const std::uint8_t>(a_.bytes).subspan(12)
                   : std::span<const std::uint8_t>(a_.bytes);
  }
  std::span<const std::uint8_t> wire_bytes() const&& = delete;
  // A 64-bit mix of the address for unkeyed hash tables.
  constexpr std::uint64_t fold() const {
    std::uint64_t h = static_cast<std::uint64_t>(family_);
    for (std::size_t i = 0; i < 16; i += 8) {
      std::uint64_t w = 0;
      for (std::size_t j = 0; j < 8; ++j)
        w = (w << 8) | a_.bytes[i + j];
      h = (h ^ w) * 0x100000001b3ULL;
    }
    return h;
  }

  // Dotted quad for IPv4, RFC 5952 for IPv6.
  std::string to_string() const { return is_v4() ? v4().to_string() : a_.to_string(); }
  // Either text form: a dotted quad is IPv4, anything with ':' IPv6 (inet_pton's forms).
  static std::optional<IpAddress> parse(std::string_view text);

  friend constexpr bool operator==(const IpAddress&, const IpAddress&) = default;
  friend constexpr auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  int family_;
  Ipv6Address a_;
};

// For unordered containers keyed by address (unkeyed: not for tables a peer can flood).
struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept {
    return static_cast<std::size_t>(a.fold());
  }
};

}  // namespace usnet
