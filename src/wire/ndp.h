// Neighbour discovery messages (RFC 4861 section 4) and their options (4.6), and the
// MLDv2 report (RFC 3810 5.2) a host sends to join its solicited-node groups. Bodies only:
// the ICMPv6 header and checksum are wire/icmpv6.h's (parse a message with Icmpv6Header
// first), and the checks that need the IPv6 header — hop limit 255, a link-local source
// for RAs, an unspecified source only for DAD — are the caller's (RFC 4861 6.1, 7.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/ipv6.h"
#include "wire/parse_error.h"

namespace usnet::wire {

enum class NdpOptionType : std::uint8_t {
  kSourceLinkAddr = 1,
  kTargetLinkAddr = 2,
  kPrefixInfo = 3,
  kRedirectedHeader = 4,
  kMtu = 5,
  kNonce = 14,  // RFC 7527 enhanced DAD; Linux adds one to its DAD solicitations
};

struct NdpOption {
  std::uint8_t type = 0;
  ByteSpan bytes;          // the whole option, type and length bytes included
  std::size_t offset = 0;  // from the start of the ICMPv6 message
};

// The options after a message's fixed part. RFC 4861 4.6: a length of 0 makes the whole
// message invalid (kMalformed); one running past the message is kTruncated. Unknown types
// are returned for the caller to skip (4.6: "MUST silently ignore").
class NdpOptionIter {
 public:
  NdpOptionIter(ByteSpan options, std::size_t base) noexcept : bytes_(options), base_(base) {}
  // nullopt at the end or on error; `error` is set only on error.
  std::optional<NdpOption> next(std::optional<ParseError>& error) noexcept;
  // Walks all options once: ok when every length is valid.
  static bool valid(ByteSpan options) noexcept;

 private:
  ByteSpan bytes_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

// Source/target link-layer address (4.6.1) on Ethernet: length 1, six bytes of MAC.
inline constexpr std::size_t kLinkAddrOptionSize = 8;
std::optional<MacAddress> link_layer_address(const NdpOption& option) noexcept;
void emit_link_layer_option(MutableByteSpan out, NdpOptionType type,
                            const MacAddress& mac) noexcept;

// Prefix information (4.6.2). Lifetimes in seconds; 0xffffffff is infinity.
struct NdpPrefixInfo {
  static constexpr std::size_t kSize = 32;
  static constexpr std::uint32_t kInfinite = 0xffffffffU;

  std::uint8_t prefix_length = 0;
  bool on_link = false;     // L
  bool autonomous = false;  // A: usable for SLAAC (RFC 4862 5.5.3)
  std::uint32_t valid_lifetime = 0;
  std::uint32_t preferred_lifetime = 0;
  Ipv6Address prefix;

  // Refuses a length other than 4 or a prefix length over 128 (kMalformed).
  static Parsed<NdpPrefixInfo> parse(const NdpOption& option) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// MTU option (4.6.4).
struct NdpMtu {
  static constexpr std::size_t kSize = 8;
  std::uint32_t mtu = 0;
  static Parsed<NdpMtu> parse(const NdpOption& option) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// Each message: parse takes the whole ICMPv6 message (header included, checksum already
// verified), refuses another type (kUnsupported), a code other than 0 or an invalid
// option (kMalformed, per the validity checks of 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1), and
// leaves the options for NdpOptionIter. emit writes the ICMPv6 header and fixed part with a
// 0 checksum; the caller appends options and calls Icmpv6Header::finish_checksum.

// Router solicitation (4.1).
struct NdpRouterSolicitation {
  static constexpr std::size_t kSize = 8;
  ByteSpan options;
  static Parsed<NdpRouterSolicitation> parse(ByteSpan message) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// Router advertisement (4.2). Times as on the wire: router lifetime in seconds, reachable
// time and retrans timer in milliseconds, 0 meaning unspecified.
struct NdpRouterAdvertisement {
  static constexpr std::size_t kSize = 16;
  std::uint8_t cur_hop_limit = 0;
  bool managed = false;         // M: addresses by DHCPv6
  bool other = false;           // O: other configuration by DHCPv6
  std::uint8_t preference = 0;  // RFC 4191 2.2 bits: 0 medium, 1 high, 3 low (2 reserved)
  std::uint16_t router_lifetime = 0;
  std::uint32_t reachable_time = 0;
  std::uint32_t retrans_timer = 0;
  ByteSpan options;
  static Parsed<NdpRouterAdvertisement> parse(ByteSpan message) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// Neighbour solicitation (4.3). The target must not be multicast (7.1.1).
struct NdpNeighborSolicitation {
  static constexpr std::size_t kSize = 24;
  Ipv6Address target;
  ByteSpan options;
  static Parsed<NdpNeighborSolicitation> parse(ByteSpan message) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// Neighbour advertisement (4.4). The target must not be multicast (7.1.2).
struct NdpNeighborAdvertisement {
  static constexpr std::size_t kSize = 24;
  bool router = false;     // R
  bool solicited = false;  // S
  bool override = false;   // O
  Ipv6Address target;
  ByteSpan options;
  static Parsed<NdpNeighborAdvertisement> parse(ByteSpan message) noexcept;
  void emit(MutableByteSpan out) const noexcept;
};

// Redirect (4.5), parse only: a host never sends one. The destination must not be
// multicast (8.1).
struct NdpRedirect {
  static constexpr std::size_t kSize = 40;
  Ipv6Address target;       // the better first hop (link-local, or the destination itself)
  Ipv6Address destination;  // whose traffic is redirected
  ByteSpan options;
  static Parsed<NdpRedirect> parse(ByteSpan message) noexcept;
};

// MLDv2 report (RFC 3810 5.2) with records that list no sources: what a host sends to
// join (CHANGE_TO_EXCLUDE with no sources, 6.1) or leave (CHANGE_TO_INCLUDE) a group
// for any source. Sent to ff02::16 with hop limit 1 and a router-alert hop-by-hop header
// (wire/ipv6_ext.h emit_router_alert_hop_by_hop).
enum class MldRecordType : std::uint8_t {
  kModeIsInclude = 1,
  kModeIsExclude = 2,
  kChangeToInclude = 3,
  kChangeToExclude = 4,
};
struct MldRecord {
  MldRecordType type = MldRecordType::kChangeToExclude;
  Ipv6Address group;
};
inline constexpr std::size_t kMldv2RecordSize = 20;  // with no sources and no aux data
constexpr std::size_t mldv2_report_size(std::size_t records) {
  return 8 + kMldv2RecordSize * records;
}
// Writes the whole message (mldv2_report_size bytes) with a 0 checksum.
void emit_mldv2_report(MutableByteSpan out, std::span<const MldRecord> records) noexcept;

}  // namespace usnet::wire
