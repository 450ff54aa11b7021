// Configuring a kernel network interface by name, in the calling thread's network
// namespace: what `ip addr add`, `ip link set mtu` and `ip link set up` do, through ioctls
// on an AF_INET datagram socket (netdevice(7)). Used to set up the kernel side of a TAP.
#pragma once

#include <string_view>

#include "base/result.h"
#include "wire/addresses.h"

namespace usnet {

Status kernel_netif_set_ipv4(std::string_view ifname, Ipv4Cidr cidr);
// `ip -6 addr add CIDR dev IF nodad`: the address on a link that only the caller's stack
// shares (a TAP it made), so duplicate address detection is turned off for the interface
// first (accept_dad=0) and the address is usable at once rather than tentative for a
// second (RFC 4862 5.4).
Status kernel_netif_add_ipv6(std::string_view ifname, Ipv6Cidr cidr);
Status kernel_netif_set_mtu(std::string_view ifname, std::size_t mtu);
Status kernel_netif_set_up(std::string_view ifname);

}  // namespace usnet
