// Stream helpers the TCP subcommands share: whole writes, a listening socket, addresses.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace usnet::tool {

// Writes all of buf (usnet_send loops on partial writes); false on error (errno set).
bool send_all(int fd, const void* buf, std::size_t len);
// A bound, listening usnet TCP socket with SO_REUSEADDR; -1 after printing the reason.
// No receive timeout: accepted sockets would inherit it (as on Linux, sk_clone_lock).
int tcp_listen_on(const std::string& bind_addr, int port, const char* who, int backlog = 128);
// Parses an IPv4 literal and port into addr; false if it is not one.
// A socket address of either family, as the tools pass it to bind and connect.
struct NetAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};
// An IPv4 dotted quad or an IPv6 address (in [brackets] or not) and a port.
bool make_addr(const std::string& ip, int port, NetAddr& addr);
// 64-bit FNV-1a, to compare bodies without extra dependencies.
struct Fnv64 {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  void add(const void* p, std::size_t n);
};
// The generated body byte at offset i (for `usnet httpd`'s /bytes/N and checks).
inline unsigned char body_byte(std::uint64_t i) {
  return static_cast<unsigned char>((i * 7 + i / 4096) & 0xff);
}

}  // namespace usnet::tool
