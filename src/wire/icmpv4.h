// ICMPv4 (RFC 792): the 8-byte header common to echo, destination unreachable and time
// exceeded. For the error messages the caller reads the quoted original datagram from the
// bytes after the header (RFC 792: the IP header plus at least 64 bits of its data; RFC 1812
// 4.3.2.3 allows more, and Linux quotes up to 576 bytes in all).
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "wire/parse_error.h"

namespace usnet::wire {

enum class IcmpType : std::uint8_t {
  kEchoReply = 0,
  kDestUnreachable = 3,
  kEchoRequest = 8,
  kTimeExceeded = 11,
  kParameterProblem = 12,
};

// Codes of destination unreachable (RFC 792, RFC 1122 3.2.2.1).
enum class UnreachCode : std::uint8_t {
  kNet = 0,
  kHost = 1,
  kProtocol = 2,
  kPort = 3,
  kFragNeeded = 4,
  kSourceRouteFailed = 5,
  kNetUnknown = 6,
  kHostUnknown = 7,
  kNetProhibited = 9,
  kHostProhibited = 10,
  kAdminProhibited = 13,
};

enum class TimeExceededCode : std::uint8_t { kTtl = 0, kReassembly = 1 };

struct IcmpHeader {
  static constexpr std::size_t kSize = 8;

  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint16_t checksum = 0;
  // Bytes 4..7: identifier and sequence for echo; next-hop MTU (low 16 bits) for
  // "fragmentation needed"; unused otherwise.
  std::uint16_t ident = 0;
  std::uint16_t sequence = 0;

  std::uint16_t next_hop_mtu() const noexcept { return sequence; }

  // Verifies the checksum over the whole message (header and data).
  static Parsed<IcmpHeader> parse(ByteSpan message) noexcept;
  // Writes the header; the checksum field is left 0: the caller fills it in once the
  // data follows the header (finish_checksum).
  void emit(MutableByteSpan out) const noexcept;
  static void finish_checksum(MutableByteSpan message) noexcept;
};

}  // namespace usnet::wire
