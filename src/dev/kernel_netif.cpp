#include "dev/kernel_netif.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace usnet {
namespace {

Error from_errno(int e) {
  switch (e) {
    case EPERM:
    case EACCES:
      return Error::kPermissionDenied;
    case ENODEV:
    case ENXIO:
      return Error::kNoDevice;
    case EEXIST:
      return Error::kAddressInUse;
    default:
      return Error::kInvalidArgument;
  }
}

// Runs one SIOC* request on `ifname` with a fresh control socket.
template <typename Fill>
Status ifreq_call(std::string_view ifname, unsigned long request, Fill fill) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return Error::kInvalidArgument;
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return from_errno(errno);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  fill(ifr, s);
  const int rc = ::ioctl(s, request, &ifr);
  const int err = errno;
  ::close(s);
  if (rc < 0) return from_errno(err);
  return {};
}

void set_sin(sockaddr& sa, std::uint32_t host_order) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(host_order);
  std::memcpy(&sa, &sin, sizeof(sin));
}

}  // namespace

Status kernel_netif_set_ipv4(std::string_view ifname, Ipv4Cidr cidr) {
  if (auto st = ifreq_call(ifname, SIOCSIFADDR,
                           [&](ifreq& r, int) { set_sin(r.ifr_addr, cidr.address.value); });
      !st) {
    return st;
  }
  return ifreq_call(ifname, SIOCSIFNETMASK,
                    [&](ifreq& r, int) { set_sin(r.ifr_netmask, cidr.mask()); });
}

Status kernel_netif_add_ipv6(std::string_view ifname, Ipv6Cidr cidr) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return Error::kInvalidArgument;
  // /proc/sys/net is the calling thread's namespace's. Best effort: without it the address
  // still comes, DAD-tentative for a second.
  const std::string dad = "/proc/sys/net/ipv6/conf/" + std::string(ifname) + "/accept_dad";
  if (const int f = ::open(dad.c_str(), O_WRONLY | O_CLOEXEC); f >= 0) {
    [[maybe_unused]] const auto n = ::write(f, "0\n", 2);
    ::close(f);
  }
  const unsigned int index = ::if_nametoindex(std::string(ifname).c_str());
  if (index == 0) return from_errno(errno);
  // ipv6(7): SIOCSIFADDR on an AF_INET6 socket takes the kernel's struct in6_ifreq
  // (linux/ipv6.h, which clashes with glibc's netinet/in.h): its layout, here.
  struct {
    in6_addr addr;
    std::uint32_t prefixlen;
    int ifindex;
  } r{};
  const int s = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return from_errno(errno);
  std::memcpy(&r.addr, cidr.address.bytes.data(), 16);
  r.prefixlen = cidr.prefix_len;
  r.ifindex = static_cast<int>(index);
  const int rc = ::ioctl(s, SIOCSIFADDR, &r);
  const int err = errno;
  ::close(s);
  // EEXIST: the interface has it already (a TAP configured before), which is what was asked.
  if (rc < 0 && err != EEXIST) return from_errno(err);
  return {};
}

Status kernel_netif_set_mtu(std::string_view ifname, std::size_t mtu) {
  return ifreq_call(ifname, SIOCSIFMTU, [&](ifreq& r, int) { r.ifr_mtu = static_cast<int>(mtu); });
}

Status kernel_netif_set_up(std::string_view ifname) {
  // Read the flags first so that only IFF_UP changes.
  return ifreq_call(ifname, SIOCSIFFLAGS, [&](ifreq& r, int s) {
    if (::ioctl(s, SIOCGIFFLAGS, &r) == 0) r.ifr_flags = static_cast<short>(r.ifr_flags | IFF_UP);
  });
}

}  // namespace usnet
