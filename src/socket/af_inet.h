// PF_INET: socket creation by type and protocol, and the checks every inet protocol shares
// (Linux net/ipv4/af_inet.c).
#pragma once

#include <memory>

#include "base/result.h"
#include "socket/socket.h"

namespace usnet {

class Stack;

// inet_create: the protocol instance for (type, protocol). kProtocolNotSupported for an
// unknown protocol, kSocketTypeNotSupported for an unknown type, as Linux.
Result<std::unique_ptr<Socket>> inet_create(Stack& stack, int type, int protocol);

// The address checks of inet_bind: family, an address this host owns (or the wildcard, or
// a broadcast/multicast address), and a socket not yet bound.
Status inet_check_bind_addr(Socket& sock, const SockAddr& addr);

// Whether two bound addresses take the same datagrams (Linux inet_rcv_saddr_equal): the
// wildcard overlaps every address of its family, else only an equal one. Addresses of
// different families never overlap here (a dual-stack wildcard's IPv4 half comes with
// AF_INET6 sockets, as Linux's ipv6_rcv_saddr_equal).
bool inet_addrs_overlap(const IpAddress& a, const IpAddress& b) noexcept;

// inet_shutdown for datagram sockets: marks the directions shut; ENOTCONN on an unconnected
// socket, which Linux still marks so pollers wake.
Status inet_shutdown(Socket& sock, int how);

}  // namespace usnet
