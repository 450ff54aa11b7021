#include "net/ip_options.h"

namespace usnet {
namespace {

// Option types (RFC 791 3.1; RFC 2113 router alert; CIPSO from FIPS 188 / RFC 1108 era).
constexpr std::uint8_t kEnd = 0;
constexpr std::uint8_t kNoop = 1;
constexpr std::uint8_t kRecordRoute = 7;
constexpr std::uint8_t kTimestamp = 68;
constexpr std::uint8_t kLsrr = 131;
constexpr std::uint8_t kCipso = 134;
constexpr std::uint8_t kSsrr = 137;
constexpr std::uint8_t kRouterAlert = 148;
// Timestamp flags (RFC 791): addresses prespecified by the sender.
constexpr std::uint8_t kTsPrespec = 3;
constexpr std::uint8_t kTsAndAddr = 1;

}  // namespace

IpOptionsVerdict ip_options_check(ByteSpan header) noexcept {
  using Kind = IpOptionsVerdict::Kind;
  constexpr std::size_t kFixed = 20;
  auto bad = [](std::size_t at) {
    return IpOptionsVerdict{Kind::kMalformed, static_cast<std::uint8_t>(at)};
  };
  bool srr = false;
  bool rr = false;
  bool ts = false;
  std::size_t i = kFixed;
  while (i < header.size()) {
    const std::uint8_t type = load_u8(header, i);
    if (type == kEnd) break;
    if (type == kNoop) {
      ++i;
      continue;
    }
    const std::size_t left = header.size() - i;
    if (left < 2) return bad(i);
    const std::uint8_t len = load_u8(header, i + 1);
    if (len < 2 || len > left) return bad(i);
    // The pointer field of the options that have one (source routes, record route,
    // timestamp) is the option's third byte, counted from 1 at the option's start.
    const std::uint8_t ptr = len >= 3 ? load_u8(header, i + 2) : 0;
    switch (type) {
      case kLsrr:
      case kSsrr:
        if (len < 3) return bad(i + 1);
        if (ptr < 4) return bad(i + 2);
        if (srr) return bad(i);  // RFC 1812 5.2.4.1: at most one source route
        srr = true;
        break;
      case kRecordRoute:
        if (rr) return bad(i);
        if (len < 3) return bad(i + 1);
        if (ptr < 4) return bad(i + 2);
        if (ptr <= len && ptr + 3 > len) return bad(i + 2);  // room left, but not for one
        rr = true;
        break;
      case kTimestamp: {
        if (ts) return bad(i);
        if (len < 4) return bad(i + 1);
        if (ptr < 5) return bad(i + 2);
        const std::uint8_t flags = load_u8(header, i + 3) & 0x0f;
        if (ptr <= len) {
          if (ptr + 3 > len) return bad(i + 2);
          if ((flags == kTsAndAddr || flags == kTsPrespec) && ptr + 7 > len) return bad(i + 2);
        } else if (flags != kTsPrespec && (load_u8(header, i + 3) >> 4) == 15) {
          return bad(i + 3);  // full, and its overflow count can count no more
        }
        ts = true;
        break;
      }
      case kRouterAlert:
        if (len < 4) return bad(i + 1);
        break;
      case kCipso:
        // A host with no CIPSO domain of interpretation configured (Linux's default)
        // finds none for any label: cipso_v4_validate fails at the length, or at the DOI.
        return bad(len < 8 ? i + 1 : i + 2);
      default:
        break;  // anything else is accepted and skipped (RFC 1122 3.2.1.8)
    }
    i += len;
  }
  if (srr) return {Kind::kSourceRoute, 0};
  return {};
}

}  // namespace usnet
