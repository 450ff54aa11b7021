#include "wire/arp.h"

#include <cstring>

namespace usnet::wire {

Parsed<ArpPacket> ArpPacket::parse(ByteSpan b) noexcept {
  if (b.size() < kSize) return ParseError::kTruncated;
  if (load_be<std::uint16_t>(b, 0) != 1 || load_be<std::uint16_t>(b, 2) != 0x0800 ||
      load_u8(b, 4) != 6 || load_u8(b, 5) != 4) {
    return ParseError::kUnsupported;
  }
  const auto op = load_be<std::uint16_t>(b, 6);
  if (op != 1 && op != 2) return ParseError::kUnsupported;
  ArpPacket p;
  p.op = static_cast<ArpOp>(op);
  std::memcpy(p.sender_mac.octets.data(), b.data() + 8, 6);
  p.sender_ip.value = load_be<std::uint32_t>(b, 14);
  std::memcpy(p.target_mac.octets.data(), b.data() + 18, 6);
  p.target_ip.value = load_be<std::uint32_t>(b, 24);
  return p;
}

void ArpPacket::emit(MutableByteSpan out) const noexcept {
  store_be<std::uint16_t>(out, 0, 1);
  store_be<std::uint16_t>(out, 2, 0x0800);
  store_u8(out, 4, 6);
  store_u8(out, 5, 4);
  store_be<std::uint16_t>(out, 6, static_cast<std::uint16_t>(op));
  std::memcpy(out.data() + 8, sender_mac.octets.data(), 6);
  store_be<std::uint32_t>(out, 14, sender_ip.value);
  std::memcpy(out.data() + 18, target_mac.octets.data(), 6);
  store_be<std::uint32_t>(out, 24, target_ip.value);
}

}  // namespace usnet::wire
