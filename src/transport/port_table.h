// The local ports of one transport protocol (Linux's udp_table / inet bind hash): which
// sockets hold which port, the bind-conflict rule, and ephemeral port choice.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/rng.h"
#include "socket/socket.h"

namespace usnet {

class PortTable {
 public:
  // True when `a` may not share a port with the already bound `b`.
  using ConflictRule = bool (*)(const Socket& a, IpAddress a_addr, const Socket& b);

  explicit PortTable(ConflictRule rule) : rule_(rule) {}

  // Binds `s` to (addr, port); port 0 picks a free ephemeral port from the stack's
  // net.ipv4.ip_local_port_range, starting at a random point of it as Linux does, so ports are hard
  // to guess (RFC 6056 section 3.3.1). On success sets s.local. kAddressInUse on conflict or when
  // the range is exhausted (Linux says EADDRINUSE for both, and EAGAIN for autobind — the caller
  // maps that).
  Status bind(Socket& s, IpAddress addr, std::uint16_t port, Rng& rng);
  void unbind(Socket& s);
  // Records that `s` holds its port (s.local) without the conflict check: a connection a
  // listener accepted shares the listener's port, as Linux puts it in the bind bucket.
  void attach(Socket& s);

  // Sockets bound to `port` (empty if none).
  const std::vector<Socket*>& on_port(std::uint16_t port) const;
  std::size_t size() const noexcept { return count_; }

 private:
  bool conflicts(const Socket& s, IpAddress addr, std::uint16_t port) const;

  ConflictRule rule_;
  std::unordered_map<std::uint16_t, std::vector<Socket*>> ports_;
  std::size_t count_ = 0;
};

// The rule for datagram sockets (Linux udp_lib_lport_inuse): two sockets conflict when their
// addresses overlap (equal, or either is the wildcard) unless both set SO_REUSEADDR or both
// set SO_REUSEPORT.
bool udp_bind_conflict(const Socket& a, IpAddress a_addr, const Socket& b);

}  // namespace usnet
