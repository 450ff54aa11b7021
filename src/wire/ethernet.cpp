#include "wire/ethernet.h"

#include <cstring>

namespace usnet::wire {

Parsed<EthernetHeader> EthernetHeader::parse(ByteSpan frame) noexcept {
  if (frame.size() < kSize) return ParseError::kTruncated;
  EthernetHeader h;
  std::memcpy(h.dst.octets.data(), frame.data(), 6);
  std::memcpy(h.src.octets.data(), frame.data() + 6, 6);
  h.ethertype = load_be<std::uint16_t>(frame, 12);
  if (h.ethertype == static_cast<std::uint16_t>(EtherType::kVlan)) {
    if (frame.size() < kSize + kVlanTagSize) return ParseError::kTruncated;
    h.vlan_tci = load_be<std::uint16_t>(frame, 14);
    h.ethertype = load_be<std::uint16_t>(frame, 16);
  }
  // 802.3 length field instead of an EtherType (values below 0x0600): not Ethernet II.
  if (h.ethertype < 0x0600) return ParseError::kUnsupported;
  return h;
}

void EthernetHeader::emit(MutableByteSpan out) const noexcept {
  std::memcpy(out.data(), dst.octets.data(), 6);
  std::memcpy(out.data() + 6, src.octets.data(), 6);
  if (vlan_tci) {
    store_be<std::uint16_t>(out, 12, static_cast<std::uint16_t>(EtherType::kVlan));
    store_be<std::uint16_t>(out, 14, *vlan_tci);
    store_be<std::uint16_t>(out, 16, ethertype);
  } else {
    store_be<std::uint16_t>(out, 12, ethertype);
  }
}

}  // namespace usnet::wire
