// Uses the installed headers and library: a UDP datagram over usnet's loopback.
#include <usnet/usnet.hpp>

#include <cstdio>
#include <cstring>

int main() {
  std::error_code ec;
  auto rx = usnet::sys::Socket::open(AF_INET, SOCK_DGRAM, 0, ec);
  if (ec || rx.bind(usnet::sys::ipv4("127.0.0.1", 5555))) return 1;
  auto tx = usnet::sys::Socket::open(AF_INET, SOCK_DGRAM, 0, ec);
  const char msg[] = "installed usnet works";
  tx.send_to(std::as_bytes(std::span(msg)), usnet::sys::ipv4("127.0.0.1", 5555), 0, ec);
  if (ec) return 2;
  char buf[64] = {};
  const auto n = rx.recv(std::as_writable_bytes(std::span(buf)), 0, ec);
  if (ec || n != sizeof(msg) || std::strcmp(buf, msg) != 0) return 3;
  std::puts(buf);
  return 0;
}
