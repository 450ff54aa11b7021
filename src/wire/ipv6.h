// The fixed IPv6 header (RFC 8200 section 3; the address type is in wire/addresses.h).
// Extension headers are walked by wire/ipv6_ext.h; the upper-layer pseudo-header is
// RFC 8200 section 8.1.
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
