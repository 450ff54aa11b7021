// setsockopt/getsockopt for SOL_SOCKET (socket(7)) and IPPROTO_IP (ip(7)), with Linux's
// value rules: SO_RCVBUF/SO_SNDBUF are doubled and clamped, timeouts are struct timeval,
// int options need an int (IP_TTL and IP_TOS also take a single byte).
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>

#include "base/errno_map.h"
#include "socket/af_inet.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"

namespace usnet {
namespace {

// ip_setsockopt and sock_setsockopt read an int; the IP level also takes one byte.
Result<int> read_int(ByteSpan v, bool byte_ok) {
  if (v.size() >= sizeof(int)) {
    int x;
    std::memcpy(&x, v.data(), sizeof(int));
    return x;
  }
  if (byte_ok && !v.empty()) return static_cast<int>(static_cast<std::uint8_t>(v[0]));
  return Error::kInvalidArgument;
}

Result<Duration> read_timeval(ByteSpan v) {
  timeval tv{};
  if (v.size() < sizeof(tv)) return Error::kInvalidArgument;
  std::memcpy(&tv, v.data(), sizeof(tv));
  // Linux sock_set_timeout: usec must be in range (EDOM); a negative time means "do not
  // wait" (we keep 1 ns); 0 means wait forever.
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Error::kOutOfDomain;
  if (tv.tv_sec < 0) return Duration{1};
  return Duration{std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec)};
}

int clamp_buf(int v, int max, int min) {
  // Linux: val = min_t(u32, val, max); sk_buf = max_t(int, val * 2, min), the doubling in
  // u32. A negative value is a huge u32 and is clamped to max.
  const auto u = static_cast<std::uint32_t>(v);
  const std::uint32_t capped = std::min<std::uint32_t>(u, static_cast<std::uint32_t>(max));
  return std::max(static_cast<int>(capped * 2U), min);
}

// SOF_TIMESTAMPING_* up to TX_COMPLETION, Linux 6.18's SOF_TIMESTAMPING_MASK (the
// installed uapi header may be older).
constexpr std::uint32_t kTsMask = (1U << 19) - 1;
constexpr std::uint32_t kTsBindPhc = 1U << 15;
constexpr std::uint32_t kTsOptIdTcp = 1U << 16;

// Linux sock_set_timestamping.
Status set_timestamping(Socket& s, int flags_in) {
  const auto flags = static_cast<std::uint32_t>(flags_in);
  if ((flags & ~kTsMask) != 0) return Error::kInvalidArgument;
  if ((flags & kTsOptIdTcp) != 0 && (flags & SOF_TIMESTAMPING_OPT_ID) == 0) {
    return Error::kInvalidArgument;
  }
  // OPT_STATS comes only with OPT_TSONLY (the stats replace the packet).
  if ((flags & SOF_TIMESTAMPING_OPT_STATS) != 0 && (flags & SOF_TIMESTAMPING_OPT_TSONLY) == 0) {
    return Error::kInvalidArgument;
  }
  // No PTP hardware clock to bind to (sock_timestamping_bind_phc finds no device).
  if ((flags & kTsBindPhc) != 0) return Error::kOperationNotSupported;
  if ((flags & SOF_TIMESTAMPING_OPT_ID) != 0 && (s.opt.tsflags & SOF_TIMESTAMPING_OPT_ID) == 0) {
    // The counter starts from here: a stream's next byte (TCP asks its protocol: EINVAL
    // when not connected), a datagram socket's next send.
    std::uint32_t key = 0;
    if (s.ops->tskey != nullptr) {
      auto k = s.ops->tskey(s, (flags & kTsOptIdTcp) != 0);
      if (!k) return k.error();
      key = *k;
    }
    s.opt.tskey = key;
  }
  s.opt.tsflags = flags;
  return {};
}

Status set_int_option(Socket& s, int name, int x) {
  switch (name) {
    case SO_PRIORITY:
      // Linux needs CAP_NET_ADMIN outside 0..6; a usnet program owns its stack, so it
      // is treated as privileged (as root on the kernel).
      s.opt.priority = x;
      return {};
    case SO_MARK:
      s.opt.mark = x;  // CAP_NET_ADMIN on Linux: privileged here, as above
      return {};
    case SO_RCVLOWAT: {
      // sk_setsockopt: negative is INT_MAX; tcp_set_rcvlowat caps it at half the
      // (locked or largest autotuned) receive buffer; 0 becomes 1.
      if (x < 0) x = INT32_MAX;
      if (s.protocol == IPPROTO_TCP) {
        const int cap = s.opt.rcvbuf_locked ? s.opt.rcvbuf >> 1 : s.stack.sysctl().tcp_rmem[2] >> 1;
        x = std::min(x, cap);
        // A buffer autotuning owns grows to hold the mark, so that the window can reach it:
        // tcp_space_from_win at the default scaling ratio, twice the payload.
        if (!s.opt.rcvbuf_locked && x > s.opt.rcvbuf / 2) s.opt.rcvbuf = 2 * x;
      }
      s.opt.rcvlowat = x != 0 ? x : 1;
      if (s.ops->sockopt_changed != nullptr) s.ops->sockopt_changed(s, name);
      return {};
    }
    case SO_ZEROCOPY:
      // Only TCP and UDP sockets take it; then only 0 or 1.
      if (!(s.protocol == IPPROTO_TCP || (s.type == SOCK_DGRAM && s.protocol == IPPROTO_UDP))) {
        return Error::kOperationNotSupported;
      }
      if (x < 0 || x > 1) return Error::kInvalidArgument;
      s.opt.zerocopy = x != 0;
      return {};
    case SO_TIMESTAMP:
    case SO_TIMESTAMPNS:
      // sock_set_timestamp: the two share one switch; the later call says which unit.
      if (x != 0) {
        s.opt.rcvtstamp = true;
        s.opt.rcvtstampns = name == SO_TIMESTAMPNS;
      } else {
        s.opt.rcvtstamp = false;
        s.opt.rcvtstampns = false;
      }
      return {};
    default:
      return Error::kNoProtocolOption;
  }
}

Status set_socket_level(Socket& s, int name, ByteSpan v) {
  switch (name) {
    case SO_RCVTIMEO:
    case SO_SNDTIMEO: {
      auto d = read_timeval(v);
      if (!d) return d.error();
      (name == SO_RCVTIMEO ? s.opt.rcvtimeo : s.opt.sndtimeo) = *d;
      return {};
    }
    case SO_LINGER: {
      linger l{};
      if (v.size() < sizeof(l)) return Error::kInvalidArgument;
      std::memcpy(&l, v.data(), sizeof(l));
      // sk_setsockopt: the time is kept only when lingering is switched on.
      s.opt.linger_on = l.l_onoff != 0;
      if (s.opt.linger_on) s.opt.linger_s = std::max(l.l_linger, 0);
      if (s.ops->sockopt_changed != nullptr) s.ops->sockopt_changed(s, name);
      return {};
    }
    case SO_TIMESTAMPING: {
      // sock_setsockopt reads struct so_timestamping when optlen is its size, else an int.
      // bind_phc matters only with SOF_TIMESTAMPING_BIND_PHC, which is refused.
      int flags = 0;
      if (v.size() < sizeof(int)) return Error::kInvalidArgument;
      std::memcpy(&flags, v.data(), sizeof(int));
      return set_timestamping(s, flags);
    }
    default:
      break;
  }
  auto iv = read_int(v, false);
  switch (name) {
    case SO_PRIORITY:
    case SO_MARK:
    case SO_RCVLOWAT:
    case SO_ZEROCOPY:
    case SO_TIMESTAMP:
    case SO_TIMESTAMPNS:
      if (!iv) return iv.error();
      return set_int_option(s, name, *iv);
    case SO_RCVBUF:
    case SO_SNDBUF:
    case SO_REUSEADDR:
    case SO_REUSEPORT:
    case SO_BROADCAST:
    case SO_KEEPALIVE:
      if (!iv) return iv.error();
      break;
    case SO_ERROR:
    case SO_TYPE:
    case SO_DOMAIN:
    case SO_PROTOCOL:
    case SO_ACCEPTCONN:
      return Error::kNoProtocolOption;  // read-only
    default:
      return Error::kNoProtocolOption;
  }
  const int x = *iv;
  switch (name) {
    case SO_RCVBUF:
      s.opt.rcvbuf = clamp_buf(x, s.stack.sysctl().rmem_max, kMinRcvbuf);
      s.opt.rcvbuf_locked = true;
      break;
    case SO_SNDBUF:
      s.opt.sndbuf = clamp_buf(x, s.stack.sysctl().wmem_max, kMinSndbuf);
      s.opt.sndbuf_locked = true;
      break;
    case SO_REUSEADDR:
      s.opt.reuseaddr = x != 0;
      break;
    case SO_REUSEPORT:
      s.opt.reuseport = x != 0;
      break;
    case SO_BROADCAST:
      s.opt.broadcast = x != 0;
      break;
    case SO_KEEPALIVE:
      s.opt.keepalive = x != 0;
      break;
    default:
      break;
  }
  if (s.ops->sockopt_changed != nullptr) s.ops->sockopt_changed(s, name);
  return {};
}

Status set_ip_level(Socket& s, int name, ByteSpan v) {
  auto iv = read_int(v, true);
  switch (name) {
    case IP_TTL:
      if (!iv) return iv.error();
      if (*iv != -1 && (*iv < 1 || *iv > 255)) return Error::kInvalidArgument;
      s.opt.ttl = *iv;
      return {};
    case IP_TOS:
      if (!iv) return iv.error();
      // Linux __ip_sock_set_tos: on a stream socket the ECN bits belong to TCP (RFC
      // 3168 6.1.1); the user's are dropped and TCP's kept.
      if (s.type == SOCK_STREAM) {
        s.opt.tos = static_cast<std::uint8_t>((*iv & ~0x03) | (s.opt.tos & 0x03));
      } else {
        s.opt.tos = static_cast<std::uint8_t>(*iv);
      }
      return {};
    case IP_MTU_DISCOVER:
      if (!iv) return iv.error();
      if (*iv < IP_PMTUDISC_DONT || *iv > IP_PMTUDISC_PROBE) return Error::kInvalidArgument;
      s.opt.pmtu = *iv == IP_PMTUDISC_DONT   ? PmtuMode::kDont
                   : *iv == IP_PMTUDISC_WANT ? PmtuMode::kWant
                                             : PmtuMode::kDo;
      return {};
    case IP_RECVERR:
      if (!iv) return iv.error();
      s.opt.recverr = *iv != 0;
      return {};
    default:
      return Error::kNoProtocolOption;
  }
}

// ipv6(7), Linux do_ipv6_setsockopt: only on AF_INET6 sockets (an AF_INET socket's
// protocol code does not know the level: ENOPROTOOPT).
Status set_ipv6_level(Socket& s, int name, ByteSpan v) {
  if (s.family != AF_INET6) return Error::kNoProtocolOption;
  auto iv = read_int(v, false);
  switch (name) {
    case IPV6_V6ONLY:
      if (!iv) return iv.error();
      if (s.local.port != 0) return Error::kInvalidArgument;  // bound: too late
      s.opt.v6only = *iv != 0;
      return {};
    case IPV6_UNICAST_HOPS:
      if (!iv) return iv.error();
      if (*iv < -1 || *iv > 255) return Error::kInvalidArgument;
      s.opt.hop_limit = *iv;
      return {};
    case IPV6_TCLASS:
      if (!iv) return iv.error();
      if (*iv < -1 || *iv > 255) return Error::kInvalidArgument;
      // As IP_TOS: on a stream socket the ECN bits stay TCP's (RFC 3168 6.1.1).
      if (s.type == SOCK_STREAM) {
        s.opt.tclass =
            static_cast<std::uint8_t>((std::max(*iv, 0) & ~0x03) | (s.opt.tclass & 0x03));
      } else {
        s.opt.tclass = static_cast<std::uint8_t>(std::max(*iv, 0));
      }
      return {};
    case IPV6_RECVERR:
      if (!iv) return iv.error();
      s.opt.recverr6 = *iv != 0;
      return {};
    case IPV6_MTU_DISCOVER:
      // Linux takes IPV6_PMTUDISC_DONT .. IPV6_PMTUDISC_OMIT (5); usnet keeps three modes:
      // PROBE and INTERFACE (never fragment) read back as DO, OMIT as WANT.
      if (!iv) return iv.error();
      if (*iv < IPV6_PMTUDISC_DONT || *iv > 5) return Error::kInvalidArgument;
      s.opt.pmtu6 = *iv == IPV6_PMTUDISC_DONT               ? PmtuMode::kDont
                    : *iv == IPV6_PMTUDISC_WANT || *iv == 5 ? PmtuMode::kWant
                                                            : PmtuMode::kDo;
      return {};
    case IPV6_DONTFRAG:
      if (!iv) return iv.error();
      s.opt.dontfrag6 = *iv != 0;
      return {};
    default:
      return Error::kNoProtocolOption;
  }
}

}  // namespace

OptValue OptValue::of_int(int v) {
  OptValue o;
  std::memcpy(o.bytes.data(), &v, sizeof(v));
  o.len = sizeof(v);
  return o;
}

OptValue OptValue::of_bytes(ByteSpan b) {
  OptValue o;
  o.len = std::min(b.size(), o.bytes.size());
  std::memcpy(o.bytes.data(), b.data(), o.len);
  return o;
}

OptValue OptValue::of_timeval(Duration d) {
  timeval tv{};
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  OptValue o;
  static_assert(sizeof(tv) <= sizeof(o.bytes));
  std::memcpy(o.bytes.data(), &tv, sizeof(tv));
  o.len = sizeof(tv);
  return o;
}

namespace {

// IP_MTU / IPV6_MTU (do_ip_getsockopt, do_ipv6_getsockopt): the MTU of the path to a
// connected socket's peer, with what ICMP reports taught; ENOTCONN without a peer.
Result<OptValue> connected_path_mtu(Socket& sock) {
  if (!sock.connected()) return Error::kNotConnected;
  NetProtocol* net = sock.stack.net_for(sock.remote.addr.family());
  if (net == nullptr) return Error::kNotConnected;
  auto rt = net->route_output(sock.remote.addr, inet_saddr_for(sock, sock.remote.addr),
                              sock.remote.scope_id);
  if (!rt) return Error::kNotConnected;
  std::uint32_t mtu = net->path_mtu(*rt, sock.remote.addr, sock.stack.now());
  // ipv4_mtu caps at IP_MAX_MTU (65535, what a total length can say): lo's 65536 reads
  // 65535 for IPv4 and 65536 for IPv6, as the kernel side by side shows.
  if (sock.remote.addr.is_v4()) mtu = std::min<std::uint32_t>(mtu, 65535);
  return OptValue::of_int(static_cast<int>(mtu));
}

}  // namespace

Status sock_setsockopt(Socket& sock, int level, int name, ByteSpan value) {
  sock.stack.tracer().step("sock_setsockopt");
  if (level == SOL_SOCKET) return set_socket_level(sock, name, value);
  if (level == IPPROTO_IP) {
    sock.stack.tracer().step("ip_setsockopt");
    return set_ip_level(sock, name, value);
  }
  if (level == IPPROTO_IPV6) {
    sock.stack.tracer().step("ipv6_setsockopt");
    return set_ipv6_level(sock, name, value);
  }
  if (sock.ops->setsockopt != nullptr) return sock.ops->setsockopt(sock, level, name, value);
  return Error::kNoProtocolOption;
}

Result<OptValue> sock_getsockopt(Socket& sock, int level, int name, std::size_t optlen) {
  sock.stack.tracer().step("sock_getsockopt");
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_RCVBUF:
        return OptValue::of_int(sock.opt.rcvbuf);
      case SO_SNDBUF:
        return OptValue::of_int(sock.opt.sndbuf);
      case SO_REUSEADDR:
        return OptValue::of_int(sock.opt.reuseaddr ? 1 : 0);
      case SO_REUSEPORT:
        return OptValue::of_int(sock.opt.reuseport ? 1 : 0);
      case SO_BROADCAST:
        return OptValue::of_int(sock.opt.broadcast ? 1 : 0);
      case SO_KEEPALIVE:
        return OptValue::of_int(sock.opt.keepalive ? 1 : 0);
      case SO_TYPE:
        return OptValue::of_int(sock.type);
      case SO_DOMAIN:
        return OptValue::of_int(sock.family);
      case SO_PROTOCOL:
        return OptValue::of_int(sock.protocol);
      case SO_ACCEPTCONN:
        return OptValue::of_int(sock.listening ? 1 : 0);
      case SO_LINGER: {
        linger l{sock.opt.linger_on ? 1 : 0, sock.opt.linger_s};
        return OptValue::of_bytes(ByteSpan(reinterpret_cast<const std::byte*>(&l), sizeof(l)));
      }
      case SO_PRIORITY:
        return OptValue::of_int(sock.opt.priority);
      case SO_MARK:
        return OptValue::of_int(sock.opt.mark);
      case SO_RCVLOWAT:
        return OptValue::of_int(sock.opt.rcvlowat);
      case SO_ZEROCOPY:
        return OptValue::of_int(sock.opt.zerocopy ? 1 : 0);
      case SO_TIMESTAMP:
        return OptValue::of_int(sock.opt.rcvtstamp && !sock.opt.rcvtstampns ? 1 : 0);
      case SO_TIMESTAMPNS:
        return OptValue::of_int(sock.opt.rcvtstampns ? 1 : 0);
      case SO_TIMESTAMPING: {
        // struct so_timestamping {flags, bind_phc}; the caller's optlen cuts it to the int.
        const std::array<int, 2> t{static_cast<int>(sock.opt.tsflags), 0};
        OptValue o =
            OptValue::of_bytes(ByteSpan(reinterpret_cast<const std::byte*>(t.data()), sizeof(t)));
        return o;
      }
      case SO_RCVTIMEO:
        return OptValue::of_timeval(sock.opt.rcvtimeo);
      case SO_SNDTIMEO:
        return OptValue::of_timeval(sock.opt.sndtimeo);
      case SO_ERROR: {
        // Reading SO_ERROR clears it, as sock_error() does; its value is an errno.
        auto e = sock.take_error();
        return OptValue::of_int(e ? to_errno(*e) : 0);
      }
      default:
        return Error::kNoProtocolOption;
    }
  }
  if (level == IPPROTO_IP) {
    switch (name) {
      case IP_TTL:
        return OptValue::of_int(sock.ttl());
      case IP_TOS:
        return OptValue::of_int(sock.opt.tos);
      case IP_MTU_DISCOVER:
        return OptValue::of_int(sock.opt.pmtu == PmtuMode::kDont   ? IP_PMTUDISC_DONT
                                : sock.opt.pmtu == PmtuMode::kWant ? IP_PMTUDISC_WANT
                                                                   : IP_PMTUDISC_DO);
      case IP_RECVERR:
        return OptValue::of_int(sock.opt.recverr ? 1 : 0);
      case IP_MTU:
        return connected_path_mtu(sock);
      default:
        return Error::kNoProtocolOption;
    }
  }
  if (level == IPPROTO_IPV6 && sock.family == AF_INET6) {
    switch (name) {
      case IPV6_V6ONLY:
        return OptValue::of_int(sock.opt.v6only ? 1 : 0);
      case IPV6_UNICAST_HOPS:
        return OptValue::of_int(sock.opt.hop_limit >= 0 ? sock.opt.hop_limit : kDefaultHopLimit);
      case IPV6_TCLASS:
        return OptValue::of_int(sock.opt.tclass);
      case IPV6_RECVERR:
        return OptValue::of_int(sock.opt.recverr6 ? 1 : 0);
      case IPV6_MTU_DISCOVER:
        return OptValue::of_int(sock.opt.pmtu6 == PmtuMode::kDont   ? IPV6_PMTUDISC_DONT
                                : sock.opt.pmtu6 == PmtuMode::kWant ? IPV6_PMTUDISC_WANT
                                                                    : IPV6_PMTUDISC_DO);
      case IPV6_DONTFRAG:
        return OptValue::of_int(sock.opt.dontfrag6 ? 1 : 0);
      case IPV6_MTU:
        return connected_path_mtu(sock);
      default:
        return Error::kNoProtocolOption;
    }
  }
  if (sock.ops->getsockopt != nullptr) return sock.ops->getsockopt(sock, level, name, optlen);
  // Linux do_ip_getsockopt answers a level it does not know with EOPNOTSUPP (setsockopt
  // says ENOPROTOOPT for the same mistake).
  return Error::kOperationNotSupported;
}

}  // namespace usnet
