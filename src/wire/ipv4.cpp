#include "wire/ipv4.h"

#include "wire/checksum.h"

namespace usnet::wire {

Parsed<Ipv4Header> Ipv4Header::parse(ByteSpan b, bool verify_checksum) noexcept {
  if (b.size() < kMinSize) return ParseError::kTruncated;
  const std::uint8_t vihl = load_u8(b, 0);
  if ((vihl >> 4) != 4) return ParseError::kBadVersion;
  Ipv4Header h;
  h.header_length = static_cast<std::uint8_t>((vihl & 0x0f) * 4);
  if (h.header_length < kMinSize) return ParseError::kBadHeaderLength;
  if (h.header_length > b.size()) return ParseError::kTruncated;
  h.tos = load_u8(b, 1);
  h.total_length = load_be<std::uint16_t>(b, 2);
  if (h.total_length < h.header_length) return ParseError::kBadLength;
  if (h.total_length > b.size()) return ParseError::kTruncated;
  h.id = load_be<std::uint16_t>(b, 4);
  const auto frag = load_be<std::uint16_t>(b, 6);
  // The reserved flag bit (0x8000) must be zero (RFC 791); Linux ignores it, so do we.
  h.dont_fragment = (frag & kFlagDontFragment) != 0;
  h.more_fragments = (frag & kFlagMoreFragments) != 0;
  h.fragment_offset = static_cast<std::uint16_t>((frag & kOffsetMask) * 8);
  h.ttl = load_u8(b, 8);
  h.protocol = load_u8(b, 9);
  h.checksum = load_be<std::uint16_t>(b, 10);
  h.src.value = load_be<std::uint32_t>(b, 12);
  h.dst.value = load_be<std::uint32_t>(b, 16);
  if (verify_checksum && wire::checksum(b.first(h.header_length)) != 0)
    return ParseError::kBadChecksum;
  return h;
}

void Ipv4Header::emit(MutableByteSpan out) const noexcept {
  store_u8(out, 0, 0x45);
  store_u8(out, 1, tos);
  store_be<std::uint16_t>(out, 2, total_length);
  store_be<std::uint16_t>(out, 4, id);
  std::uint16_t frag = static_cast<std::uint16_t>((fragment_offset / 8) & kOffsetMask);
  if (dont_fragment) frag |= kFlagDontFragment;
  if (more_fragments) frag |= kFlagMoreFragments;
  store_be<std::uint16_t>(out, 6, frag);
  store_u8(out, 8, ttl);
  store_u8(out, 9, protocol);
  store_be<std::uint16_t>(out, 10, 0);
  store_be<std::uint32_t>(out, 12, src.value);
  store_be<std::uint32_t>(out, 16, dst.value);
  store_be<std::uint16_t>(out, 10, checksum_finish(checksum_partial(out.first(kMinSize))));
}

}  // namespace usnet::wire
