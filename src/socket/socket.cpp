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

}  // namespace usnet
