#include "wire/icmpv4.h"

#include "wire/checksum.h"

namespace usnet::wire {

Parsed<IcmpHeader> IcmpHeader::parse(ByteSpan b) noexcept {
  if (b.size() < kSize) return ParseError::kTruncated;
  if (wire::checksum(b) != 0) return ParseError::kBadChecksum;
  IcmpHeader h;
  h.type = load_u8(b, 0);
  h.code = load_u8(b, 1);
  h.checksum = load_be<std::uint16_t>(b, 2);
  h.ident = load_be<std::uint16_t>(b, 4);
  h.sequence = load_be<std::uint16_t>(b, 6);
  return h;
}

void IcmpHeader::emit(MutableByteSpan out) const noexcept {
  store_u8(out, 0, type);
  store_u8(out, 1, code);
  store_be<std::uint16_t>(out, 2, 0);
  store_be<std::uint16_t>(out, 4, ident);
  store_be<std::uint16_t>(out, 6, sequence);
}

void IcmpHeader::finish_checksum(MutableByteSpan message) noexcept {
  store_be<std::uint16_t>(message, 2, 0);
  store_be<std::uint16_t>(message, 2, wire::checksum(message));
}

}  // namespace usnet::wire
