#include "wire/ndp.h"

#include <cstring>

#include "wire/icmpv6.h"

namespace usnet::wire {
namespace {

// The ICMPv6 type and code checks every message starts with, then the size of its fixed
// part and the validity of its options.
std::optional<ParseError> check(ByteSpan b, Icmpv6Type type, std::size_t size) {
  if (b.size() < 2) return ParseError::kTruncated;
  if (load_u8(b, 0) != static_cast<std::uint8_t>(type)) return ParseError::kUnsupported;
  if (load_u8(b, 1) != 0) return ParseError::kMalformed;
  if (b.size() < size) return ParseError::kTruncated;
  if (!NdpOptionIter::valid(b.subspan(size))) return ParseError::kMalformed;
  return std::nullopt;
}

void emit_icmp(MutableByteSpan out, Icmpv6Type type, std::uint32_t word) {
  Icmpv6Header::error(type, 0, word).emit(out);
}

}  // namespace

std::optional<NdpOption> NdpOptionIter::next(std::optional<ParseError>& error) noexcept {
  if (pos_ >= bytes_.size()) return std::nullopt;
  if (pos_ + 2 > bytes_.size()) {
    error = ParseError::kTruncated;
    pos_ = bytes_.size();
    return std::nullopt;
  }
  const std::size_t len = std::size_t{load_u8(bytes_, pos_ + 1)} * 8;
  if (len == 0) {
    error = ParseError::kMalformed;  // RFC 4861 4.6: length 0 invalidates the message
    pos_ = bytes_.size();
    return std::nullopt;
  }
  if (pos_ + len > bytes_.size()) {
    error = ParseError::kTruncated;
    pos_ = bytes_.size();
    return std::nullopt;
  }
  NdpOption o{load_u8(bytes_, pos_), bytes_.subspan(pos_, len), base_ + pos_};
  pos_ += len;
  return o;
}

bool NdpOptionIter::valid(ByteSpan options) noexcept {
  NdpOptionIter it(options, 0);
  std::optional<ParseError> err;
  while (it.next(err)) {
  }
  return !err;
}

std::optional<MacAddress> link_layer_address(const NdpOption& o) noexcept {
  // On Ethernet the option is exactly 8 bytes (RFC 2464 section 8).
  if (o.bytes.size() != kLinkAddrOptionSize) return std::nullopt;
  MacAddress mac;
  std::memcpy(mac.octets.data(), o.bytes.data() + 2, 6);
  return mac;
}

void emit_link_layer_option(MutableByteSpan out, NdpOptionType type,
                            const MacAddress& mac) noexcept {
  store_u8(out, 0, static_cast<std::uint8_t>(type));
  store_u8(out, 1, 1);
  std::memcpy(out.data() + 2, mac.octets.data(), 6);
}

Parsed<NdpPrefixInfo> NdpPrefixInfo::parse(const NdpOption& o) noexcept {
  if (o.bytes.size() != kSize) return ParseError::kMalformed;
  NdpPrefixInfo p;
  p.prefix_length = load_u8(o.bytes, 2);
  if (p.prefix_length > 128) return ParseError::kMalformed;
  const std::uint8_t flags = load_u8(o.bytes, 3);
  p.on_link = (flags & 0x80) != 0;
  p.autonomous = (flags & 0x40) != 0;
  p.valid_lifetime = load_be<std::uint32_t>(o.bytes, 4);
  p.preferred_lifetime = load_be<std::uint32_t>(o.bytes, 8);
  p.prefix = Ipv6Address::from_bytes(o.bytes.subspan(16));
  return p;
}

void NdpPrefixInfo::emit(MutableByteSpan out) const noexcept {
  store_u8(out, 0, static_cast<std::uint8_t>(NdpOptionType::kPrefixInfo));
  store_u8(out, 1, kSize / 8);
  store_u8(out, 2, prefix_length);
  store_u8(out, 3, static_cast<std::uint8_t>((on_link ? 0x80 : 0) | (autonomous ? 0x40 : 0)));
  store_be<std::uint32_t>(out, 4, valid_lifetime);
  store_be<std::uint32_t>(out, 8, preferred_lifetime);
  store_be<std::uint32_t>(out, 12, 0);
  prefix.store(out.subspan(16));
}

Parsed<NdpMtu> NdpMtu::parse(const NdpOption& o) noexcept {
  if (o.bytes.size() != kSize) return ParseError::kMalformed;
  return NdpMtu{load_be<std::uint32_t>(o.bytes, 4)};
}

void NdpMtu::emit(MutableByteSpan out) const noexcept {
  store_u8(out, 0, static_cast<std::uint8_t>(NdpOptionType::kMtu));
  store_u8(out, 1, 1);
  store_be<std::uint16_t>(out, 2, 0);
  store_be<std::uint32_t>(out, 4, mtu);
}

Parsed<NdpRouterSolicitation> NdpRouterSolicitation::parse(ByteSpan b) noexcept {
  if (auto e = check(b, Icmpv6Type::kRouterSolicitation, kSize)) return *e;
  return NdpRouterSolicitation{b.subspan(kSize)};
}

void NdpRouterSolicitation::emit(MutableByteSpan out) const noexcept {
  emit_icmp(out, Icmpv6Type::kRouterSolicitation, 0);
}

Parsed<NdpRouterAdvertisement> NdpRouterAdvertisement::parse(ByteSpan b) noexcept {
  if (auto e = check(b, Icmpv6Type::kRouterAdvertisement, kSize)) return *e;
  NdpRouterAdvertisement ra;
  ra.cur_hop_limit = load_u8(b, 4);
  const std::uint8_t flags = load_u8(b, 5);
  ra.managed = (flags & 0x80) != 0;
  ra.other = (flags & 0x40) != 0;
  ra.preference = static_cast<std::uint8_t>((flags >> 3) & 0x3);
  ra.router_lifetime = load_be<std::uint16_t>(b, 6);
  ra.reachable_time = load_be<std::uint32_t>(b, 8);
  ra.retrans_timer = load_be<std::uint32_t>(b, 12);
  ra.options = b.subspan(kSize);
  return ra;
}

void NdpRouterAdvertisement::emit(MutableByteSpan out) const noexcept {
  const auto flags = static_cast<std::uint8_t>((managed ? 0x80 : 0) | (other ? 0x40 : 0) |
                                               ((preference & 0x3) << 3));
  emit_icmp(out, Icmpv6Type::kRouterAdvertisement,
            (std::uint32_t{cur_hop_limit} << 24) | (std::uint32_t{flags} << 16) | router_lifetime);
  store_be<std::uint32_t>(out, 8, reachable_time);
  store_be<std::uint32_t>(out, 12, retrans_timer);
}

Parsed<NdpNeighborSolicitation> NdpNeighborSolicitation::parse(ByteSpan b) noexcept {
  if (auto e = check(b, Icmpv6Type::kNeighborSolicitation, kSize)) return *e;
  NdpNeighborSolicitation ns;
  ns.target = Ipv6Address::from_bytes(b.subspan(8));
  if (ns.target.is_multicast()) return ParseError::kMalformed;
  ns.options = b.subspan(kSize);
  return ns;
}

void NdpNeighborSolicitation::emit(MutableByteSpan out) const noexcept {
  emit_icmp(out, Icmpv6Type::kNeighborSolicitation, 0);
  target.store(out.subspan(8));
}

Parsed<NdpNeighborAdvertisement> NdpNeighborAdvertisement::parse(ByteSpan b) noexcept {
  if (auto e = check(b, Icmpv6Type::kNeighborAdvertisement, kSize)) return *e;
  NdpNeighborAdvertisement na;
  const std::uint8_t flags = load_u8(b, 4);
  na.router = (flags & 0x80) != 0;
  na.solicited = (flags & 0x40) != 0;
  na.override = (flags & 0x20) != 0;
  na.target = Ipv6Address::from_bytes(b.subspan(8));
  if (na.target.is_multicast()) return ParseError::kMalformed;
  na.options = b.subspan(kSize);
  return na;
}

void NdpNeighborAdvertisement::emit(MutableByteSpan out) const noexcept {
  const std::uint32_t flags =
      (router ? 0x80U : 0U) | (solicited ? 0x40U : 0U) | (override ? 0x20U : 0U);
  emit_icmp(out, Icmpv6Type::kNeighborAdvertisement, flags << 24);
  target.store(out.subspan(8));
}

Parsed<NdpRedirect> NdpRedirect::parse(ByteSpan b) noexcept {
  if (auto e = check(b, Icmpv6Type::kRedirect, kSize)) return *e;
  NdpRedirect r;
  r.target = Ipv6Address::from_bytes(b.subspan(8));
  r.destination = Ipv6Address::from_bytes(b.subspan(24));
  // RFC 4861 8.1: the target is link-local (a better router) or the destination itself
  // (the destination is a neighbour); the destination is never multicast.
  if (r.destination.is_multicast()) return ParseError::kMalformed;
  if (!r.target.is_link_local() && r.target != r.destination) return ParseError::kMalformed;
  r.options = b.subspan(kSize);
  return r;
}

void emit_mldv2_report(MutableByteSpan out, std::span<const MldRecord> records) noexcept {
  // Bytes 4..5 reserved, 6..7 the number of records (RFC 3810 5.2).
  emit_icmp(out, Icmpv6Type::kMldv2Report, static_cast<std::uint16_t>(records.size()));
  std::size_t off = 8;
  for (const MldRecord& r : records) {
    store_u8(out, off, static_cast<std::uint8_t>(r.type));
    store_u8(out, off + 1, 0);                 // aux data length
    store_be<std::uint16_t>(out, off + 2, 0);  // number of sources
    r.group.store(out.subspan(off + 4));
    off += kMldv2RecordSize;
  }
}

}  // namespace usnet::wire
