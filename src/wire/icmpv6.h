// ICMPv6 (RFC 4443): the 8-byte header of the error messages (destination unreachable,
// packet too big, time exceeded, parameter problem) and of echo. The checksum covers the
// IPv6 pseudo-header (RFC 4443 2.3, RFC 8200 8.1), so parse and finish_checksum take the
// addresses. Neighbour discovery and MLD messages share the header; their bodies are in
// wire/ndp.h.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "wire/ipv6.h"
#include "wire/parse_error.h"

namespace usnet::wire {

enum class Icmpv6Type : std::uint8_t {
  kDestUnreachable = 1,
  kPacketTooBig = 2,
  kTimeExceeded = 3,
  kParameterProblem = 4,
  kEchoRequest = 128,
  kEchoReply = 129,
  kMldQuery = 130,               // RFC 2710 / RFC 3810 5.1
  kRouterSolicitation = 133,     // RFC 4861 4.1
  kRouterAdvertisement = 134,    // RFC 4861 4.2
  kNeighborSolicitation = 135,   // RFC 4861 4.3
  kNeighborAdvertisement = 136,  // RFC 4861 4.4
  kRedirect = 137,               // RFC 4861 4.5
  kMldv2Report = 143,            // RFC 3810 5.2
};

// RFC 4443 2.1: types 0-127 are errors, never sent in answer to an error (2.4 (e)).
constexpr bool is_icmpv6_error(std::uint8_t type) {
  return type < 128;
}

enum class Icmpv6UnreachCode : std::uint8_t {
  kNoRoute = 0,
  kAdminProhibited = 1,
  kBeyondScope = 2,
  kAddressUnreachable = 3,
  kPortUnreachable = 4,
  kSourcePolicyFailed = 5,
  kRejectRoute = 6,
};
enum class Icmpv6TimeExceededCode : std::uint8_t { kHopLimit = 0, kReassembly = 1 };
enum class Icmpv6ParamProblemCode : std::uint8_t {
  kErroneousField = 0,
  kUnknownNextHeader = 1,
  kUnknownOption = 2,
  kIncompleteChain = 3,  // RFC 7112: first fragment without the whole header chain
};

struct Icmpv6Header {
  static constexpr std::size_t kSize = 8;
  // RFC 4443 2.4 (c): an error message carries as much of the invoking packet as fits in
  // the minimum IPv6 MTU (RFC 8200 5: 1280) with its own IPv6 header; Linux sends 1240.
  static constexpr std::size_t kMaxErrorMessage = 1280 - Ipv6Header::kSize;

  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint16_t checksum = 0;  // as received; finish_checksum computes its own
  // Bytes 4..7: identifier and sequence for echo (RFC 4443 4.1), the MTU for packet too
  // big (3.2), the pointer for parameter problem (3.4), unused (0) otherwise; NDP and MLD
  // keep their flags and reserved bytes here.
  std::uint32_t word = 0;

  std::uint16_t ident() const noexcept { return static_cast<std::uint16_t>(word >> 16); }
  std::uint16_t sequence() const noexcept { return static_cast<std::uint16_t>(word); }
  std::uint32_t mtu() const noexcept { return word; }
  std::uint32_t pointer() const noexcept { return word; }

  static Icmpv6Header echo(Icmpv6Type type, std::uint16_t ident, std::uint16_t sequence) {
    return {static_cast<std::uint8_t>(type), 0, 0, (std::uint32_t{ident} << 16) | sequence};
  }
  static Icmpv6Header error(Icmpv6Type type, std::uint8_t code, std::uint32_t word = 0) {
    return {static_cast<std::uint8_t>(type), code, 0, word};
  }

  // Verifies the checksum over the whole message (header and data) with the pseudo-header
  // of src and dst.
  static Parsed<Icmpv6Header> parse(ByteSpan message, const Ipv6Address& src,
                                    const Ipv6Address& dst) noexcept;
  // Writes the header with a 0 checksum; finish_checksum fills it once the data follows.
  void emit(MutableByteSpan out) const noexcept;
  static void finish_checksum(MutableByteSpan message, const Ipv6Address& src,
                              const Ipv6Address& dst) noexcept;
};

}  // namespace usnet::wire
