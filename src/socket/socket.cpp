#include "socket/socket.h"

#include <fmt/format.h>

#include "stack/stack.h"

namespace usnet {

std::string SockAddr::to_string() const {
  if (family == AF_INET) return fmt::format("{}:{}", addr.to_string(), port);
  return "unspec";
}

int Socket::ttl() const noexcept {
  return opt.ttl >= 0 ? opt.ttl : stack.config().default_ttl;
}

IpOutParams Socket::ip_out_params(Ipv4Address src, Ipv4Address dst,
                                  std::uint8_t proto) const noexcept {
  IpOutParams ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = proto;
  ip.ttl = static_cast<std::uint8_t>(ttl());
  ip.tos = opt.tos;
  ip.pmtu = opt.pmtu;
  return ip;
}

}  // namespace usnet
