// Conversions between the caller's struct sockaddr and the stack's SockAddr, with Linux's
// length rules (move_addr_to_kernel / move_addr_to_user).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "base/result.h"
#include "socket/socket.h"

namespace usnet::api {

// Copies in a caller's address of `len` bytes. kInvalidArgument if len is negative or over
// sizeof(sockaddr_storage); kFault if addr is null with len > 0. Fields the bytes do not
// cover stay zero; the family is taken as given (callers check what they need): AF_INET6
// reads a sockaddr_in6 (address, port, flow information, scope), any other a sockaddr_in.
Result<SockAddr> sockaddr_in_from_user(const sockaddr* addr, socklen_t len);

// The shortest name the calls take for a family: a whole sockaddr_in, or for AF_INET6
// the 24 bytes of RFC 2133's sockaddr_in6 (Linux SIN6_LEN_RFC2133: no scope id).
constexpr socklen_t addr_min_len(int family) {
  return family == AF_INET6 ? 24 : static_cast<socklen_t>(sizeof(sockaddr_in));
}

// Writes `a` as a sockaddr_in, or a sockaddr_in6 when a.family is AF_INET6, into
// (addr, *len): copies min(*len, size) bytes and sets *len to the size (16 or 28). kFault if len is
// null, kInvalidArgument if *len is negative (as a signed int).
Status sockaddr_to_user(const SockAddr& a, sockaddr* addr, socklen_t* len);

}  // namespace usnet::api
