// A thin C++20 layer over the usnet C API: an RAII socket that closes itself, std::span
// buffers, and std::error_code results (std::system_category, the errno usnet set).
//
//   usnet::sys::Socket s = usnet::sys::Socket::open(AF_INET, SOCK_DGRAM, 0, ec);
//   s.bind(usnet::sys::ipv4("198.18.0.2", 7));
//   auto n = s.recv_from(buf, from, 0, ec);
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include "usnet/usnet.h"

namespace usnet::sys {

inline std::error_code last_error() noexcept {
  return {errno, std::system_category()};
}

// A sockaddr_in for a dotted-quad address and a port; INADDR_NONE if `addr` does not parse.
inline sockaddr_in ipv4(const char* addr, std::uint16_t port) noexcept {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) a.sin_addr.s_addr = INADDR_NONE;
  return a;
}

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) noexcept : fd_(fd) {}
  ~Socket() { close(); }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  static Socket open(int domain, int type, int protocol, std::error_code& ec) noexcept {
    const int fd = usnet_socket(domain, type, protocol);
    ec = fd < 0 ? last_error() : std::error_code{};
    return Socket(fd);
  }

  int fd() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void close() noexcept {
    if (fd_ >= 0) usnet_close(std::exchange(fd_, -1));
  }

  std::error_code bind(const sockaddr_in& a) noexcept {
    return check(usnet_bind(fd_, as_sa(a), sizeof(a)));
  }
  std::error_code connect(const sockaddr_in& a) noexcept {
    return check(usnet_connect(fd_, as_sa(a), sizeof(a)));
  }
  std::error_code shutdown(int how) noexcept { return check(usnet_shutdown(fd_, how)); }
  std::error_code set_nonblocking(bool on) noexcept {
    const int fl = usnet_fcntl(fd_, F_GETFL);
    if (fl < 0) return last_error();
    return check(usnet_fcntl(fd_, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)));
  }

  std::size_t send(std::span<const std::byte> data, int flags, std::error_code& ec) noexcept {
    return result(usnet_send(fd_, data.data(), data.size(), flags), ec);
  }
  std::size_t send_to(std::span<const std::byte> data, const sockaddr_in& to, int flags,
                      std::error_code& ec) noexcept {
    return result(usnet_sendto(fd_, data.data(), data.size(), flags, as_sa(to), sizeof(to)), ec);
  }
  std::size_t recv(std::span<std::byte> buf, int flags, std::error_code& ec) noexcept {
    return result(usnet_recv(fd_, buf.data(), buf.size(), flags), ec);
  }
  std::size_t recv_from(std::span<std::byte> buf, sockaddr_in& from, int flags,
                        std::error_code& ec) noexcept {
    socklen_t len = sizeof(from);
    return result(usnet_recvfrom(fd_, buf.data(), buf.size(), flags,
                                 reinterpret_cast<sockaddr*>(&from), &len),
                  ec);
  }

  sockaddr_in local_address(std::error_code& ec) const noexcept {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    ec = check(usnet_getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len));
    return a;
  }
  sockaddr_in peer_address(std::error_code& ec) const noexcept {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    ec = check(usnet_getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len));
    return a;
  }

  template <typename T>
  std::error_code set_option(int level, int name, const T& value) noexcept {
    return check(usnet_setsockopt(fd_, level, name, &value, sizeof(T)));
  }
  template <typename T>
  T get_option(int level, int name, std::error_code& ec) const noexcept {
    T value{};
    socklen_t len = sizeof(T);
    ec = check(usnet_getsockopt(fd_, level, name, &value, &len));
    return value;
  }

 private:
  static const sockaddr* as_sa(const sockaddr_in& a) noexcept {
    return reinterpret_cast<const sockaddr*>(&a);
  }
  static std::error_code check(int rc) noexcept {
    return rc < 0 ? last_error() : std::error_code{};
  }
  static std::size_t result(ssize_t n, std::error_code& ec) noexcept {
    ec = n < 0 ? last_error() : std::error_code{};
    return n < 0 ? 0 : static_cast<std::size_t>(n);
  }

  int fd_ = -1;
};

}  // namespace usnet::sys
