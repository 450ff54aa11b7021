// What goes where (issue 8 item 4): which AF_INET and AF_INET6 destinations and local
// addresses usnet serves. Everything else (other families, loopback by default, addresses
// only the kernel reaches) stays with the kernel.
#include <netinet/in.h>

#include <algorithm>
#include <mutex>

#include "api/handles.h"
#include "api/sockaddr.h"
#include "net/route.h"
#include "preload/preload.h"
#include "stack/stack.h"

namespace usnet::preload {
namespace {

// An AF_INET or AF_INET6 address as usnet's (api/sockaddr.h, as the calls read it: an
// AF_INET6 one from RFC 2133's 24 bytes on, without a scope id then); a v4-mapped IPv6
// address stays IPv6 here (the callers take its IPv4 rule). False for another family or a
// short length.
bool ip_of(const sockaddr* addr, socklen_t len, IpAddress& out, std::uint32_t& scope) {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return false;
  const int family = addr->sa_family;
  if ((family != AF_INET && family != AF_INET6) || len < api::addr_min_len(family)) return false;
  auto a = api::sockaddr_in_from_user(addr, len);
  if (!a) return false;
  out = a->addr;
  scope = a->scope_id;
  return true;
}

// A link-scoped IPv6 address (fe80::/10, multicast) names its link by the scope id; usnet's
// only if that is one of usnet's interfaces (an index the interface calls gave the program,
// preload/ifaddr.h). Without a scope id Linux refuses to send there (EINVAL), and the kernel
// socket says so.
bool link_is_usnets(Stack& s, std::uint32_t scope) {
  return scope != 0 && scope != Stack::kLoopbackIndex && s.interface(scope) != nullptr;
}

// An on-link prefix of usnet's interfaces holds `a` (usnet's IPv6 has no routes via a
// gateway yet, net/ipv6.h). Looked up here rather than with route_output, which counts a
// miss (Ip6OutNoRoutes) as a packet without a route.
bool on_link6(Stack& s, const Ipv6Address& a) {
  return std::any_of(s.interfaces().begin(), s.interfaces().end(), [&](const auto& ifc) {
    return ifc->index != Stack::kLoopbackIndex &&
           std::any_of(ifc->addrs6.begin(), ifc->addrs6.end(), [&](const Ipv6Cidr& c) {
             return !c.address.is_link_local() && c.contains(a);
           });
  });
}

bool served(IpAddress a, std::uint32_t scope) {
  a = a.unmapped();
  // Linux sends to 0.0.0.0 and :: as to this host (ip_route_output_key_hash,
  // ip6_route_output: an unspecified daddr becomes the loopback address).
  if (a.is_loopback() || a.is_any()) return loopback_in_usnet() && ensure_stack();
  if (!ensure_stack()) return false;
  usnet_stack* h = stack();
  if (h == nullptr) return false;
  Inside in;
  std::lock_guard lock(h->runtime->rt.mutex());
  Stack& s = *h->stack;
  if (a.is_v4()) {
    if (s.is_local_address(a.v4()) || s.is_broadcast_address(a.v4())) return true;
    return s.routes().lookup(a.v4()).has_value();
  }
  if (a.is_link_local() || a.is_multicast()) return link_is_usnets(s, scope);
  return s.is_local_address(a) || on_link6(s, a.v6());
}

bool bound(IpAddress a, std::uint32_t scope) {
  a = a.unmapped();
  if (a.is_loopback()) return loopback_in_usnet() && ensure_stack();
  if (!ensure_stack()) return false;
  if (a.is_any()) return true;  // a wildcard listens on usnet's interfaces (README)
  usnet_stack* h = stack();
  if (h == nullptr) return false;
  Inside in;
  std::lock_guard lock(h->runtime->rt.mutex());
  Stack& s = *h->stack;
  if (a.is_v4()) return s.is_local_address(a.v4()) || s.is_broadcast_address(a.v4());
  if (a.is_link_local() && !link_is_usnets(s, scope)) return false;
  return s.is_local_address(a);
}

}  // namespace

bool served_by_usnet(const sockaddr* addr, socklen_t len) {
  IpAddress a;
  std::uint32_t scope = 0;
  return ip_of(addr, len, a, scope) && served(a, scope);
}

bool bound_by_usnet(const sockaddr* addr, socklen_t len) {
  IpAddress a;
  std::uint32_t scope = 0;
  return ip_of(addr, len, a, scope) && bound(a, scope);
}

}  // namespace usnet::preload
