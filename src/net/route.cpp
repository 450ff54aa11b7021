#include "net/route.h"

#include <algorithm>

namespace usnet {

Status RouteTable::add(Route r) {
  r.dst.address = r.dst.network();
  for (const auto& e : routes_) {
    if (e.dst == r.dst && e.metric == r.metric) return Error::kAddressInUse;
  }
  // Keep longest prefix first, then lowest metric, so lookup takes the first match.
  auto pos = std::find_if(routes_.begin(), routes_.end(), [&](const Route& e) {
    return e.dst.prefix_len < r.dst.prefix_len ||
           (e.dst.prefix_len == r.dst.prefix_len && e.metric > r.metric);
  });
  routes_.insert(pos, r);
  return {};
}

Status RouteTable::remove(Ipv4Cidr dst) {
  dst.address = dst.network();
  const auto before = routes_.size();
  std::erase_if(routes_, [&](const Route& e) { return e.dst == dst; });
  if (routes_.size() == before) return Error::kAddressNotAvailable;
  return {};
}

void RouteTable::remove_interface(std::uint32_t ifindex) {
  std::erase_if(routes_, [&](const Route& e) { return e.ifindex == ifindex; });
}

std::optional<RouteResult> RouteTable::lookup(Ipv4Address dst) const {
  for (const auto& e : routes_) {
    if (e.dst.contains(dst)) {
      return RouteResult{e.ifindex, e.gateway.is_any() ? dst : e.gateway, e.prefsrc};
    }
  }
  return std::nullopt;
}

}  // namespace usnet
