#include "net/neighbour.h"

#include <fmt/format.h>

#include "link/ethernet.h"
#include "stack/stack.h"

namespace usnet {

Neighbour* NeighTable::lookup(std::uint32_t ifindex, const IpAddress& ip) {
  auto it = table_.find(Key{ifindex, ip});
  return it == table_.end() ? nullptr : &it->second;
}

const Neighbour* NeighTable::find(std::uint32_t ifindex, const IpAddress& ip) const {
  auto it = table_.find(Key{ifindex, ip});
  return it == table_.end() ? nullptr : &it->second;
}

std::vector<const Neighbour*> NeighTable::entries() const {
  std::vector<const Neighbour*> out;
  out.reserve(table_.size());
  for (const auto& [k, n] : table_)
    out.push_back(&n);
  return out;
}

bool NeighTable::evict_one() {
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

Neighbour* NeighTable::create(Interface& ifc, const IpAddress& ip) {
  if (table_.size() >= config_.max_entries && !evict_one()) return nullptr;
  Neighbour& n = table_[Key{ifc.index, ip}];
  n.ifindex = ifc.index;
  n.ip = ip;
  return &n;
}

void NeighTable::count_queue_drops(std::uint64_t n) {
  stack_.mib().*params_.queue_drops += n;
}

void NeighTable::set_reachable(Neighbour& n) {
  n.state = NeighState::kReachable;
  n.probes = 0;
  n.timer = stack_.now() + config_.reachable_time;
}

void NeighTable::set_stale(Neighbour& n) {
  n.state = NeighState::kStale;
  n.probes = 0;
  n.timer = kNever;
}

void NeighTable::flush_queue(Neighbour& n) {
  if (n.queue.empty()) return;
  Interface* ifc = stack_.interface(n.ifindex);
  auto queued = std::move(n.queue);
  n.queue.clear();
  n.queue_bytes = 0;
  for (auto& p : queued) {
    if (ifc != nullptr) xmit(*ifc, n, std::move(p));
  }
}

void NeighTable::xmit(Interface& ifc, const Neighbour& n, Packet pkt) {
  eth_output(stack_.link(), ifc, n.mac, params_.ethertype, std::move(pkt));
}

void NeighTable::output(Interface& ifc, const IpAddress& next_hop, Packet pkt) {
  stack_.tracer().step("neigh_output");
  Neighbour* n = lookup(ifc.index, next_hop);
  if (n == nullptr) {
    n = create(ifc, next_hop);
    if (n == nullptr) {
      count_queue_drops(1);
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
      // RFC 1122 2.3.2.1, RFC 4861 7.3.3: keep using the old address while checking it
      // with unicast probes (no DELAY state, see the header).
      xmit(ifc, *n, std::move(pkt));
      n->state = NeighState::kProbe;
      n->probes = 1;
      n->timer = stack_.now() + config_.retrans_time;
      proto_.solicit(ifc, *n, &n->mac);
      return;
    case NeighState::kIncomplete:
      // Linux __neigh_event_send: drop the oldest until the new packet fits both bounds.
      n->queue_bytes += pkt.size();
      n->queue.push_back(std::move(pkt));
      while (n->queue.size() > config_.queue_len || n->queue_bytes > config_.queue_bytes) {
        n->queue_bytes -= n->queue.front().size();
        n->queue.pop_front();
        count_queue_drops(1);
      }
      if (n->probes == 0) {
        n->probes = 1;
        n->timer = stack_.now() + config_.retrans_time;
        proto_.solicit(ifc, *n, nullptr);
      }
      return;
  }
}

void NeighTable::tick(Instant now) {
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
        stack_.mib().*params_.resolve_fails += 1;
        count_queue_drops(n.queue.size());
        stack_.tracer().note(fmt::format("{}: {} unreachable, dropped {} queued", params_.name,
                                         n.ip.to_string(), n.queue.size()));
        for (auto& p : n.queue)
          unreachable.push_back(std::move(p));
        erase = true;
      } else {
        n.probes++;
        n.timer = now + config_.retrans_time;
        stack_.tracer().begin(fmt::format("{} timer {}", params_.name, n.ip.to_string()));
        proto_.solicit(*ifc, n, n.state == NeighState::kProbe ? &n.mac : nullptr);
        stack_.tracer().end();
      }
    }
    it = erase ? table_.erase(it) : std::next(it);
  }
  if (!unreachable.empty()) proto_.error_report(std::move(unreachable));
}

Instant NeighTable::next_deadline() const noexcept {
  Instant t = kNever;
  for (const auto& [k, n] : table_) {
    t = earliest(t, n.timer);
    if (n.state == NeighState::kStale) t = earliest(t, n.used + config_.gc_stale_time);
  }
  return t;
}

}  // namespace usnet
