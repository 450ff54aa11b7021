// A C++ program on the installed library: a UDP datagram over the default stack's loopback
// through usnet.hpp's RAII socket. Exits non-zero, saying why, if anything differs.
#include <usnet/usnet.hpp>

#include <cstdio>
#include <cstring>
#include <span>

namespace {

int fail(const char* what, const std::error_code& ec) {
  std::fprintf(stderr, "c++ consumer: %s failed: %s\n", what, ec.message().c_str());
  return 1;
}

}  // namespace

int main() {
  std::error_code ec;
  auto rx = usnet::sys::Socket::open(AF_INET, SOCK_DGRAM, 0, ec);
  if (ec) return fail("open", ec);
  if (auto e = rx.bind(usnet::sys::ipv4("127.0.0.1", 0))) return fail("bind", e);
  const sockaddr_in to = rx.local_address(ec);
  if (ec) return fail("local_address", ec);
  auto tx = usnet::sys::Socket::open(AF_INET, SOCK_DGRAM, 0, ec);
  if (ec) return fail("open", ec);
  const char msg[] = "installed usnet works from C++";
  tx.send_to(std::as_bytes(std::span(msg)), to, 0, ec);
  if (ec) return fail("send_to", ec);
  char buf[64] = {};
  const auto n = rx.recv(std::as_writable_bytes(std::span(buf)), 0, ec);
  if (ec) return fail("recv", ec);
  if (n != sizeof(msg) || std::memcmp(buf, msg, sizeof(msg)) != 0) {
    std::fprintf(stderr, "c++ consumer: received %zu bytes: \"%.*s\"\n", n,
                 static_cast<int>(sizeof(buf)), buf);
    return 1;
  }
  std::puts(buf);
  return 0;
}
