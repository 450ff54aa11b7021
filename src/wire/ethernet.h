// Ethernet II framing (IEEE 802.3 clause 3.2.6 with an EtherType), with one 802.1Q tag
// recognised. The FCS is never present: TAP and the memory wire carry frames without it.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/parse_error.h"

namespace usnet::wire {

enum class EtherType : std::uint16_t {
  kIpv4 = 0x0800,
  kArp = 0x0806,
  kVlan = 0x8100,
  kIpv6 = 0x86dd,
};

struct EthernetHeader {
  static constexpr std::size_t kSize = 14;
  static constexpr std::size_t kVlanTagSize = 4;
  static constexpr std::size_t kMinFrame = 60;  // without FCS; shorter frames are padded

  MacAddress dst;
  MacAddress src;
  std::uint16_t ethertype = 0;            // of the payload (inner type when tagged)
  std::optional<std::uint16_t> vlan_tci;  // 802.1Q tag control information when tagged

  // Header bytes (14, or 18 with a tag).
  std::size_t size() const noexcept { return kSize + (vlan_tci ? kVlanTagSize : 0); }

  static Parsed<EthernetHeader> parse(ByteSpan frame) noexcept;
  // Precondition: out.size() >= size().
  void emit(MutableByteSpan out) const noexcept;
};

}  // namespace usnet::wire
