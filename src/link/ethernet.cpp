#include "link/ethernet.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/trace.h"
#include "stack/mib.h"
#include "stack/registration.h"
#include "wire/ethernet.h"

namespace usnet {

void eth_rcv(LinkContext& link, Interface& ifc, Packet frame) {
  Tracer& tr = link.tracer;
  tr.begin(fmt::format("rx {} {}B", ifc.name, frame.size()));
  tr.step("eth_rcv");
  link.mib.UsnetEthInFrames++;
  auto eth = wire::EthernetHeader::parse(frame.data());
  if (!eth) {
    link.mib.UsnetEthInErrors++;
    tr.end(" drop: bad frame");
    return;
  }
  // Frames for other hosts reach us on a switch flooding unknown destinations.
  if (eth->dst != ifc.mac && !eth->dst.is_broadcast() && !eth->dst.is_multicast()) {
    link.mib.UsnetEthInOtherHost++;
    tr.end(" drop: other host");
    return;
  }
  if (eth->vlan_tci) {
    // No VLAN sub-interfaces yet: a tagged frame is not for any interface we have.
    link.mib.UsnetEthInUnknownType++;
    tr.end(" drop: vlan");
    return;
  }
  frame.pull(eth->size());
  frame.ifindex = ifc.index;
  frame.mac_len = static_cast<std::uint16_t>(eth->size());
  if (PacketHandler* proto = link.ptypes.find(eth->ethertype)) {
    proto->rcv(ifc, std::move(frame));
  } else {
    link.mib.UsnetEthInUnknownType++;
    tr.step("drop: unknown ethertype");
  }
  tr.end();
}

void eth_output(LinkContext& link, Interface& ifc, MacAddress dst, std::uint16_t ethertype,
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
  link.tracer.step("dev_queue_xmit");
  link.mib.UsnetEthOutFrames++;
  if (ifc.dev == nullptr) return;
  ifc.dev->transmit(link.now, std::move(payload));
}

MacAddress ipv4_multicast_mac(Ipv4Address group) {
  const std::uint32_t low = group.value & 0x7fffff;
  return {{0x01, 0x00, 0x5e, static_cast<std::uint8_t>(low >> 16),
           static_cast<std::uint8_t>((low >> 8) & 0xff), static_cast<std::uint8_t>(low & 0xff)}};
}

}  // namespace usnet
