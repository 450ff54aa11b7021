#include "wire/ipv6.h"

#include <cstring>

#include <fmt/format.h>

#include "wire/checksum.h"

namespace usnet {

Ipv6Address Ipv6Address::from_bytes(ByteSpan b) noexcept {
  Ipv6Address a;
  std::memcpy(a.bytes.data(), b.data(), 16);
  return a;
}

void Ipv6Address::store(MutableByteSpan out) const noexcept {
  std::memcpy(out.data(), bytes.data(), 16);
}

std::string Ipv6Address::to_string() const {
  // RFC 5952 4.2: the longest run of zero groups, at least two long, the first on a tie.
  int best = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (group(i) != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && group(j) == 0)
      ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  const bool mapped = is_v4_mapped();
  const int groups = mapped ? 6 : 8;
  if (mapped) best = 0, best_len = 5;  // "::ffff:" then the dotted quad (RFC 5952 5)
  std::string s;
  for (int i = 0; i < groups; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    s += fmt::format("{:x}", group(i));
  }
  if (mapped) {
    // Appended in two steps: gcc 12's -Wrestrict misjudges `":" + std::string&&` at -O3.
    s += ':';
    s += v4().to_string();
  }
  return s;
}

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view text) {
  // Groups before and after "::" are collected separately, then the gap is zero-filled.
  std::array<std::uint16_t, 8> head{};
  std::array<std::uint16_t, 8> tail{};
  std::size_t nhead = 0;
  std::size_t ntail = 0;
  bool gap = false;
  std::optional<Ipv4Address> quad;
  if (text.starts_with("::")) {
    gap = true;
    text.remove_prefix(2);
  } else if (text.starts_with(':')) {
    return std::nullopt;  // a single leading colon
  }
  while (!text.empty()) {
    const std::size_t end = text.find(':');
    const std::string_view piece = text.substr(0, end);
    const std::size_t used = nhead + ntail;
    if (piece.find('.') != std::string_view::npos) {
      // A dotted quad ends the address and fills two groups (RFC 4291 2.2 form 3).
      if (end != std::string_view::npos || used > 6) return std::nullopt;
      // inet_pton's dotted quad has no leading zeros ("099" could be octal to inet_aton):
      // a component of two or more digits may not start with 0.
      for (std::size_t i = 0; i < piece.size(); ++i) {
        const bool starts = i == 0 || piece[i - 1] == '.';
        if (starts && piece[i] == '0' && i + 1 < piece.size() && piece[i + 1] != '.')
          return std::nullopt;
      }
      quad = Ipv4Address::parse(piece);
      if (!quad) return std::nullopt;
      text = {};
      break;
    }
    if (piece.empty() || piece.size() > 4 || used >= 8) return std::nullopt;
    unsigned v = 0;
    for (char c : piece) {
      unsigned d;
      if (c >= '0' && c <= '9') {
        d = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
      v = v * 16 + d;
    }
    (gap ? tail[ntail++] : head[nhead++]) = static_cast<std::uint16_t>(v);
    if (end == std::string_view::npos) {
      text = {};
      break;
    }
    text.remove_prefix(end + 1);
    if (text.starts_with(':')) {
      if (gap) return std::nullopt;  // a second "::"
      gap = true;
      text.remove_prefix(1);
    } else if (text.empty()) {
      return std::nullopt;  // a trailing single colon
    }
  }
  const std::size_t total = nhead + ntail + (quad ? 2 : 0);
  if (gap ? total > 7 : total != 8) return std::nullopt;
  std::array<std::uint16_t, 8> g{};
  for (std::size_t i = 0; i < nhead; ++i)
    g[i] = head[i];
  const std::size_t tail_start = 8 - ntail - (quad ? 2 : 0);  // total <= 8: no wrap
  for (std::size_t i = 0; i < ntail; ++i)
    g[tail_start + i] = tail[i];
  if (quad) {
    g[6] = static_cast<std::uint16_t>(quad->value >> 16);
    g[7] = static_cast<std::uint16_t>(quad->value);
  }
  Ipv6Address a;
  for (std::size_t i = 0; i < 8; ++i) {
    a.bytes[2 * i] = static_cast<std::uint8_t>(g[i] >> 8);
    a.bytes[2 * i + 1] = static_cast<std::uint8_t>(g[i]);
  }
  return a;
}

}  // namespace usnet

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
  std::array<std::byte, 40> ph{};
  src.store(ph);
  dst.store(MutableByteSpan(ph).subspan(16));
  store_be<std::uint32_t>(ph, 32, length);
  store_u8(ph, 39, next_header);
  return checksum_partial(ph);
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
