// PF_INET: socket creation by type and protocol, and the checks every inet protocol shares
// (Linux net/ipv4/af_inet.c).
#pragma once

#include <memory>

#include "base/result.h"
#include "socket/socket.h"

namespace usnet {

class Stack;

// inet_create / inet6_create: the protocol instance for (family, type, protocol).
// kProtocolNotSupported for an unknown protocol, kSocketTypeNotSupported for an unknown
// type, as Linux. AF_INET6 has UDP and TCP (its ICMPv6 ping sockets are not in yet).
Result<std::unique_ptr<Socket>> inet_create(Stack& stack, int family, int type, int protocol);

// The address checks of inet_bind: family, an address this host owns (or the wildcard, or
// a broadcast/multicast address), and a socket not yet bound.
Status inet_check_bind_addr(Socket& sock, const SockAddr& addr);

// Whether socket `a` bound to `a_addr` and socket `b` (bound to b.local.addr) take the
// same datagrams (Linux inet_rcv_saddr_equal, ipv6_rcv_saddr_equal): a wildcard overlaps
// every address of its family, else only an equal one; an AF_INET6 socket's :: without
// IPV6_V6ONLY is also the wildcard of IPv4 (a dual-stack socket).
bool inet_addrs_overlap(const Socket& a, const IpAddress& a_addr, const Socket& b) noexcept;

// Whether a datagram to `daddr` may go to socket `s` by its bound address (the address
// part of Linux compute_score): bound to it, or to a wildcard covering it.
bool inet_rcv_saddr_match(const Socket& s, const IpAddress& daddr) noexcept;

// The source to route from towards `dst`: the bound address when it is of dst's family,
// else that family's wildcard (a dual-stack socket bound to :: talking to an IPv4 peer).
IpAddress inet_saddr_for(const Socket& s, const IpAddress& dst) noexcept;

// The address a caller gave to bind, connect or sendto, checked against the socket's
// family and made what the tables hold: AF_INET for an AF_INET socket; AF_INET6 for an
// AF_INET6 one, a v4-mapped address becoming the IPv4 address it stands for (refused
// with `mapped_error` under IPV6_V6ONLY: EINVAL for bind, ENETUNREACH otherwise, as
// Linux). The result's family is the socket's. kAddressFamilyNotSupported otherwise.
Result<SockAddr> inet_addr_in(const Socket& s, const SockAddr& a, Error mapped_error);

// inet_shutdown for datagram sockets: marks the directions shut; ENOTCONN on an unconnected
// socket, which Linux still marks so pollers wake.
Status inet_shutdown(Socket& sock, int how);

}  // namespace usnet
