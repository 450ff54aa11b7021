#include "wire/icmpv6.h"

#include "wire/checksum.h"

namespace usnet::wire {
namespace {

constexpr std::uint8_t kIcmpv6 = 58;

std::uint32_t sum_with_pseudo(ByteSpan message, const Ipv6Address& src, const Ipv6Address& dst) {
  return checksum_partial(
      message, pseudo_header_sum_v6(src, dst, kIcmpv6, static_cast<std::uint32_t>(message.size())));
}

}  // namespace

Parsed<Icmpv6Header> Icmpv6Header::parse(ByteSpan b, const Ipv6Address& src,
                                         const Ipv6Address& dst) noexcept {
  if (b.size() < kSize) return ParseError::kTruncated;
  if (checksum_finish(sum_with_pseudo(b, src, dst)) != 0) return ParseError::kBadChecksum;
  Icmpv6Header h;
  h.type = load_u8(b, 0);
  h.code = load_u8(b, 1);
  h.checksum = load_be<std::uint16_t>(b, 2);
  h.word = load_be<std::uint32_t>(b, 4);
  return h;
}

void Icmpv6Header::emit(MutableByteSpan out) const noexcept {
  store_u8(out, 0, type);
  store_u8(out, 1, code);
  store_be<std::uint16_t>(out, 2, 0);
  store_be<std::uint32_t>(out, 4, word);
}

void Icmpv6Header::finish_checksum(MutableByteSpan message, const Ipv6Address& src,
                                   const Ipv6Address& dst) noexcept {
  store_be<std::uint16_t>(message, 2, 0);
  store_be<std::uint16_t>(message, 2, checksum_finish(sum_with_pseudo(message, src, dst)));
}

}  // namespace usnet::wire
