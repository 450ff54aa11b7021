#include "wire/ipv6.h"

#include <cstring>

#include <fmt/format.h>

#include "wire/checksum.h"

namespace usnet::wire {

Parsed<Ipv6Header> Ipv6Header::parse(ByteSpan b) noexcept {
  if (b.size() < kSize) return ParseError::kTruncated;
  const auto word = load_be<std::uint32_t>(b, 0);
  if ((word >> 28) != 6) return ParseError::kBadVersion;
  Ipv6Header h;
  h.traffic_class = static_cast<std::uint8_t>(word >> 20);
  h.flow_label = word & 0xfffff;
  h.payload_length = load_be<std::uint16_t>(b, 4);
  if (kSize + h.payload_length > b.size()) return ParseError::kTruncated;
  h.next_header = load_u8(b, 6);
  h.hop_limit = load_u8(b, 7);
  h.src = Ipv6Address::from_bytes(b.subspan(8));
  h.dst = Ipv6Address::from_bytes(b.subspan(24));
  return h;
}

void Ipv6Header::emit(MutableByteSpan out) const noexcept {
  store_be<std::uint32_t>(
      out, 0, (6U << 28) | (std::uint32_t{traffic_class} << 20) | (flow_label & 0xfffff));
  store_be<std::uint16_t>(out, 4, payload_length);
  store_u8(out, 6, next_header);
  store_u8(out, 7, hop_limit);
  src.store(out.subspan(8));
  dst.store(out.subspan(24));
}

std::uint32_t pseudo_header_sum_v6(const Ipv6Address& src, const Ipv6Address& dst,
                                   std::uint8_t next_header, std::uint32_t length) noexcept {
  return pseudo_header_sum(IpAddress(src), IpAddress(dst), next_header, length);
}

Ipv6Address solicited_node(const Ipv6Address& a) noexcept {
  Ipv6Address g;
  g.bytes[0] = 0xff;
  g.bytes[1] = 0x02;
  g.bytes[11] = 0x01;
  g.bytes[12] = 0xff;
  g.bytes[13] = a.bytes[13];
  g.bytes[14] = a.bytes[14];
  g.bytes[15] = a.bytes[15];
  return g;
}

MacAddress multicast_mac(const Ipv6Address& group) noexcept {
  return {{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]}};
}

}  // namespace usnet::wire
