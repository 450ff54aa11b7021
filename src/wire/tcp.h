// TCP header (RFC 9293 section 3.1) and the options the connection machine needs:
// MSS (RFC 9293 3.7.1, RFC 6691), window scale and timestamps (RFC 7323), SACK-permitted
// and SACK blocks (RFC 2018), with NOP and End of Option List.
//
// Option parsing follows Linux's tcp_parse_options: unknown options are skipped by their
// length; an option whose length is below 2 or runs past the header ends option parsing
// (what came before it stands; the segment itself is still accepted, since its header
// length and checksum were fine). An option of a known kind with the wrong length is
// ignored, as Linux does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/parse_error.h"

namespace usnet::wire {

struct SackBlock {
  std::uint32_t left = 0;   // first sequence number of the block
  std::uint32_t right = 0;  // sequence number just past the block
  friend bool operator==(const SackBlock&, const SackBlock&) = default;
};

// RFC 7413 4.1.1: a Fast Open cookie is 4 to 16 bytes, even; an empty option asks for one.
struct FastOpenCookie {
  static constexpr std::size_t kMin = 4;
  static constexpr std::size_t kMax = 16;
  std::array<std::uint8_t, kMax> val{};
  // Cookie bytes; -1 for an option of a length no cookie can have (Linux foc->len = -1).
  std::int8_t len = 0;
  bool exp = false;  // sent or received as the experimental option 254/0xF989
  ByteSpan bytes() const noexcept {
    return {reinterpret_cast<const std::byte*>(val.data()),
            len > 0 ? static_cast<std::size_t>(len) : 0};
  }
  friend bool operator==(const FastOpenCookie&, const FastOpenCookie&) = default;
};

struct TcpOptions {
  std::optional<std::uint16_t> mss;
  std::optional<std::uint8_t> window_scale;  // shift count, clamped to 14 on parse (RFC 7323 2.3)
  bool sack_permitted = false;
  std::optional<std::uint32_t> ts_val;  // timestamps: both set or neither
  std::optional<std::uint32_t> ts_ecr;
  std::array<SackBlock, 4> sack{};
  std::uint8_t sack_count = 0;
  std::optional<FastOpenCookie> fastopen;

  // Bytes these options take on the wire, padded to a multiple of 4.
  std::size_t size() const noexcept;
  friend bool operator==(const TcpOptions&, const TcpOptions&) = default;
};

enum TcpFlags : std::uint8_t {
  kTcpFin = 0x01,
  kTcpSyn = 0x02,
  kTcpRst = 0x04,
  kTcpPsh = 0x08,
  kTcpAck = 0x10,
  kTcpUrg = 0x20,
  kTcpEce = 0x40,
  kTcpCwr = 0x80,
};

enum class TcpOptionKind : std::uint8_t {
  kEnd = 0,
  kNop = 1,
  kMss = 2,
  kWindowScale = 3,
  kSackPermitted = 4,
  kSack = 5,
  kTimestamps = 8,
  kFastOpen = 34,       // RFC 7413 2
  kExperimental = 254,  // RFC 6994 shared experimental option; Fast Open's magic 0xF989
};

inline constexpr std::uint16_t kFastOpenMagic = 0xF989;

struct TcpHeader {
  static constexpr std::size_t kMinSize = 20;
  static constexpr std::size_t kMaxSize = 60;
  static constexpr std::uint8_t kMaxWindowScale = 14;

  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t header_length = kMinSize;  // data offset in bytes, as parsed
  std::uint8_t flags = 0;                 // TcpFlags
  std::uint16_t window = 0;
  std::uint16_t checksum = 0;  // as received; emit() leaves it for finish_checksum
  std::uint16_t urgent = 0;
  TcpOptions options;

  bool has(std::uint8_t f) const noexcept { return (flags & f) != 0; }
  // Header bytes emit() writes: 20 plus the padded options.
  std::size_t size() const noexcept { return kMinSize + options.size(); }

  // `segment` is the IP payload (header and data). Checks the data offset against the
  // segment and, when verify_checksum, the checksum with the pseudo-header of src/dst.
  static Parsed<TcpHeader> parse(ByteSpan segment, const IpAddress& src, const IpAddress& dst,
                                 bool verify_checksum = true) noexcept;
  // Writes size() bytes: the fixed header with checksum 0, then the options in the order
  // Linux sends them on a SYN (MSS, SACK-permitted with timestamps, window scale), NOPs
  // aligning each to its natural boundary, Fast Open last (Linux tcp_options_write).
  // Precondition: out.size() >= size() <= 60.
  void emit(MutableByteSpan out) const noexcept;
  // Computes and stores the checksum over a whole segment (header + data).
  static void finish_checksum(MutableByteSpan segment, const IpAddress& src,
                              const IpAddress& dst) noexcept;
};

}  // namespace usnet::wire
