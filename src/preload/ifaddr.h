// usnet's interfaces as the interface calls show them (getifaddrs, if_nametoindex, the
// SIOCGIF* ioctls): the TAP interface carries usnet's address, MAC, MTU and ifindex under
// the TAP's name, in place of the kernel's view of that name; every other interface is the
// kernel's. usnet's loopback replaces the kernel's only with USNET_LOOPBACK=usnet.
#pragma once

namespace usnet::preload {

// SIOCGIFCONF, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFINDEX, SIOCGIFNAME,
// SIOCGIFHWADDR, SIOCGIFMTU, SIOCGIFFLAGS.
bool is_interface_request(unsigned long request) noexcept;

// Answers an interface request made on fd (a usnet socket, or any kernel descriptor) if it
// concerns usnet (sets `result` to the call's return value, errno on -1); false: let the
// kernel answer on fd.
bool answer_interface_request(int fd, unsigned long request, void* arg, int& result);

}  // namespace usnet::preload
