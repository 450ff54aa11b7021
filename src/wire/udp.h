// UDP header (RFC 768). Over IPv4 a zero checksum means "none computed" and is accepted;
// a computed checksum of zero is sent as 0xffff.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/parse_error.h"

namespace usnet::wire {

struct UdpHeader {
  static constexpr std::size_t kSize = 8;

  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint16_t length = 0;  // header + payload
  std::uint16_t checksum = 0;

  // `datagram` is the IP payload. Checks the length field against it; verifies the checksum
  // with the pseudo-header of src/dst: a zero checksum means none over IPv4 (RFC 768) and
  // is refused over IPv6, where the checksum is mandatory (RFC 8200 8.1).
  static Parsed<UdpHeader> parse(ByteSpan datagram, const IpAddress& src,
                                 const IpAddress& dst) noexcept;
  // Writes header fields with checksum 0.
  void emit(MutableByteSpan out) const noexcept;
  // Computes and stores the checksum over a complete datagram (header + payload).
  static void finish_checksum(MutableByteSpan datagram, const IpAddress& src,
                              const IpAddress& dst) noexcept;
};

}  // namespace usnet::wire
