#include "link/ethernet.h"

#include <algorithm>

#include "stack/stack.h"
#include "wire/ethernet.h"

namespace usnet {

void eth_output(Stack& stack, Interface& ifc, MacAddress dst, std::uint16_t ethertype,
                Packet payload) {
  wire::EthernetHeader h;
  h.dst = dst;
  h.src = ifc.mac;
  h.ethertype = ethertype;
  h.emit(payload.push(h.size()));
  if (payload.size() < wire::EthernetHeader::kMinFrame) {
    auto pad = payload.append(wire::EthernetHeader::kMinFrame - payload.size());
    std::fill(pad.begin(), pad.end(), std::byte{0});
  }
  stack.tracer().step("dev_queue_xmit");
  stack.mib().UsnetEthOutFrames++;
  stack.dev_queue_xmit(ifc, std::move(payload));
}

MacAddress ipv4_multicast_mac(Ipv4Address group) {
  const std::uint32_t low = group.value & 0x7fffff;
  return {{0x01, 0x00, 0x5e, static_cast<std::uint8_t>(low >> 16),
           static_cast<std::uint8_t>((low >> 8) & 0xff), static_cast<std::uint8_t>(low & 0xff)}};
}

}  // namespace usnet
