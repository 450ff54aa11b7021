#include "net/arp.h"

#include "net/icmp.h"

#include <fmt/format.h>

#include "link/ethernet.h"
#include "stack/stack.h"
#include "wire/arp.h"

namespace usnet {

Neighbour* Arp::lookup(std::uint32_t ifindex, Ipv4Address ip) {
  auto it = table_.find(key(ifindex, ip));
  return it == table_.end() ? nullptr : &it->second;
}

const Neighbour* Arp::find(std::uint32_t ifindex, Ipv4Address ip) const {
  auto it = table_.find(key(ifindex, ip));
  return it == table_.end() ? nullptr : &it->second;
}

std::vector<const Neighbour*> Arp::entries() const {
  std::vector<const Neighbour*> out;
  out.reserve(table_.size());
  for (const auto& [k, n] : table_)
    out.push_back(&n);
  return out;
}

bool Arp::evict_one() {
  // Prefer the least recently used STALE entry; never evict one that holds packets.
  auto victim = table_.end();
  for (auto it = table_.begin(); it != table_.end(); ++it) {
    if (it->second.state != NeighState::kStale) continue;
    if (victim == table_.end() || it->second.used < victim->second.used) victim = it;
  }
  if (victim == table_.end()) return false;
  table_.erase(victim);
  return true;
}

Neighbour* Arp::create(Interface& ifc, Ipv4Address ip) {
  if (table_.size() >= config_.max_entries && !evict_one()) return nullptr;
  Neighbour& n = table_[key(ifc.index, ip)];
  n.ifindex = ifc.index;
  n.ip = ip;
  return &n;
}

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

void Arp::send_request(Interface& ifc, Ipv4Address target, const MacAddress* unicast) {
  // RFC 826: the sender protocol address is ours on the target's subnet when we have one.
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
    n.state = NeighState::kReachable;
    n.probes = 0;
    n.timer = stack_.now() + config_.reachable_time;
  } else if (n.state == NeighState::kReachable) {
    n.timer = stack_.now() + config_.reachable_time;
  }
  // Flush what waited for resolution, oldest first.
  if (!n.queue.empty()) {
    Interface* ifc = stack_.interface(n.ifindex);
    auto queued = std::move(n.queue);
    n.queue.clear();
    n.queue_bytes = 0;
    for (auto& p : queued) {
      if (ifc != nullptr) xmit(*ifc, n, std::move(p));
    }
  }
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
    Neighbour* n = lookup(ifc.index, a.sender_ip);
    if (n == nullptr && for_us) n = create(ifc, a.sender_ip);
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

void Arp::xmit(Interface& ifc, const Neighbour& n, Packet pkt) {
  eth_output(stack_.link(), ifc, n.mac, static_cast<std::uint16_t>(wire::EtherType::kIpv4),
             std::move(pkt));
}

void Arp::neigh_output(Interface& ifc, Ipv4Address next_hop, Packet pkt) {
  stack_.tracer().step("neigh_output");
  Neighbour* n = lookup(ifc.index, next_hop);
  if (n == nullptr) {
    n = create(ifc, next_hop);
    if (n == nullptr) {
      stack_.mib().UsnetArpQueueDrops++;
      stack_.tracer().step("drop: neighbour table full");
      return;
    }
  }
  n->used = stack_.now();
  switch (n->state) {
    case NeighState::kReachable:
    case NeighState::kProbe:
      xmit(ifc, *n, std::move(pkt));
      return;
    case NeighState::kStale:
      // RFC 1122 2.3.2.1: keep using the old address while checking it with unicast probes.
      xmit(ifc, *n, std::move(pkt));
      n->state = NeighState::kProbe;
      n->probes = 1;
      n->timer = stack_.now() + config_.retrans_time;
      send_request(ifc, next_hop, &n->mac);
      return;
    case NeighState::kIncomplete:
      // Linux __neigh_event_send: drop the oldest until the new packet fits both bounds.
      n->queue_bytes += pkt.size();
      n->queue.push_back(std::move(pkt));
      while (n->queue.size() > config_.queue_len || n->queue_bytes > config_.queue_bytes) {
        n->queue_bytes -= n->queue.front().size();
        n->queue.pop_front();
        stack_.mib().UsnetArpQueueDrops++;
      }
      if (n->probes == 0) {
        n->probes = 1;
        n->timer = stack_.now() + config_.retrans_time;
        send_request(ifc, next_hop, nullptr);
      }
      return;
  }
}

void Arp::tick(Instant now) {
  std::vector<Packet> unreachable;  // reported after the walk: a transport may send again
  for (auto it = table_.begin(); it != table_.end();) {
    Neighbour& n = it->second;
    bool erase = false;
    if (n.state == NeighState::kReachable && now >= n.timer) {
      n.state = NeighState::kStale;
      n.timer = kNever;
    } else if (n.state == NeighState::kStale) {
      erase = now - n.used >= config_.gc_stale_time;
    } else if ((n.state == NeighState::kIncomplete || n.state == NeighState::kProbe) &&
               now >= n.timer) {
      Interface* ifc = stack_.interface(n.ifindex);
      if (n.probes >= config_.max_probes || ifc == nullptr) {
        stack_.mib().UsnetArpResolveFails++;
        stack_.mib().UsnetArpQueueDrops += n.queue.size();
        stack_.tracer().note(fmt::format("arp: {} unreachable, dropped {} queued", n.ip.to_string(),
                                         n.queue.size()));
        for (auto& p : n.queue)
          unreachable.push_back(std::move(p));
        erase = true;
      } else {
        n.probes++;
        n.timer = now + config_.retrans_time;
        stack_.tracer().begin(fmt::format("arp timer {}", n.ip.to_string()));
        send_request(*ifc, n.ip, n.state == NeighState::kProbe ? &n.mac : nullptr);
        stack_.tracer().end();
      }
    }
    it = erase ? table_.erase(it) : std::next(it);
  }
  // RFC 1122 2.3.2.2 / Linux arp_error_report: the senders hear that the host is
  // unreachable (a connect() in progress fails with EHOSTUNREACH).
  for (const Packet& p : unreachable) {
    stack_.icmp().icmp_local_error(p.data(),
                                   static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable),
                                   static_cast<std::uint8_t>(wire::UnreachCode::kHost));
  }
}

Instant Arp::next_deadline() const noexcept {
  Instant t = kNever;
  for (const auto& [k, n] : table_) {
    t = earliest(t, n.timer);
    if (n.state == NeighState::kStale) t = earliest(t, n.used + config_.gc_stale_time);
  }
  return t;
}

}  // namespace usnet
