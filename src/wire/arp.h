// ARP for IPv4 over Ethernet (RFC 826). Only hardware type 1 / protocol 0x0800 with 6- and
// 4-byte addresses is accepted; anything else is refused as kUnsupported.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "wire/addresses.h"
#include "wire/parse_error.h"

namespace usnet::wire {

enum class ArpOp : std::uint16_t { kRequest = 1, kReply = 2 };

struct ArpPacket {
  static constexpr std::size_t kSize = 28;

  ArpOp op = ArpOp::kRequest;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;
  Ipv4Address target_ip;

  static Parsed<ArpPacket> parse(ByteSpan bytes) noexcept;
  void emit(MutableByteSpan out) const noexcept;  // out.size() >= kSize
};

}  // namespace usnet::wire
