// Ethernet framing on transmit (the receive side is Stack::netif_receive, which dispatches
// by EtherType).
#pragma once

#include <cstdint>

#include "base/packet.h"
#include "link/interface.h"
#include "wire/addresses.h"

namespace usnet {

class Stack;

// Pushes an Ethernet II header (source: the interface's MAC), pads the frame to the
// 60-byte minimum (IEEE 802.3 clause 4.2.3.3: the pad is the sender's job), and queues it
// on the interface's device.
void eth_output(Stack& stack, Interface& ifc, MacAddress dst, std::uint16_t ethertype,
                Packet payload);

// RFC 1112 section 6.4: IPv4 multicast 224.x.y.z maps to 01:00:5e + the low 23 bits.
MacAddress ipv4_multicast_mac(Ipv4Address group);

}  // namespace usnet
