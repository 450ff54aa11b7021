// What goes where (issue 8 item 4): which AF_INET destinations and local addresses usnet
// serves. Everything else (other families, loopback by default, addresses only the kernel
// reaches) stays with the kernel.
#include <netinet/in.h>

#include <cstring>
#include <mutex>

#include "api/handles.h"
#include "net/route.h"
#include "preload/preload.h"
#include "stack/stack.h"

namespace usnet::preload {
namespace {

bool ipv4_of(const sockaddr* addr, socklen_t len, Ipv4Address& out) {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in)) ||
      addr->sa_family != AF_INET) {
    return false;
  }
  sockaddr_in in{};
  std::memcpy(&in, addr, sizeof(in));
  out.value = ntohl(in.sin_addr.s_addr);
  return true;
}

}  // namespace

bool served_by_usnet(const sockaddr* addr, socklen_t len) {
  Ipv4Address a;
  if (!ipv4_of(addr, len, a)) return false;
  // Linux sends to 0.0.0.0 as to this host (ip_route_output_key_hash: a zero daddr becomes
  // the loopback address).
  if (a.is_loopback() || a.is_any()) return loopback_in_usnet() && ensure_stack();
  if (!ensure_stack()) return false;
  usnet_stack* h = stack();
  if (h == nullptr) return false;
  Inside in;
  std::lock_guard lock(h->runtime->rt.mutex());
  Stack& s = *h->stack;
  if (s.is_local_address(a) || s.is_broadcast_address(a)) return true;
  return s.routes().lookup(a).has_value();
}

bool bound_by_usnet(const sockaddr* addr, socklen_t len) {
  Ipv4Address a;
  if (!ipv4_of(addr, len, a)) return false;
  if (a.is_loopback()) return loopback_in_usnet() && ensure_stack();
  if (!ensure_stack()) return false;
  if (a.is_any()) return true;  // a wildcard listens on usnet's interfaces (README)
  usnet_stack* h = stack();
  if (h == nullptr) return false;
  Inside in;
  std::lock_guard lock(h->runtime->rt.mutex());
  return h->stack->is_local_address(a) || h->stack->is_broadcast_address(a);
}

}  // namespace usnet::preload
