// The IPv4 routing table (RFC 1812 5.2.4.3): longest-prefix match, then lowest metric.
// Connected routes are added with each address; a default route is 0.0.0.0/0 via a gateway.
// A host table, not a router's: a few dozen entries at most, so a sorted vector is the
// right structure (kept sorted by prefix length, longest first).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/result.h"
#include "wire/addresses.h"

namespace usnet {

struct Route {
  Ipv4Cidr dst;         // network (address bits past the prefix are zero)
  Ipv4Address gateway;  // 0.0.0.0: the destination is on-link
  std::uint32_t ifindex = 0;
  std::uint32_t metric = 0;
  std::optional<Ipv4Address> prefsrc;  // source for locally generated traffic
};

// The outcome of a lookup: where to send and through which interface.
struct RouteResult {
  std::uint32_t ifindex = 0;
  Ipv4Address next_hop;  // gateway, or the destination itself when on-link
  std::optional<Ipv4Address> prefsrc;
};

class RouteTable {
 public:
  // kAddressInUse for an identical dst/metric entry (as `ip route add` says EEXIST).
  Status add(Route r);
  // Removes the routes to `dst` (all metrics); kAddressNotAvailable if none.
  Status remove(Ipv4Cidr dst);
  // Removes every route through an interface (when it goes away).
  void remove_interface(std::uint32_t ifindex);

  std::optional<RouteResult> lookup(Ipv4Address dst) const;
  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace usnet
