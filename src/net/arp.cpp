#include "net/arp.h"

#include "net/icmp.h"

#include <fmt/format.h>

#include "link/ethernet.h"
#include "stack/stack.h"
#include "wire/arp.h"

namespace usnet {

Arp::Arp(Stack& stack, ArpConfig config)
    : stack_(stack),
      table_(stack, *this,
             NeighTableParams{"arp", static_cast<std::uint16_t>(wire::EtherType::kIpv4),
                              &MibCounters::UsnetArpResolveFails, &MibCounters::UsnetArpQueueDrops},
             config) {}

void Arp::send_arp(Interface& ifc, wire::ArpOp op, MacAddress eth_dst, MacAddress target_mac,
                   Ipv4Address sender_ip, Ipv4Address target_ip) {
  wire::ArpPacket a;
  a.op = op;
  a.sender_mac = ifc.mac;
  a.sender_ip = sender_ip;
  a.target_mac = target_mac;
  a.target_ip = target_ip;
  Packet p(wire::ArpPacket::kSize);
  a.emit(p.append(wire::ArpPacket::kSize));
  if (op == wire::ArpOp::kRequest) {
    stack_.mib().UsnetArpOutRequests++;
  } else {
    stack_.mib().UsnetArpOutReplies++;
  }
  eth_output(stack_.link(), ifc, eth_dst, static_cast<std::uint16_t>(wire::EtherType::kArp),
             std::move(p));
}

void Arp::solicit(Interface& ifc, const Neighbour& n, const MacAddress* unicast) {
  // RFC 826: the sender protocol address is ours on the target's subnet when we have one.
  const Ipv4Address target = n.ip.v4();
  const auto src = ifc.source_for(target);
  if (!src) return;
  stack_.tracer().step("arp_send");
  send_arp(ifc, wire::ArpOp::kRequest, unicast ? *unicast : MacAddress::broadcast(), MacAddress{},
           *src, target);
}

void Arp::announce(Interface& ifc, Ipv4Address ip) {
  stack_.tracer().begin(fmt::format("gratuitous arp {} on {}", ip.to_string(), ifc.name));
  send_arp(ifc, wire::ArpOp::kRequest, MacAddress::broadcast(), MacAddress{}, ip, ip);
  stack_.tracer().end();
}

void Arp::update(Neighbour& n, MacAddress mac, bool confirmed) {
  n.mac = mac;
  if (confirmed || n.state == NeighState::kIncomplete) {
    table_.set_reachable(n);
  } else if (n.state == NeighState::kReachable) {
    n.timer = stack_.now() + table_.config().reachable_time;
  }
  table_.flush_queue(n);
}

void Arp::arp_rcv(Interface& ifc, Packet pkt) {
  stack_.tracer().step("arp_rcv");
  auto parsed = wire::ArpPacket::parse(pkt.data());
  if (!parsed) {
    stack_.mib().UsnetArpInErrors++;
    stack_.tracer().step("drop: malformed");
    return;
  }
  const wire::ArpPacket& a = *parsed;
  if (a.op == wire::ArpOp::kRequest) {
    stack_.mib().UsnetArpInRequests++;
  } else {
    stack_.mib().UsnetArpInReplies++;
  }
  // A sender claiming a broadcast/multicast MAC or a bogus IP would poison the cache.
  if (a.sender_mac.is_multicast() || a.sender_mac.is_zero() || a.sender_ip.is_multicast() ||
      a.sender_ip.is_broadcast()) {
    stack_.mib().UsnetArpInErrors++;
    stack_.tracer().step("drop: bad sender");
    return;
  }
  // RFC 5227 probe (sender 0.0.0.0): answer if it asks for ours, but learn nothing.
  const bool for_us = ifc.has_address(a.target_ip);
  if (!a.sender_ip.is_any()) {
    // RFC 826 "merge": update an existing entry for the sender; create one only when the
    // packet is addressed to us.
    Neighbour* n = table_.lookup(ifc.index, a.sender_ip);
    if (n == nullptr && for_us) n = table_.create(ifc, a.sender_ip);
    if (n != nullptr) {
      update(*n, a.sender_mac, for_us && a.op == wire::ArpOp::kReply);
      stack_.tracer().step("neigh_update");
    }
  }
  if (for_us && a.op == wire::ArpOp::kRequest) {
    stack_.tracer().step("arp_reply");
    send_arp(ifc, wire::ArpOp::kReply, a.sender_mac, a.sender_mac, a.target_ip, a.sender_ip);
  }
}

void Arp::neigh_output(Interface& ifc, Ipv4Address next_hop, Packet pkt) {
  table_.output(ifc, next_hop, std::move(pkt));
}

void Arp::error_report(std::vector<Packet> dropped) {
  // RFC 1122 2.3.2.2 / Linux arp_error_report: the senders hear that the host is
  // unreachable (a connect() in progress fails with EHOSTUNREACH).
  for (const Packet& p : dropped) {
    stack_.icmp().icmp_local_error(p.data(),
                                   static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable),
                                   static_cast<std::uint8_t>(wire::UnreachCode::kHost));
  }
}

}  // namespace usnet
