// getifaddrs, if_nametoindex/if_indextoname/if_nameindex and the SIOCGIF* ioctls answering
// for usnet's interfaces (preload/ifaddr.h).
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "api/handles.h"
#include "preload/dispatch.h"
#include "preload/ifaddr.h"
#include "stack/stack.h"

using namespace usnet;           // NOLINT(google-build-using-namespace): the C edge
using namespace usnet::preload;  // NOLINT(google-build-using-namespace)

namespace {

struct IfInfo {
  std::string name;
  unsigned int index = 0;
  bool loopback = false;
  MacAddress mac;
  std::size_t mtu = 0;
  std::vector<Ipv4Cidr> addrs;
  std::vector<Ipv6Cidr> addrs6;  // the link-local one included, as `ip -6 addr` shows it
};

// usnet's interfaces that the program sees (ifaddr.h); empty when usnet does not serve it.
std::vector<IfInfo> usnet_interfaces() {
  std::vector<IfInfo> out;
  if (!ensure_stack()) return out;
  usnet_stack* h = stack();
  if (h == nullptr) return out;
  Inside in;
  std::lock_guard lock(h->runtime->rt.mutex());
  for (const auto& ifc : h->stack->interfaces()) {
    const bool lo = ifc->index == Stack::kLoopbackIndex;
    if (lo && !loopback_in_usnet()) continue;
    IfInfo i{ifc->name, ifc->index, lo, ifc->mac, ifc->mtu, ifc->addrs, ifc->addrs6};
    // usnet's loopback answers ::1 (net/ipv6.cpp route_output) without holding it.
    if (lo && i.addrs6.empty()) i.addrs6.push_back(Ipv6Cidr{Ipv6Address::loopback(), 128});
    out.push_back(std::move(i));
  }
  return out;
}

const IfInfo* by_name(const std::vector<IfInfo>& ifs, const char* name) {
  for (const auto& i : ifs) {
    if (std::strncmp(i.name.c_str(), name, IFNAMSIZ) == 0) return &i;
  }
  return nullptr;
}

const IfInfo* by_index(const std::vector<IfInfo>& ifs, unsigned int index) {
  for (const auto& i : ifs) {
    if (i.index == index) return &i;
  }
  return nullptr;
}

sockaddr_in sin_of(Ipv4Address a) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_addr.s_addr = htonl(a.value);
  return s;
}

// An IPv6 address as getifaddrs gives it: a link-local one with its interface as scope
// id (glibc's getifaddrs sets sin6_scope_id for link-scoped addresses).
sockaddr_in6 sin6_of(const Ipv6Address& a, unsigned int ifindex) {
  sockaddr_in6 s{};
  s.sin6_family = AF_INET6;
  std::memcpy(&s.sin6_addr, a.bytes.data(), 16);
  if (a.is_link_local() || a.is_multicast()) s.sin6_scope_id = ifindex;
  return s;
}

// The netmask of a prefix length, as an address.
Ipv6Address mask6(unsigned int prefix_len) {
  Ipv6Address m;
  for (unsigned int i = 0; i < 16; ++i) {
    const unsigned int bits = prefix_len > 8 * i ? std::min(prefix_len - 8 * i, 8U) : 0U;
    m.bytes[i] = static_cast<std::uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
  }
  return m;
}

unsigned int flags_of(const IfInfo& i) {
  // What `ip link` shows for an interface that is up with a link.
  unsigned int f = IFF_UP | IFF_RUNNING;
  f |= i.loopback ? IFF_LOOPBACK : (IFF_BROADCAST | IFF_MULTICAST);
  return f;
}

int fail(int err) {
  errno = err;
  return -1;
}

// A kernel AF_INET socket to ask the kernel with, when fd is not one.
class KernelAsker {
 public:
  explicit KernelAsker(int fd, bool fd_is_kernel)
      : own_(fd_is_kernel ? -1 : real().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)),
        fd_(fd_is_kernel ? fd : own_) {}
  ~KernelAsker() {
    if (own_ >= 0) real().close(own_);
  }
  KernelAsker(const KernelAsker&) = delete;
  KernelAsker& operator=(const KernelAsker&) = delete;
  int ioctl(unsigned long request, void* arg) const {
    return fd_ < 0 ? -1 : real().ioctl(fd_, request, arg);
  }

 private:
  int own_;
  int fd_;
};

// SIOCGIFCONF: the kernel's list without the names usnet has, then usnet's addresses.
int ifconf_request(const KernelAsker& k, const std::vector<IfInfo>& ifs, ifconf* ifc) {
  std::vector<ifreq> kernel(64);
  for (;;) {
    ifconf q{};
    q.ifc_len = static_cast<int>(kernel.size() * sizeof(ifreq));
    q.ifc_req = kernel.data();
    if (k.ioctl(SIOCGIFCONF, &q) != 0) return -1;
    if (static_cast<std::size_t>(q.ifc_len) < kernel.size() * sizeof(ifreq)) {
      kernel.resize(static_cast<std::size_t>(q.ifc_len) / sizeof(ifreq));
      break;
    }
    kernel.resize(kernel.size() * 2);
  }
  std::vector<ifreq> all;
  for (const ifreq& r : kernel) {
    if (by_name(ifs, r.ifr_name) == nullptr) all.push_back(r);
  }
  for (const auto& i : ifs) {
    for (const auto& c : i.addrs) {
      ifreq r{};
      std::strncpy(r.ifr_name, i.name.c_str(), IFNAMSIZ - 1);
      const sockaddr_in s = sin_of(c.address);
      std::memcpy(&r.ifr_addr, &s, sizeof(s));
      all.push_back(r);
    }
  }
  // dev_ifconf: with no buffer, only the length needed; else as many whole entries as fit.
  if (ifc->ifc_req == nullptr) {
    ifc->ifc_len = static_cast<int>(all.size() * sizeof(ifreq));
    return 0;
  }
  const std::size_t room =
      ifc->ifc_len < 0 ? 0 : static_cast<std::size_t>(ifc->ifc_len) / sizeof(ifreq);
  const std::size_t n = std::min(room, all.size());
  std::memcpy(ifc->ifc_req, all.data(), n * sizeof(ifreq));
  ifc->ifc_len = static_cast<int>(n * sizeof(ifreq));
  return 0;
}

int ifreq_request(const IfInfo& i, unsigned long request, ifreq* r) {
  switch (request) {
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR: {
      if (i.addrs.empty()) return fail(EADDRNOTAVAIL);  // devinet_ioctl with no address
      const Ipv4Cidr& c = i.addrs.front();
      const Ipv4Address a = request == SIOCGIFADDR      ? c.address
                            : request == SIOCGIFNETMASK ? Ipv4Address{c.mask()}
                                                        : c.directed_broadcast();
      const sockaddr_in s = sin_of(a);
      std::memcpy(&r->ifr_addr, &s, sizeof(s));
      return 0;
    }
    case SIOCGIFINDEX:
      r->ifr_ifindex = static_cast<int>(i.index);
      return 0;
    case SIOCGIFHWADDR:
      std::memset(&r->ifr_hwaddr, 0, sizeof(r->ifr_hwaddr));
      r->ifr_hwaddr.sa_family = i.loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
      if (!i.loopback) std::memcpy(r->ifr_hwaddr.sa_data, i.mac.octets.data(), 6);
      return 0;
    case SIOCGIFMTU:
      r->ifr_mtu = static_cast<int>(i.mtu);
      return 0;
    case SIOCGIFFLAGS:
      r->ifr_flags = static_cast<short>(flags_of(i));
      return 0;
    default:
      return fail(EINVAL);
  }
}

}  // namespace

namespace usnet::preload {

bool is_interface_request(unsigned long request) noexcept {
  switch (request) {
    case SIOCGIFCONF:
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFINDEX:
    case SIOCGIFNAME:
    case SIOCGIFHWADDR:
    case SIOCGIFMTU:
    case SIOCGIFFLAGS:
      return true;
    default:
      return false;
  }
}

bool answer_interface_request(int fd, unsigned long request, void* arg, int& result) {
  const bool fd_is_kernel = usnet::api::fd_kind(fd) == FdKind::kNone;
  const std::vector<IfInfo> ifs = usnet_interfaces();
  if (ifs.empty() && fd_is_kernel) return false;
  KernelAsker k(fd, fd_is_kernel);
  if (arg == nullptr) {
    result = fail(EFAULT);
    return true;
  }
  if (request == SIOCGIFCONF) {
    result = ifconf_request(k, ifs, static_cast<ifconf*>(arg));
    return true;
  }
  auto* r = static_cast<ifreq*>(arg);
  const IfInfo* i = nullptr;
  if (request == SIOCGIFNAME) {
    i = by_index(ifs, static_cast<unsigned int>(r->ifr_ifindex));
    if (i != nullptr) {
      std::memset(r->ifr_name, 0, IFNAMSIZ);
      std::strncpy(r->ifr_name, i->name.c_str(), IFNAMSIZ - 1);
      result = 0;
      return true;
    }
  } else {
    char name[IFNAMSIZ + 1] = {};
    std::memcpy(name, r->ifr_name, IFNAMSIZ);
    i = by_name(ifs, name);
    if (i != nullptr) {
      result = ifreq_request(*i, request, r);
      return true;
    }
  }
  if (fd_is_kernel) return false;
  result = k.ioctl(request, arg);  // another interface, asked on a usnet socket
  return true;
}

}  // namespace usnet::preload

namespace {

// One getifaddrs entry before it is laid out.
struct Entry {
  std::string name;
  unsigned int flags = 0;
  std::vector<std::byte> addr, netmask, broad, data;
};

std::vector<std::byte> bytes_of(const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  return {b, b + n};
}

std::size_t sockaddr_size(const sockaddr* sa) {
  switch (sa->sa_family) {
    case AF_INET:
      return sizeof(sockaddr_in);
    case AF_INET6:
      return sizeof(sockaddr_in6);
    case AF_PACKET:
      return sizeof(sockaddr_ll);
    default:
      return sizeof(sockaddr);
  }
}

// The list in one malloc'd block, as glibc lays its own out: freeifaddrs (free) takes both.
ifaddrs* lay_out(const std::vector<Entry>& es) {
  const auto align = [](std::size_t n) { return (n + 15) & ~std::size_t{15}; };
  std::size_t total = align(es.size() * sizeof(ifaddrs));
  for (const auto& e : es) {
    total += align(e.name.size() + 1) + align(e.addr.size()) + align(e.netmask.size()) +
             align(e.broad.size()) + align(e.data.size());
  }
  auto* block = static_cast<std::byte*>(std::calloc(1, total == 0 ? 1 : total));
  if (block == nullptr) return nullptr;
  auto* nodes = reinterpret_cast<ifaddrs*>(block);  // NOLINT: laid out as glibc does
  std::byte* p = block + align(es.size() * sizeof(ifaddrs));
  const auto put = [&](const std::vector<std::byte>& v) -> void* {
    if (v.empty()) return nullptr;
    std::memcpy(p, v.data(), v.size());
    void* at = p;
    p += align(v.size());
    return at;
  };
  for (std::size_t i = 0; i < es.size(); ++i) {
    const Entry& e = es[i];
    ifaddrs& n = nodes[i];
    n.ifa_next = i + 1 < es.size() ? &nodes[i + 1] : nullptr;
    std::memcpy(p, e.name.c_str(), e.name.size() + 1);
    n.ifa_name = reinterpret_cast<char*>(p);  // NOLINT
    p += align(e.name.size() + 1);
    n.ifa_flags = e.flags;
    n.ifa_addr = static_cast<sockaddr*>(put(e.addr));
    n.ifa_netmask = static_cast<sockaddr*>(put(e.netmask));
    n.ifa_broadaddr = static_cast<sockaddr*>(put(e.broad));
    n.ifa_data = put(e.data);
  }
  return nodes;
}

}  // namespace

extern "C" {

int getifaddrs(ifaddrs** out) {
  if (inside() || !configured()) return real().getifaddrs(out);
  const std::vector<IfInfo> ifs = usnet_interfaces();
  if (ifs.empty()) return real().getifaddrs(out);
  ifaddrs* kernel = nullptr;
  if (real().getifaddrs(&kernel) != 0) return -1;
  std::vector<Entry> es;
  // Kernel entries first, without those of the names usnet has (its AF_PACKET, AF_INET
  // and AF_INET6 entries alike: usnet's own take their place).
  for (const ifaddrs* k = kernel; k != nullptr; k = k->ifa_next) {
    if (by_name(ifs, k->ifa_name) != nullptr) continue;
    Entry e;
    e.name = k->ifa_name;
    e.flags = k->ifa_flags;
    if (k->ifa_addr != nullptr) e.addr = bytes_of(k->ifa_addr, sockaddr_size(k->ifa_addr));
    if (k->ifa_netmask != nullptr) {
      e.netmask = bytes_of(k->ifa_netmask, sockaddr_size(k->ifa_netmask));
    }
    if (k->ifa_broadaddr != nullptr) {
      e.broad = bytes_of(k->ifa_broadaddr, sockaddr_size(k->ifa_broadaddr));
    }
    if (k->ifa_data != nullptr && k->ifa_addr != nullptr && k->ifa_addr->sa_family == AF_PACKET) {
      e.data = bytes_of(k->ifa_data, sizeof(rtnl_link_stats));
    }
    es.push_back(std::move(e));
  }
  real().freeifaddrs(kernel);
  for (const auto& i : ifs) {
    Entry link;
    link.name = i.name;
    link.flags = flags_of(i);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = static_cast<int>(i.index);
    ll.sll_hatype = i.loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
    ll.sll_halen = 6;
    std::memcpy(ll.sll_addr, i.mac.octets.data(), 6);
    link.addr = bytes_of(&ll, sizeof(ll));
    rtnl_link_stats stats{};  // usnet keeps no per-interface statistics in this form
    link.data = bytes_of(&stats, sizeof(stats));
    es.push_back(link);
    for (const auto& c : i.addrs) {
      Entry e;
      e.name = i.name;
      e.flags = flags_of(i);
      const sockaddr_in a = sin_of(c.address);
      const sockaddr_in m = sin_of(Ipv4Address{c.mask()});
      e.addr = bytes_of(&a, sizeof(a));
      e.netmask = bytes_of(&m, sizeof(m));
      if (!i.loopback) {
        const sockaddr_in b = sin_of(c.directed_broadcast());
        e.broad = bytes_of(&b, sizeof(b));
      }
      es.push_back(std::move(e));
    }
    for (const auto& c : i.addrs6) {
      Entry e;
      e.name = i.name;
      e.flags = flags_of(i);
      const sockaddr_in6 a = sin6_of(c.address, i.index);
      const sockaddr_in6 m = sin6_of(mask6(c.prefix_len), 0);
      e.addr = bytes_of(&a, sizeof(a));
      e.netmask = bytes_of(&m, sizeof(m));
      es.push_back(std::move(e));
    }
  }
  ifaddrs* list = lay_out(es);
  if (list == nullptr) return fail(ENOMEM);
  *out = list;
  return 0;
}

void freeifaddrs(ifaddrs* ifa) {
  // Ours and glibc's are both one malloc'd block; glibc's freeifaddrs frees it.
  real().freeifaddrs(ifa);
}

unsigned int if_nametoindex(const char* name) {
  if (!inside() && configured() && name != nullptr) {
    const auto ifs = usnet_interfaces();
    if (const IfInfo* i = by_name(ifs, name)) return i->index;
  }
  return real().if_nametoindex(name);
}

char* if_indextoname(unsigned int index, char* name) {
  if (!inside() && configured() && name != nullptr) {
    const auto ifs = usnet_interfaces();
    if (const IfInfo* i = by_index(ifs, index)) {
      std::strncpy(name, i->name.c_str(), IF_NAMESIZE - 1);
      name[IF_NAMESIZE - 1] = '\0';
      return name;
    }
  }
  return real().if_indextoname(index, name);
}

struct if_nameindex* if_nameindex() {
  struct if_nameindex* list = real().if_nameindex();
  if (list == nullptr || inside() || !configured()) return list;
  const auto ifs = usnet_interfaces();
  for (struct if_nameindex* p = list; p->if_index != 0 || p->if_name != nullptr; ++p) {
    if (p->if_name == nullptr) continue;
    if (const IfInfo* i = by_name(ifs, p->if_name)) p->if_index = i->index;
  }
  return list;
}

}  // extern "C"
