// Ethernet II framing, both directions: eth_rcv takes a frame from a device up to the
// network protocol its EtherType names, eth_output frames a datagram and hands it down.
#pragma once

#include <cstdint>

#include "base/packet.h"
#include "base/time.h"
#include "link/interface.h"
#include "wire/addresses.h"

namespace usnet {

struct MibCounters;
class PacketTypeTable;
class Tracer;

// What the Ethernet layer uses of the host it belongs to. The Stack owns one whose members
// refer to its own, so link/ depends on these pieces and not on the whole Stack.
struct LinkContext {
  MibCounters& mib;
  Tracer& tracer;
  const Instant& now;  // the time of the stack's current poll(), passed to devices
  const PacketTypeTable& ptypes;
};

// A frame as a device delivered it. Checks the header, drops frames for other hosts and
// 802.1Q-tagged ones, pulls the header, records it in mac_len and ifindex (Linux
// eth_type_trans), then hands the rest to the protocol registered for its EtherType
// (__netif_receive_skb's walk of ptype_base). Each frame is one trace path.
void eth_rcv(LinkContext& link, Interface& ifc, Packet frame);

// Pushes an Ethernet II header (source: the interface's MAC), pads the frame to the
// 60-byte minimum (IEEE 802.3 clause 4.2.3.3: the pad is the sender's job), and queues it
// on the interface's device (Linux dev_queue_xmit).
void eth_output(LinkContext& link, Interface& ifc, MacAddress dst, std::uint16_t ethertype,
                Packet payload);

// RFC 1112 section 6.4: IPv4 multicast 224.x.y.z maps to 01:00:5e + the low 23 bits.
MacAddress ipv4_multicast_mac(Ipv4Address group);

}  // namespace usnet
