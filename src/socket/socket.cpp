#include "socket/socket.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "stack/stack.h"

namespace usnet {

std::size_t RecvMsg::scatter(ByteSpan src) const noexcept {
  std::size_t copied = 0;
  for (const auto& buf : iov) {
    if (src.empty()) break;
    const std::size_t n = std::min(buf.size(), src.size());
    if (n != 0) std::memcpy(buf.data(), src.data(), n);
    src = src.subspan(n);
    copied += n;
  }
  return copied;
}

std::string SockAddr::to_string() const {
  if (family == AF_INET) return fmt::format("{}:{}", addr.to_string(), port);
  if (family == AF_INET6) return fmt::format("[{}]:{}", addr.v6().to_string(), port);
  return "unspec";
}

Socket::Socket(Stack& s, int fam, int typ, int proto, const ProtoOps& o)
    : stack(s), family(fam), type(typ), protocol(proto), ops(&o) {
  const Sysctl& sc = s.sysctl();
  opt.rcvbuf = sc.rmem_default;
  opt.sndbuf = sc.wmem_default;
  opt.pmtu = sc.ip_no_pmtu_disc != 0 ? PmtuMode::kDont : PmtuMode::kWant;
}

int Socket::ttl() const noexcept {
  return opt.ttl >= 0 ? opt.ttl : stack.sysctl().ip_default_ttl;
}

NetOutParams Socket::ip_out_params(const IpAddress& src, const IpAddress& dst,
                                   std::uint8_t proto) const noexcept {
  NetOutParams ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = proto;
  if (dst.is_v6()) {
    ip.ttl = static_cast<std::uint8_t>(opt.hop_limit >= 0 ? opt.hop_limit : kDefaultHopLimit);
    ip.tos = opt.tclass;
    // ip6_append_data: IPV6_DONTFRAG or IPV6_PMTUDISC_DO make a packet larger than the
    // path MTU fail with EMSGSIZE; otherwise it is fragmented to fit.
    ip.pmtu = opt.dontfrag6 ? PmtuMode::kDo : opt.pmtu6;
  } else {
    ip.ttl = static_cast<std::uint8_t>(ttl());
    ip.tos = opt.tos;
    ip.pmtu = opt.pmtu;
  }
  return ip;
}

}  // namespace usnet

namespace usnet {

bool CmsgArea::put(int level, int type, const void* p, std::size_t n) noexcept {
  if (count == kMaxItems || n > kMaxData - used) return false;
  items[count] = {level, type, static_cast<std::uint16_t>(used), static_cast<std::uint16_t>(n)};
  if (n > 0) std::memcpy(data.data() + used, p, n);
  used += n;
  ++count;
  return true;
}

bool ErrQueue::push(const ErrQueueEntry& e) noexcept {
  if (n_ == kCapacity) return false;
  ring_[(head_ + n_) % kCapacity] = e;
  ++n_;
  return true;
}

void ErrQueue::pop() noexcept {
  if (n_ == 0) return;
  head_ = (head_ + 1) % kCapacity;
  --n_;
}

}  // namespace usnet
