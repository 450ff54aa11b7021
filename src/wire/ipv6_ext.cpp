#include "wire/ipv6_ext.h"

namespace usnet::wire {

Ipv6ExtWalker::Ipv6ExtWalker(ByteSpan packet) noexcept
    : packet_(packet), next_header_(packet.size() > 6 ? load_u8(packet, 6) : 59) {}

std::optional<Ipv6ExtHeader> Ipv6ExtWalker::next(Ipv6ExtError& error) noexcept {
  if (!at_extension()) {
    error = {ParseError::kUnsupported, next_header_offset_};
    return std::nullopt;
  }
  // RFC 8200 4.3: hop-by-hop options only immediately after the fixed header.
  if (next_header_ == static_cast<std::uint8_t>(Ipv6Ext::kHopByHop) && !first_) {
    error = {ParseError::kMalformed, next_header_offset_};
    return std::nullopt;
  }
  if (offset_ + 8 > packet_.size()) {
    error = {ParseError::kTruncated, offset_};
    return std::nullopt;
  }
  Ipv6ExtHeader h;
  h.type = next_header_;
  h.next_header = load_u8(packet_, offset_);
  h.offset = offset_;
  // The fragment header has no length field: its second byte is reserved (RFC 8200 4.5).
  const std::size_t size = h.type == static_cast<std::uint8_t>(Ipv6Ext::kFragment)
                               ? Ipv6FragmentHeader::kSize
                               : (std::size_t{load_u8(packet_, offset_ + 1)} + 1) * 8;
  if (offset_ + size > packet_.size()) {
    error = {ParseError::kTruncated, offset_ + 1};
    return std::nullopt;
  }
  h.bytes = packet_.subspan(offset_, size);
  first_ = false;
  next_header_ = h.next_header;
  next_header_offset_ = offset_;
  offset_ += size;
  return h;
}

Ipv6OptionIter::Ipv6OptionIter(const Ipv6ExtHeader& header) noexcept
    : bytes_(header.bytes), base_(header.offset) {}

std::optional<Ipv6Option> Ipv6OptionIter::next(Ipv6ExtError& error) noexcept {
  if (pos_ >= bytes_.size()) return std::nullopt;
  Ipv6Option o;
  o.type = load_u8(bytes_, pos_);
  o.offset = base_ + pos_;
  if (o.type == Ipv6Option::kPad1) {
    ++pos_;
    return o;
  }
  if (pos_ + 2 > bytes_.size() || pos_ + 2 + load_u8(bytes_, pos_ + 1) > bytes_.size()) {
    error = {ParseError::kMalformed, base_ + pos_ + 1};
    pos_ = bytes_.size();
    return std::nullopt;
  }
  const std::size_t len = load_u8(bytes_, pos_ + 1);
  o.data = bytes_.subspan(pos_ + 2, len);
  pos_ += 2 + len;
  return o;
}

Ipv6RoutingHeader Ipv6RoutingHeader::from(const Ipv6ExtHeader& header) noexcept {
  // Ipv6ExtWalker guarantees at least 8 bytes.
  return {load_u8(header.bytes, 2), load_u8(header.bytes, 3), header.bytes.subspan(4)};
}

Parsed<Ipv6FragmentHeader> Ipv6FragmentHeader::parse(ByteSpan b) noexcept {
  if (b.size() < kSize) return ParseError::kTruncated;
  Ipv6FragmentHeader h;
  h.next_header = load_u8(b, 0);
  const auto field = load_be<std::uint16_t>(b, 2);
  h.offset = static_cast<std::uint16_t>(field & 0xfff8);  // 13 bits of 8-byte units
  h.more_fragments = (field & 1) != 0;
  h.identification = load_be<std::uint32_t>(b, 4);
  return h;
}

void Ipv6FragmentHeader::emit(MutableByteSpan out) const noexcept {
  store_u8(out, 0, next_header);
  store_u8(out, 1, 0);
  store_be<std::uint16_t>(out, 2,
                          static_cast<std::uint16_t>((offset & 0xfff8) | (more_fragments ? 1 : 0)));
  store_be<std::uint32_t>(out, 4, identification);
}

void emit_router_alert_hop_by_hop(MutableByteSpan out, std::uint8_t next_header) noexcept {
  store_u8(out, 0, next_header);
  store_u8(out, 1, 0);  // (0 + 1) * 8 bytes
  store_u8(out, 2, Ipv6Option::kRouterAlert);
  store_u8(out, 3, 2);
  store_be<std::uint16_t>(out, 4, 0);  // RFC 2711: 0 = MLD
  store_u8(out, 6, Ipv6Option::kPadN);
  store_u8(out, 7, 0);
}

}  // namespace usnet::wire
