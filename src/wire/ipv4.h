// IPv4 header (RFC 791 section 3.1). Options are accepted and skipped: the header length
// covers them and nothing in them is interpreted (RFC 1122 3.2.1.8 allows ignoring the ones
// a host does not implement); usnet never emits options.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/parse_error.h"

namespace usnet::wire {

enum class IpProtocol : std::uint8_t {
  kIcmp = 1,
  kTcp = 6,
  kUdp = 17,
  kIcmpv6 = 58,
};

struct Ipv4Header {
  static constexpr std::size_t kMinSize = 20;
  static constexpr std::size_t kMaxSize = 60;
  static constexpr std::uint16_t kFlagDontFragment = 0x4000;
  static constexpr std::uint16_t kFlagMoreFragments = 0x2000;
  static constexpr std::uint16_t kOffsetMask = 0x1fff;

  std::uint8_t header_length = kMinSize;  // bytes, including options
  std::uint8_t tos = 0;                   // DSCP + ECN
  std::uint16_t total_length = 0;         // header + payload
  std::uint16_t id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  std::uint16_t fragment_offset = 0;  // in bytes (the field is in 8-byte units)
  std::uint8_t ttl = 64;
  std::uint8_t protocol = 0;
  std::uint16_t checksum = 0;  // as received; emit() computes its own
  Ipv4Address src;
  Ipv4Address dst;

  bool is_fragment() const noexcept { return more_fragments || fragment_offset != 0; }
  std::size_t payload_length() const noexcept { return total_length - header_length; }

  // Checks version, header length, total length against the bytes present and, when
  // verify_checksum, the header checksum. Bytes past total_length (Ethernet padding) are
  // the caller's to trim.
  static Parsed<Ipv4Header> parse(ByteSpan packet, bool verify_checksum = true) noexcept;
  // Writes a 20-byte header (header_length is taken as 20) with its checksum.
  void emit(MutableByteSpan out) const noexcept;
};

}  // namespace usnet::wire
