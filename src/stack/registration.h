// The narrow interfaces between layers (STYLE habit 5), in one place.
//
//   Device  (dev/device.h)          frames in and out; driven with `now`.
//   Ethernet -> network protocols:  PacketHandler below, registered by EtherType.
//   Network -> transport protocols: TransportProtocol below, registered by protocol number;
//                                   transport -> network: NetProtocol (net/net_proto.h).
//   Transport -> sockets:           the Socket/ProtoOps pair of socket/socket.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/packet.h"
#include "base/result.h"
#include "net/net_proto.h"

namespace usnet {

struct Interface;

// A network protocol as the link layer sees it (Linux struct packet_type's func): where
// frames of one EtherType go. Transports see network protocols through NetProtocol instead.
class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  // A frame of this protocol's EtherType that the link layer accepted for this host (ours,
  // broadcast or multicast; untagged). pkt.data() starts at the network header,
  // pkt.mac_len bytes of link header were pulled in front of it, and pkt.ifindex is ifc's.
  virtual void rcv(Interface& ifc, Packet pkt) = 0;
};

// The network protocols by EtherType (Linux's ptype_base, filled by dev_add_pack), so a
// new one (IPv6, 0x86dd) is added by its owner without touching link/. A fixed handful of
// slots searched in order: a host speaks few network protocols, and the lookup on every
// frame allocates nothing.
class PacketTypeTable {
 public:
  static constexpr std::size_t kCapacity = 4;

  // False if the table is full or `ethertype` already has a protocol.
  bool dev_add_pack(std::uint16_t ethertype, PacketHandler* proto) noexcept {
    if (count_ == kCapacity || find(ethertype) != nullptr) return false;
    entries_[count_++] = {ethertype, proto};
    return true;
  }
  PacketHandler* find(std::uint16_t ethertype) const noexcept {
    for (std::size_t i = 0; i < count_; ++i) {
      if (entries_[i].ethertype == ethertype) return entries_[i].proto;
    }
    return nullptr;
  }

 private:
  struct Entry {
    std::uint16_t ethertype = 0;
    PacketHandler* proto = nullptr;
  };
  std::array<Entry, kCapacity> entries_{};
  std::size_t count_ = 0;
};

// An ICMP error about a datagram this stack sent, reduced to what a transport needs.
struct IcmpError {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  Error error = Error::kHostUnreachable;  // what a socket would report (Linux icmp_err_convert)
  bool fatal = false;     // a "hard" error: reported to connected sockets (RFC 1122 4.1.3.3)
  std::uint16_t mtu = 0;  // next-hop MTU for "fragmentation needed" / "packet too big"
  QuotedHeader quoted;    // the network header of the datagram we sent
};

class TransportProtocol {
 public:
  virtual ~TransportProtocol() = default;
  // A datagram for this protocol addressed to us. pkt.data() starts at the transport header;
  // `ip` says what it arrived with (after reassembly), and pkt.unpull(ip.header_length)
  // restores the network header in front (to quote the datagram in an ICMP error).
  virtual void rcv(Packet pkt, const NetRcvInfo& ip) = 0;
  // An ICMP error quoting a datagram we sent; `quoted` holds the first bytes of its
  // transport header (at least 8, RFC 792).
  virtual void err(const IcmpError& icmp, ByteSpan quoted) = 0;
};

}  // namespace usnet
