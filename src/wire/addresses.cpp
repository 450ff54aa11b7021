#include "wire/addresses.h"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace usnet {
namespace {

// Parses a decimal number in [0, max] from the front of text; advances text.
std::optional<unsigned> take_number(std::string_view& text, unsigned max, int base = 10) {
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc{} || ptr == text.data() || v > max) return std::nullopt;
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return v;
}

}  // namespace

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", octets[0], octets[1], octets[2],
                     octets[3], octets[4], octets[5]);
}

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  MacAddress mac;
  for (std::size_t i = 0; i < 6; ++i) {
    if (i != 0) {
      if (text.empty() || text.front() != ':') return std::nullopt;
      text.remove_prefix(1);
    }
    if (text.size() < 2) return std::nullopt;
    std::string_view two = text.substr(0, 2);
    auto v = take_number(two, 0xff, 16);
    if (!v || !two.empty()) return std::nullopt;
    text.remove_prefix(2);
    mac.octets[i] = static_cast<std::uint8_t>(*v);
  }
  if (!text.empty()) return std::nullopt;
  return mac;
}

std::string Ipv4Address::to_string() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                     value & 0xff);
}

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    if (i != 0) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
    // Dotted-quad only, as inet_pton(AF_INET) accepts: no leading '+', at most 3 digits.
    if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
    const std::size_t before = text.size();
    auto octet = take_number(text, 255);
    if (!octet || before - text.size() > 3) return std::nullopt;
    v = (v << 8) | *octet;
  }
  if (!text.empty()) return std::nullopt;
  return Ipv4Address{v};
}

std::string Ipv4Cidr::to_string() const {
  return fmt::format("{}/{}", address.to_string(), prefix_len);
}

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto addr = Ipv4Address::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  if (slash == std::string_view::npos) return Ipv4Cidr{*addr, 32};
  std::string_view len = text.substr(slash + 1);
  auto n = take_number(len, 32);
  if (!n || !len.empty()) return std::nullopt;
  return Ipv4Cidr{*addr, static_cast<std::uint8_t>(*n)};
}

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

std::string Ipv6Cidr::to_string() const {
  return fmt::format("{}/{}", address.to_string(), prefix_len);
}

std::optional<Ipv6Cidr> Ipv6Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto a = Ipv6Address::parse(text.substr(0, slash));
  if (a && slash == std::string_view::npos) return Ipv6Cidr{*a, 128};
  std::string_view len = text.substr(slash + 1);
  auto n = take_number(len, 128);
  if (!a || !n || !len.empty()) return std::nullopt;
  return Ipv6Cidr{*a, static_cast<std::uint8_t>(*n)};
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) {
    if (auto a = Ipv6Address::parse(text)) return IpAddress(*a);
    return std::nullopt;
  }
  if (auto a = Ipv4Address::parse(text)) return IpAddress(*a);
  return std::nullopt;
}

}  // namespace usnet
