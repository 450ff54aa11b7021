#include "wire/udp.h"

#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace usnet::wire {

Parsed<UdpHeader> UdpHeader::parse(ByteSpan b, const IpAddress& src,
                                   const IpAddress& dst) noexcept {
  if (b.size() < kSize) return ParseError::kTruncated;
  UdpHeader h;
  h.src_port = load_be<std::uint16_t>(b, 0);
  h.dst_port = load_be<std::uint16_t>(b, 2);
  h.length = load_be<std::uint16_t>(b, 4);
  h.checksum = load_be<std::uint16_t>(b, 6);
  if (h.length < kSize) return ParseError::kBadLength;
  if (h.length > b.size()) return ParseError::kTruncated;
  if (h.checksum == 0 && src.is_v6()) return ParseError::kBadChecksum;
  if (h.checksum != 0) {
    const std::uint32_t ph =
        pseudo_header_sum(src, dst, static_cast<std::uint8_t>(IpProtocol::kUdp), h.length);
    if (checksum_finish(checksum_partial(b.first(h.length), ph)) != 0) {
      return ParseError::kBadChecksum;
    }
  }
  return h;
}

void UdpHeader::emit(MutableByteSpan out) const noexcept {
  store_be<std::uint16_t>(out, 0, src_port);
  store_be<std::uint16_t>(out, 2, dst_port);
  store_be<std::uint16_t>(out, 4, length);
  store_be<std::uint16_t>(out, 6, 0);
}

void UdpHeader::finish_checksum(MutableByteSpan d, const IpAddress& src,
                                const IpAddress& dst) noexcept {
  store_be<std::uint16_t>(d, 6, 0);
  const std::uint32_t ph = pseudo_header_sum(src, dst, static_cast<std::uint8_t>(IpProtocol::kUdp),
                                             static_cast<std::uint32_t>(d.size()));
  std::uint16_t c = checksum_finish(checksum_partial(d, ph));
  if (c == 0) c = 0xffff;  // RFC 768: a computed zero is transmitted as all ones
  store_be<std::uint16_t>(d, 6, c);
}

}  // namespace usnet::wire
