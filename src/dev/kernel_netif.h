// Configuring a kernel network interface by name, in the calling thread's network
// namespace: what `ip addr add`, `ip link set mtu` and `ip link set up` do, through ioctls
// on an AF_INET datagram socket (netdevice(7)). Used to set up the kernel side of a TAP.
#pragma once

#include <string_view>

#include "base/result.h"
#include "wire/addresses.h"

namespace usnet {

Status kernel_netif_set_ipv4(std::string_view ifname, Ipv4Cidr cidr);
Status kernel_netif_set_mtu(std::string_view ifname, std::size_t mtu);
Status kernel_netif_set_up(std::string_view ifname);

}  // namespace usnet
