// The IPv6 extension-header chain (RFC 8200 section 4): hop-by-hop options (4.3), routing
// (4.4), fragment (4.5) and destination options (4.6). Stateless views only: what to do
// with a header (refuse routing type 0 per RFC 5095, answer an unknown option per 4.2,
// reassemble a fragment) is the network layer's. Each refusal carries the offset of the
// field at fault, which is the ICMPv6 parameter problem's pointer (RFC 4443 3.4).
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"
#include "wire/parse_error.h"

namespace usnet::wire {

// Protocol numbers of the extension headers this stack walks (IANA "IPv6 Extension
// Header Types"). AH, ESP, mobility, HIP and shim6 are not walked: to usnet they are upper
// layers it does not implement, which Linux (without those modules) answers the same way.
enum class Ipv6Ext : std::uint8_t {
  kHopByHop = 0,
  kRouting = 43,
  kFragment = 44,
  kNoNextHeader = 59,  // RFC 8200 4.7: nothing follows; not an extension header to walk
  kDestOptions = 60,
};

constexpr bool is_walked_extension(std::uint8_t next_header) {
  return next_header == 0 || next_header == 43 || next_header == 44 || next_header == 60;
}

struct Ipv6ExtHeader {
  std::uint8_t type = 0;         // this header's protocol number (the previous next header)
  std::uint8_t next_header = 0;  // what follows it
  std::size_t offset = 0;        // from the start of the IPv6 packet
  ByteSpan bytes;                // the whole header, its 2-byte prefix included
};

// A refusal of the chain: the reason and the offset (from the start of the IPv6 packet)
// of the byte at fault.
struct Ipv6ExtError {
  ParseError error = ParseError::kMalformed;
  std::size_t pointer = 0;
};

// Walks the chain of one packet. `packet` is the IPv6 packet from its fixed header, already
// trimmed to 40 + payload length. Usage: while (walker.at_extension()) walker.next(...).
class Ipv6ExtWalker {
 public:
  explicit Ipv6ExtWalker(ByteSpan packet) noexcept;

  // Whether the current next header is one of the four walked here.
  bool at_extension() const noexcept { return is_walked_extension(next_header_); }
  // The header at the current position, after which the walker stands behind it. Refuses
  // a header extending past the packet (kTruncated) and a hop-by-hop header anywhere but
  // first (kMalformed, pointer at the next-header field naming it: RFC 8200 4.1, as
  // Linux's ICMPv6 code 1 does).
  std::optional<Ipv6ExtHeader> next(Ipv6ExtError& error) noexcept;

  std::uint8_t next_header() const noexcept { return next_header_; }
  // Offset of the byte holding next_header(): 6 in the fixed header, or 0 of the last
  // extension header (the parameter problem pointer for an unknown next header).
  std::size_t next_header_offset() const noexcept { return next_header_offset_; }
  // Offset where the header named by next_header() starts (the upper layer when
  // !at_extension()).
  std::size_t offset() const noexcept { return offset_; }

 private:
  ByteSpan packet_;
  std::uint8_t next_header_;
  std::size_t next_header_offset_ = 6;
  std::size_t offset_ = 40;
  bool first_ = true;
};

// RFC 8200 4.2: the two high-order bits of an option type say what to do when the type is
// not recognised.
enum class Ipv6OptionAction : std::uint8_t {
  kSkip = 0,                // 00: skip over the option
  kDiscard = 1,             // 01: discard silently
  kDiscardIcmp = 2,         // 10: discard, parameter problem code 2 even if dst is multicast
  kDiscardIcmpUnicast = 3,  // 11: discard, parameter problem code 2 only if dst is unicast
};
constexpr Ipv6OptionAction option_action(std::uint8_t type) {
  return static_cast<Ipv6OptionAction>(type >> 6);
}
// The third-highest bit: whether the option data may change en route (RFC 8200 4.2).
constexpr bool option_may_change(std::uint8_t type) {
  return (type & 0x20) != 0;
}

struct Ipv6Option {
  static constexpr std::uint8_t kPad1 = 0;
  static constexpr std::uint8_t kPadN = 1;
  static constexpr std::uint8_t kRouterAlert = 5;  // RFC 2711, carried by MLD

  std::uint8_t type = 0;
  ByteSpan data;           // empty for Pad1
  std::size_t offset = 0;  // of the type byte, from the start of the IPv6 packet
};

// The options of a hop-by-hop or destination options header (RFC 8200 4.2), Pad1 and PadN
// included so that the caller sees every type byte. An option whose length runs past the
// header is refused (kMalformed, pointer at its length byte); Linux drops such packets.
class Ipv6OptionIter {
 public:
  explicit Ipv6OptionIter(const Ipv6ExtHeader& header) noexcept;
  std::optional<Ipv6Option> next(Ipv6ExtError& error) noexcept;

 private:
  ByteSpan bytes_;
  std::size_t base_;  // offset of bytes_ in the packet
  std::size_t pos_ = 2;
};

// Routing header (RFC 8200 4.4): the type-specific data is left to the caller, which must
// refuse type 0 with segments left > 0 (RFC 5095 3) and any unknown type with segments
// left > 0 (parameter problem code 0 at the type byte); segments left 0 is ignored.
struct Ipv6RoutingHeader {
  std::uint8_t routing_type = 0;
  std::uint8_t segments_left = 0;
  ByteSpan type_data;  // from byte 4 to the end of the header

  static constexpr std::size_t kTypeOffset = 2;  // for the parameter problem pointer
  static Ipv6RoutingHeader from(const Ipv6ExtHeader& header) noexcept;
};

// Fragment header (RFC 8200 4.5). The fragment offset is kept in bytes (the field counts
// 8-byte units).
struct Ipv6FragmentHeader {
  static constexpr std::size_t kSize = 8;

  std::uint8_t next_header = 0;
  std::uint16_t offset = 0;  // bytes, a multiple of 8
  bool more_fragments = false;
  std::uint32_t identification = 0;

  // RFC 6946: offset 0 and M clear, the whole packet in one "fragment", processed at once
  // and never mixed with fragments being reassembled.
  bool is_atomic() const noexcept { return offset == 0 && !more_fragments; }

  static Parsed<Ipv6FragmentHeader> parse(ByteSpan header) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// The 8-byte hop-by-hop header that MLD messages carry (RFC 3810 5: router alert, RFC 2711
// value 0 = MLD) padded with a 2-byte PadN, as Linux sends it.
inline constexpr std::size_t kRouterAlertHopByHopSize = 8;
void emit_router_alert_hop_by_hop(MutableByteSpan out, std::uint8_t next_header) noexcept;

}  // namespace usnet::wire
