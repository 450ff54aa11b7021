#include "transport/port_table.h"

#include <algorithm>

#include "socket/af_inet.h"
#include "stack/stack.h"

namespace usnet {

bool udp_bind_conflict(const Socket& a, IpAddress a_addr, const Socket& b) {
  if (!inet_addrs_overlap(a, a_addr, b)) return false;
  if (a.opt.reuseaddr && b.opt.reuseaddr) return false;
  if (a.opt.reuseport && b.opt.reuseport) return false;
  return true;
}

bool PortTable::conflicts(const Socket& s, IpAddress addr, std::uint16_t port) const {
  auto it = ports_.find(port);
  if (it == ports_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const Socket* other) { return other != &s && rule_(s, addr, *other); });
}

Status PortTable::bind(Socket& s, IpAddress addr, std::uint16_t port, Rng& rng) {
  if (port == 0) {
    const auto [low, high] = s.stack.sysctl().ip_local_port_range;
    const auto range = static_cast<std::uint32_t>(high - low + 1);
    const auto start = static_cast<std::uint32_t>(rng.below(range));
    bool found = false;
    for (std::uint32_t i = 0; i < range; ++i) {
      const auto candidate =
          static_cast<std::uint16_t>(static_cast<std::uint32_t>(low) + (start + i) % range);
      // An ephemeral port is one nobody holds at all, so a later explicit bind of a
      // specific address to it still works.
      if (!ports_.contains(candidate)) {
        port = candidate;
        found = true;
        break;
      }
    }
    if (!found) return Error::kAddressInUse;
  } else if (conflicts(s, addr, port)) {
    return Error::kAddressInUse;
  }
  ports_[port].push_back(&s);
  ++count_;
  s.local = SockAddr{s.family, addr, port};
  return {};
}

void PortTable::attach(Socket& s) {
  ports_[s.local.port].push_back(&s);
  ++count_;
}

void PortTable::unbind(Socket& s) {
  auto it = ports_.find(s.local.port);
  if (it == ports_.end()) return;
  auto& v = it->second;
  const auto before = v.size();
  std::erase(v, &s);
  count_ -= before - v.size();
  if (v.empty()) ports_.erase(it);
}

const std::vector<Socket*>& PortTable::on_port(std::uint16_t port) const {
  static const std::vector<Socket*> kNone;  // immutable and empty: not state
  auto it = ports_.find(port);
  return it == ports_.end() ? kNone : it->second;
}

}  // namespace usnet
