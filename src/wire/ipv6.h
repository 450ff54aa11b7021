// IPv6 addresses (RFC 4291; text form RFC 5952) and the fixed IPv6 header (RFC 8200
// section 3). Extension headers are walked by wire/ipv6_ext.h; the upper-layer
// pseudo-header is RFC 8200 section 8.1.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/parse_error.h"

namespace usnet {

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

}  // namespace usnet

namespace usnet::wire {

struct Ipv6Header {
  static constexpr std::size_t kSize = 40;

  std::uint8_t traffic_class = 0;    // DSCP + ECN (RFC 8200 section 7)
  std::uint32_t flow_label = 0;      // 20 bits (RFC 6437)
  std::uint16_t payload_length = 0;  // bytes after this header, extension headers included
  std::uint8_t next_header = 0;
  std::uint8_t hop_limit = 64;
  Ipv6Address src;
  Ipv6Address dst;

  // Checks the version and that payload_length bytes follow the header. A payload length
  // of 0 with a hop-by-hop header is a jumbogram (RFC 2675); usnet's links carry at most
  // 64 KiB frames, so it is taken as an empty payload, which the chain walk then finds
  // truncated. Bytes past payload_length (Ethernet padding) are the caller's to trim.
  static Parsed<Ipv6Header> parse(ByteSpan packet) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// Partial sum of the upper-layer pseudo-header (RFC 8200 section 8.1): source,
// destination, the upper-layer packet length as 32 bits, three zero bytes, next header.
// `dst` is the final destination when a routing header is present.
std::uint32_t pseudo_header_sum_v6(const Ipv6Address& src, const Ipv6Address& dst,
                                   std::uint8_t next_header, std::uint32_t length) noexcept;

// The solicited-node multicast group of an address, ff02::1:ffXX:XXXX with the low 24 bits
// of `a` (RFC 4291 2.7.1), and the Ethernet address of any IPv6 multicast group,
// 33:33 and the group's low 32 bits (RFC 2464 section 7).
Ipv6Address solicited_node(const Ipv6Address& a) noexcept;
MacAddress multicast_mac(const Ipv6Address& group) noexcept;

}  // namespace usnet::wire
