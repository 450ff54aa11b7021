#include "tcp_io.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "usnet/usnet.h"

namespace usnet::tool {

bool send_all(int fd, const void* buf, std::size_t len) {
  const auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    const ssize_t n = usnet_send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool make_addr(const std::string& ip_in, int port, NetAddr& addr) {
  addr = {};
  std::string ip = ip_in;
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  if (ip.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&addr.ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<std::uint16_t>(port));
    addr.len = sizeof(sockaddr_in6);
    return inet_pton(AF_INET6, ip.c_str(), &s6->sin6_addr) == 1;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&addr.ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(static_cast<std::uint16_t>(port));
  addr.len = sizeof(sockaddr_in);
  return inet_pton(AF_INET, ip.c_str(), &s4->sin_addr) == 1;
}

int tcp_listen_on(const std::string& bind_addr, int port, const char* who, int backlog) {
  NetAddr addr;
  if (!make_addr(bind_addr, port, addr)) {
    std::cerr << who << ": bad --bind address " << bind_addr << "\n";
    return -1;
  }
  // An IPv6 address (:: included, which takes IPv4 as well) gives an AF_INET6 listener.
  const int fd = usnet_socket(addr.family(), SOCK_STREAM, 0);
  if (fd < 0) {
    std::cerr << who << ": socket: " << std::strerror(errno) << "\n";
    return -1;
  }
  const int one = 1;
  usnet_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (usnet_bind(fd, addr.sa(), addr.len) < 0 || usnet_listen(fd, backlog) < 0) {
    std::cerr << who << ": bind/listen: " << std::strerror(errno) << "\n";
    usnet_close(fd);
    return -1;
  }
  return fd;
}

void Fnv64::add(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
}

}  // namespace usnet::tool
