#include "wire/addresses.h"

#include <charconv>

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

}  // namespace usnet
