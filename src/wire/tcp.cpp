#include "wire/tcp.h"

#include "wire/checksum.h"
#include "wire/ipv4.h"

namespace usnet::wire {
namespace {

constexpr std::uint8_t kind(TcpOptionKind k) {
  return static_cast<std::uint8_t>(k);
}

// Linux tcp_parse_fastopen_option: an odd length is no option at all; an even one outside
// 4..16 (other than 0, the request) is an invalid cookie.
void parse_fastopen(ByteSpan cookie, bool exp, TcpOptions& out) {
  if (cookie.size() % 2 != 0) return;
  FastOpenCookie c;
  c.exp = exp;
  if (cookie.size() >= FastOpenCookie::kMin && cookie.size() <= FastOpenCookie::kMax) {
    for (std::size_t i = 0; i < cookie.size(); ++i)
      c.val[i] = load_u8(cookie, i);
    c.len = static_cast<std::int8_t>(cookie.size());
  } else if (!cookie.empty()) {
    c.len = -1;
  }
  out.fastopen = c;
}

// Walks the option bytes per RFC 9293 3.1 "Options" and Linux tcp_parse_options.
void parse_options(ByteSpan o, TcpOptions& out) {
  std::size_t i = 0;
  while (i < o.size()) {
    const std::uint8_t k = load_u8(o, i);
    if (k == kind(TcpOptionKind::kEnd)) return;
    if (k == kind(TcpOptionKind::kNop)) {
      ++i;
      continue;
    }
    if (i + 1 >= o.size()) return;  // no room for the length byte
    const std::uint8_t len = load_u8(o, i + 1);
    if (len < 2 || i + len > o.size()) return;  // "silly" or overrunning option: stop
    const ByteSpan v = o.subspan(i + 2, len - 2u);
    switch (static_cast<TcpOptionKind>(k)) {
      case TcpOptionKind::kMss:
        if (len == 4) out.mss = load_be<std::uint16_t>(v, 0);
        break;
      case TcpOptionKind::kWindowScale:
        if (len == 3) {
          // RFC 7323 2.3: a shift above 14 is used as 14.
          const std::uint8_t shift = load_u8(v, 0);
          out.window_scale =
              shift > TcpHeader::kMaxWindowScale ? TcpHeader::kMaxWindowScale : shift;
        }
        break;
      case TcpOptionKind::kSackPermitted:
        if (len == 2) out.sack_permitted = true;
        break;
      case TcpOptionKind::kSack:
        // RFC 2018 3: 8 bytes per block after kind and length; at most 4 fit.
        if (len >= 10 && (len - 2) % 8 == 0) {
          // A later SACK option replaces an earlier one entirely: no stale blocks remain.
          out.sack = {};
          out.sack_count = 0;
          for (std::size_t b = 0; b + 8 <= v.size() && out.sack_count < out.sack.size(); b += 8) {
            out.sack[out.sack_count++] =
                SackBlock{load_be<std::uint32_t>(v, b), load_be<std::uint32_t>(v, b + 4)};
          }
        }
        break;
      case TcpOptionKind::kTimestamps:
        if (len == 10) {
          out.ts_val = load_be<std::uint32_t>(v, 0);
          out.ts_ecr = load_be<std::uint32_t>(v, 4);
        }
        break;
      case TcpOptionKind::kFastOpen:
        parse_fastopen(v, false, out);
        break;
      case TcpOptionKind::kExperimental:
        // RFC 6994: the first two bytes say whose experiment it is.
        if (len >= 4 && load_be<std::uint16_t>(v, 0) == kFastOpenMagic) {
          parse_fastopen(v.subspan(2), true, out);
        }
        break;
      default:
        break;  // unknown: skipped by its length
    }
    i += len;
  }
}

}  // namespace

namespace {

// Bytes of the Fast Open option before padding: kind, length (and magic), the cookie.
std::size_t fastopen_len(const FastOpenCookie& c) {
  return (c.exp ? 4U : 2U) + (c.len > 0 ? static_cast<std::size_t>(c.len) : 0);
}

}  // namespace

std::size_t TcpOptions::size() const noexcept {
  std::size_t n = 0;
  if (fastopen) n += (fastopen_len(*fastopen) + 3) & ~std::size_t{3};
  if (mss) n += 4;
  if (sack_permitted && ts_val) {
    n += 12;  // SACK-permitted (2) + timestamps (10), as Linux packs them together
  } else {
    if (sack_permitted) n += 4;  // NOP NOP SACK-permitted
    if (ts_val) n += 12;         // NOP NOP timestamps
  }
  if (window_scale) n += 4;                       // NOP window scale
  if (sack_count != 0) n += 4 + 8u * sack_count;  // NOP NOP SACK
  return n;
}

Parsed<TcpHeader> TcpHeader::parse(ByteSpan b, const IpAddress& src, const IpAddress& dst,
                                   bool verify_checksum) noexcept {
  if (b.size() < kMinSize) return ParseError::kTruncated;
  TcpHeader h;
  h.src_port = load_be<std::uint16_t>(b, 0);
  h.dst_port = load_be<std::uint16_t>(b, 2);
  h.seq = load_be<std::uint32_t>(b, 4);
  h.ack = load_be<std::uint32_t>(b, 8);
  h.header_length = static_cast<std::uint8_t>((load_u8(b, 12) >> 4) * 4);
  if (h.header_length < kMinSize) return ParseError::kBadHeaderLength;
  if (h.header_length > b.size()) return ParseError::kTruncated;
  h.flags = load_u8(b, 13);
  h.window = load_be<std::uint16_t>(b, 14);
  h.checksum = load_be<std::uint16_t>(b, 16);
  h.urgent = load_be<std::uint16_t>(b, 18);
  if (verify_checksum) {
    const std::uint32_t ph =
        pseudo_header_sum(src, dst, static_cast<std::uint8_t>(IpProtocol::kTcp),
                          static_cast<std::uint32_t>(b.size()));
    if (checksum_finish(checksum_partial(b, ph)) != 0) return ParseError::kBadChecksum;
  }
  parse_options(b.subspan(kMinSize, h.header_length - kMinSize), h.options);
  return h;
}

void TcpHeader::emit(MutableByteSpan out) const noexcept {
  const std::size_t len = size();
  store_be<std::uint16_t>(out, 0, src_port);
  store_be<std::uint16_t>(out, 2, dst_port);
  store_be<std::uint32_t>(out, 4, seq);
  store_be<std::uint32_t>(out, 8, ack);
  store_u8(out, 12, static_cast<std::uint8_t>((len / 4) << 4));
  store_u8(out, 13, flags);
  store_be<std::uint16_t>(out, 14, window);
  store_be<std::uint16_t>(out, 16, 0);
  store_be<std::uint16_t>(out, 18, urgent);
  std::size_t i = kMinSize;
  auto put8 = [&](std::uint8_t v) { store_u8(out, i++, v); };
  auto put16 = [&](std::uint16_t v) {
    store_be<std::uint16_t>(out, i, v);
    i += 2;
  };
  auto put32 = [&](std::uint32_t v) {
    store_be<std::uint32_t>(out, i, v);
    i += 4;
  };
  const TcpOptions& o = options;
  if (o.mss) {
    put8(kind(TcpOptionKind::kMss));
    put8(4);
    put16(*o.mss);
  }
  if (o.sack_permitted && o.ts_val) {
    put8(kind(TcpOptionKind::kSackPermitted));
    put8(2);
  } else if (o.sack_permitted) {
    put8(kind(TcpOptionKind::kNop));
    put8(kind(TcpOptionKind::kNop));
    put8(kind(TcpOptionKind::kSackPermitted));
    put8(2);
  } else if (o.ts_val) {
    put8(kind(TcpOptionKind::kNop));
    put8(kind(TcpOptionKind::kNop));
  }
  if (o.ts_val) {
    put8(kind(TcpOptionKind::kTimestamps));
    put8(10);
    put32(*o.ts_val);
    put32(o.ts_ecr.value_or(0));
  }
  if (o.window_scale) {
    put8(kind(TcpOptionKind::kNop));
    put8(kind(TcpOptionKind::kWindowScale));
    put8(3);
    put8(*o.window_scale);
  }
  if (o.sack_count != 0) {
    put8(kind(TcpOptionKind::kNop));
    put8(kind(TcpOptionKind::kNop));
    put8(kind(TcpOptionKind::kSack));
    put8(static_cast<std::uint8_t>(2 + 8 * o.sack_count));
    for (std::size_t b = 0; b < o.sack_count; ++b) {
      put32(o.sack[b].left);
      put32(o.sack[b].right);
    }
  }
  if (o.fastopen) {
    const FastOpenCookie& c = *o.fastopen;
    const auto olen = static_cast<std::uint8_t>(fastopen_len(c));
    if (c.exp) {
      put8(kind(TcpOptionKind::kExperimental));
      put8(olen);
      put16(kFastOpenMagic);
    } else {
      put8(kind(TcpOptionKind::kFastOpen));
      put8(olen);
    }
    for (std::size_t b = 0; b < c.bytes().size(); ++b)
      put8(c.val[b]);
    if (olen % 4 == 2) {
      put8(kind(TcpOptionKind::kNop));
      put8(kind(TcpOptionKind::kNop));
    }
  }
}

void TcpHeader::finish_checksum(MutableByteSpan seg, const IpAddress& src,
                                const IpAddress& dst) noexcept {
  store_be<std::uint16_t>(seg, 16, 0);
  const std::uint32_t ph = pseudo_header_sum(src, dst, static_cast<std::uint8_t>(IpProtocol::kTcp),
                                             static_cast<std::uint32_t>(seg.size()));
  store_be<std::uint16_t>(seg, 16, checksum_finish(checksum_partial(seg, ph)));
}

}  // namespace usnet::wire
