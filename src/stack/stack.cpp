#include "stack/stack.h"

#include <fmt/format.h>

#include "net/arp.h"
#include "net/icmp.h"
#include "net/icmpv6.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/ndp.h"
#include "net/route.h"
#include "socket/fd_table.h"
#include "transport/ping.h"
#include "transport/tcp/tcp.h"
#include "transport/udp.h"
#include "wire/ethernet.h"

namespace usnet {

Stack::Stack(StackConfig config)
    : config_(std::move(config)),
      sysctl_(config_.sysctl),
      rng_(config_.seed ? *config_.seed : os_random_u64()),
      routes_(std::make_unique<RouteTable>()),
      arp_(std::make_unique<Arp>(*this)),
      ndp_(std::make_unique<Ndp>(*this)),
      ipv4_(std::make_unique<Ipv4>(*this)),
      icmp_(std::make_unique<Icmp>(*this)),
      ipv6_(std::make_unique<Ipv6>(*this)),
      icmpv6_(std::make_unique<Icmpv6>(*this)),
      udp_(std::make_unique<Udp>(*this)),
      tcp_(std::make_unique<Tcp>(*this)),
      ping_(std::make_unique<Ping>(*this)),
      sockets_(std::make_unique<SocketTable>()) {
  ptypes_.dev_add_pack(static_cast<std::uint16_t>(wire::EtherType::kIpv4), ipv4_.get());
  ptypes_.dev_add_pack(static_cast<std::uint16_t>(wire::EtherType::kArp), arp_.get());
  ipv4_->register_protocol(static_cast<std::uint8_t>(wire::IpProtocol::kUdp), udp_.get());
  ipv4_->register_protocol(static_cast<std::uint8_t>(wire::IpProtocol::kTcp), tcp_.get());
  ptypes_.dev_add_pack(static_cast<std::uint16_t>(wire::EtherType::kIpv6), ipv6_.get());
  ipv6_->register_protocol(static_cast<std::uint8_t>(wire::IpProtocol::kUdp), udp_.get());
  ipv6_->register_protocol(static_cast<std::uint8_t>(wire::IpProtocol::kTcp), tcp_.get());
  // Echo replies and errors about echo requests go to the ping sockets (Linux ping_rcv,
  // ping_err, called from icmp_rcv and icmpv6_rcv).
  ipv4_->register_protocol(static_cast<std::uint8_t>(wire::IpProtocol::kIcmp), ping_.get());
  ipv6_->register_protocol(58, ping_.get());  // IPPROTO_ICMPV6
  auto lo = std::make_unique<Interface>();
  lo->index = kLoopbackIndex;
  lo->name = "lo";
  lo->mtu = 65536;
  lo->addrs.push_back(Ipv4Cidr{Ipv4Address::from_octets(127, 0, 0, 1), 8});
  lo->addrs6.push_back(Ipv6Cidr{Ipv6Address::loopback(), 128});
  ifs_.push_back(std::move(lo));
}

Stack::~Stack() {
  // Sockets first: their release hooks reach into the protocol tables.
  while (sockets_->size() != 0) {
    int fd = -1;
    sockets_->for_each([&](Socket& s) {
      if (fd < 0) fd = s.fd;
    });
    auto s = sockets_->remove(fd);
    const ProtoOps* ops = s->ops;
    ops->release(std::move(s));
  }
  tcp_.reset();  // orphaned connections end silently with the stack
}

SipKey Stack::make_secret() noexcept {
  if (config_.seed) return {rng_.next(), rng_.next()};
  SipKey k{};
  os_random(std::as_writable_bytes(std::span(k)));
  return k;
}

Result<std::uint32_t> Stack::add_interface(std::string name, Device& dev, MacAddress mac,
                                           std::size_t mtu) {
  if (mtu < 68 || mtu + wire::EthernetHeader::kSize > dev.max_frame_size()) {
    return Error::kInvalidArgument;  // RFC 791: every host must take 68-byte datagrams
  }
  if (mac.is_multicast() || mac.is_zero()) return Error::kInvalidArgument;
  auto ifc = std::make_unique<Interface>();
  ifc->index = static_cast<std::uint32_t>(ifs_.size() + 1);
  ifc->name = std::move(name);
  ifc->dev = &dev;
  ifc->mac = mac;
  ifc->mtu = mtu;
  // RFC 4862 5.3: fe80::/64 with the modified EUI-64 identifier (Linux addr_gen_mode 0),
  // on links that can carry IPv6 at all (RFC 8200 5). No DAD yet: taken as unique.
  if (mtu >= Ipv6::kIpv6MinMtu) {
    static constexpr Ipv6Address kLinkLocalPrefix = {{0xfe, 0x80}};
    ifc->addrs6.push_back(Ipv6Cidr{eui64_address(kLinkLocalPrefix, mac), 64});
  }
  const auto index = ifc->index;
  ifs_.push_back(std::move(ifc));
  return index;
}

Status Stack::replace_device(std::uint32_t ifindex, Device& dev) {
  Interface* ifc = interface(ifindex);
  if (ifc == nullptr || ifc->dev == nullptr) return Error::kNoDevice;
  ifc->dev = &dev;
  return {};
}

Interface* Stack::interface(std::uint32_t ifindex) noexcept {
  if (ifindex == 0 || ifindex > ifs_.size()) return nullptr;
  return ifs_[ifindex - 1].get();
}

Status Stack::add_address(std::uint32_t ifindex, Ipv4Cidr cidr) {
  Interface* ifc = interface(ifindex);
  if (ifc == nullptr) return Error::kNoDevice;
  if (cidr.address.is_any() || cidr.address.is_multicast() || cidr.address.is_broadcast()) {
    return Error::kInvalidArgument;
  }
  if (ifc->has_address(cidr.address)) return Error::kAddressInUse;
  ifc->addrs.push_back(cidr);
  if (cidr.prefix_len < 32) {
    Route r;
    r.dst = Ipv4Cidr{cidr.network(), cidr.prefix_len};
    r.ifindex = ifindex;
    r.prefsrc = cidr.address;
    (void)routes_->add(r);  // a second address on the same subnet shares the route
  }
  if (ifc->dev != nullptr) arp_->announce(*ifc, cidr.address);
  return {};
}

Status Stack::add_route(Ipv4Cidr dst, Ipv4Address gateway, std::uint32_t ifindex) {
  if (!gateway.is_any()) {
    // The gateway must be on-link: find the interface whose subnet holds it.
    auto via = routes_->lookup(gateway);
    if (!via || !via->next_hop.value || via->next_hop != gateway) return Error::kNetworkUnreachable;
    if (ifindex == 0) ifindex = via->ifindex;
  }
  if (interface(ifindex) == nullptr) return Error::kNoDevice;
  Route r;
  r.dst = dst;
  r.gateway = gateway;
  r.ifindex = ifindex;
  return routes_->add(r);
}

bool Stack::is_local_address(Ipv4Address a) const noexcept {
  if (a.is_loopback()) return true;
  for (const auto& ifc : ifs_) {
    if (ifc->has_address(a)) return true;
  }
  return false;
}

bool Stack::is_local_address(const IpAddress& a) const noexcept {
  return a.is_v4() ? is_local_address(a.v4()) : ipv6_->is_local_address(a);
}

NetProtocol* Stack::net_for(int family) noexcept {
  if (family == AF_INET) return ipv4_.get();
  if (family == AF_INET6) return ipv6_.get();
  return nullptr;
}

Status Stack::add_address6(std::uint32_t ifindex, Ipv6Cidr cidr) {
  Interface* ifc = interface(ifindex);
  if (ifc == nullptr) return Error::kNoDevice;
  if (cidr.prefix_len > 128 || cidr.address.is_any() || cidr.address.is_multicast()) {
    return Error::kInvalidArgument;
  }
  if (ifc->has_address(cidr.address)) return Error::kAlreadyExists;
  ifc->addrs6.push_back(cidr);
  return {};
}

bool Stack::is_broadcast_address(Ipv4Address a) const noexcept {
  for (const auto& ifc : ifs_) {
    if (ifc->index != kLoopbackIndex && ifc->is_broadcast_for(a)) return true;
  }
  return a.is_broadcast();
}

void Stack::loopback_xmit(Packet pkt) {
  if (loopback_.size() >= static_cast<std::size_t>(std::max(sysctl_.netdev_max_backlog, 0))) {
    mib_.IpOutDiscards++;
    return;
  }
  loopback_.push_back(std::move(pkt));
}

void Stack::netif_receive(Interface& ifc, Packet frame) {
  eth_rcv(link_, ifc, std::move(frame));
}

Instant Stack::poll(Instant now) {
  if (now > now_) now_ = now;
  rx_more_ = false;

  for (std::size_t i = 0; i < ifs_.size(); ++i) {
    Interface& ifc = *ifs_[i];
    if (ifc.dev == nullptr) continue;
    rx_batch_.clear();
    const std::size_t n = ifc.dev->receive(now_, rx_batch_, kRxBudget);
    if (n == kRxBudget) rx_more_ = true;
    packets_in_ += n;
    for (auto& frame : rx_batch_)
      netif_receive(ifc, std::move(frame));
  }
  rx_batch_.clear();

  // Loopback: what was queued before this point (new sends wait for the next poll, so a
  // socket talking to itself cannot keep poll() from returning).
  for (std::size_t n = loopback_.size(); n > 0 && !loopback_.empty(); --n) {
    Packet p = std::move(loopback_.front());
    loopback_.pop_front();
    ++packets_in_;
    tracer_.begin(fmt::format("rx lo {}B", p.size()));
    // The version nibble tells the families apart, as the loopback device's protocol
    // field does in Linux.
    if (!p.data().empty() && (std::to_integer<unsigned>(p.data()[0]) >> 4) == 6) {
      ipv6_->ip6_rcv(*ifs_[kLoopbackIndex - 1], std::move(p));
    } else {
      ipv4_->ip_rcv(*ifs_[kLoopbackIndex - 1], std::move(p));
    }
    tracer_.end();
  }

  timers_.advance(now_);
  tcp_->reap();
  arp_->tick(now_);
  ndp_->tick(now_);
  ipv6_->tick(now_);
  for (auto& expired : ipv4_->reassembly().tick(now_)) {
    mib_.IpReasmTimeout++;
    mib_.IpReasmFails++;
    if (!expired.first_fragment) continue;
    // RFC 1122 3.3.2: time exceeded (code 1) if the first fragment had arrived.
    auto hdr = wire::Ipv4Header::parse(expired.first_fragment->data(), false);
    if (!hdr) continue;
    tracer_.begin("ip_expire");
    icmp_->icmp_send(expired.first_fragment->data(), *hdr,
                     static_cast<std::uint8_t>(wire::IcmpType::kTimeExceeded),
                     static_cast<std::uint8_t>(wire::TimeExceededCode::kReassembly), 0);
    tracer_.end();
  }

  for (const auto& ifc : ifs_) {
    if (ifc->dev != nullptr) ifc->dev->flush(now_);
  }
  return next_deadline();
}

Instant Stack::next_deadline() const noexcept {
  if (has_pending_work()) return now_;
  Instant next = earliest(arp_->next_deadline(), ipv4_->reassembly().next_deadline());
  next = earliest(next, ndp_->next_deadline());
  next = earliest(next, ipv6_->next_deadline());
  next = earliest(next, timers_.next_deadline());
  for (const auto& ifc : ifs_) {
    if (ifc->dev != nullptr) next = earliest(next, ifc->dev->next_deadline());
  }
  return next;
}

}  // namespace usnet
