#include "transport/tcp/tcp.h"

#include <fmt/format.h>

#include <cstring>

#include "socket/af_inet.h"
#include "socket/fd_table.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {

bool tcp_bind_conflict(const Socket& a, IpAddress a_addr, const Socket& b) {
  if (!inet_addrs_overlap(a, a_addr, b)) return false;
  const auto& tb = static_cast<const TcpSock&>(b);
  // A connection that lives on after close() (FIN_WAIT, TIME_WAIT) yields to SO_REUSEADDR,
  // as Linux's timewait sockets keep the reuse flag of the socket they replaced.
  const bool b_reuse = b.opt.reuseaddr || tb.owner == TcpSock::Owner::kOrphan;
  if (a.opt.reuseaddr && b_reuse && tb.state != TcpState::kListen) return false;
  if (a.opt.reuseport && b.opt.reuseport) return false;
  return true;
}

Tcp::Tcp(Stack& stack) : stack_(stack), ports_(tcp_bind_conflict) {
  isn_key_ = stack.make_secret();  // RFC 6528 3: the secret key of F
  fastopen_ = std::make_unique<TcpFastOpen>(stack);
}

Tcp::~Tcp() {
  // The stack is going away: connections end without a word on the wire.
  orphans_.clear();
  graveyard_.clear();
}

std::unique_ptr<Socket> Tcp::tcp_init_sock(int family) {
  stack_.tracer().step(family == AF_INET6 ? "tcp_v6_init_sock" : "tcp_v4_init_sock");
  auto sk = std::make_unique<TcpSock>(stack_, family, kTcpOps);
  tcp_init_timers(*sk);
  return sk;
}

void Tcp::hash(TcpSock& sk) {
  ehash_[FourTuple{sk.local.addr, sk.local.port, sk.remote.addr, sk.remote.port}] = &sk;
}

void Tcp::unhash(TcpSock& sk) {
  auto it = ehash_.find(FourTuple{sk.local.addr, sk.local.port, sk.remote.addr, sk.remote.port});
  if (it != ehash_.end() && it->second == &sk) ehash_.erase(it);
}

TcpSock* Tcp::lookup(const FourTuple& t) const {
  auto it = ehash_.find(t);
  return it == ehash_.end() ? nullptr : it->second;
}

TcpSock* Tcp::lookup_listener(IpAddress daddr, std::uint16_t dport) const {
  auto it = listeners_.find(dport);
  if (it == listeners_.end()) return nullptr;
  // A listener bound to the address beats one bound to the wildcard.
  TcpSock* best = nullptr;
  for (TcpSock* t : it->second) {
    if (!inet_rcv_saddr_match(*t, daddr)) continue;
    if (!t->local.addr.is_any()) return t;
    // Of two wildcards, the one of the packet's own family first (an AF_INET listener on
    // 0.0.0.0 beside a dual-stack one on ::, as Linux's scoring prefers).
    if (best == nullptr ||
        (t->local.addr.family() == daddr.family() && best->local.addr.family() != daddr.family())) {
      best = t;
    }
  }
  return best;
}

void Tcp::listener_changed(TcpSock& sk, bool listening) {
  auto& v = listeners_[sk.local.port];
  std::erase(v, &sk);
  if (listening) v.push_back(&sk);
  if (v.empty()) listeners_.erase(sk.local.port);
}

std::uint32_t Tcp::keyed_hash(const FourTuple& t, std::uint32_t a, std::uint32_t b) const {
  // The addresses as on the wire (4 or 16 bytes each), the ports, then the extra words.
  std::array<std::byte, 44> buf{};
  const auto l = t.laddr.wire_bytes();
  const auto r = t.raddr.wire_bytes();
  std::memcpy(buf.data(), l.data(), l.size());
  std::memcpy(buf.data() + l.size(), r.data(), r.size());
  const std::size_t off = l.size() + r.size();
  store_be<std::uint16_t>(buf, off, t.lport);
  store_be<std::uint16_t>(buf, off + 2, t.rport);
  store_be<std::uint32_t>(buf, off + 4, a);
  store_be<std::uint32_t>(buf, off + 8, b);
  return static_cast<std::uint32_t>(siphash24(isn_key_, ByteSpan(buf).first(off + 12)));
}

SeqNum Tcp::isn(const FourTuple& t) const {
  // RFC 6528 3: M is a timer ticking every 4 microseconds; F a keyed hash of the 4-tuple.
  const auto m = static_cast<std::uint32_t>(stack_.now().time_since_epoch() / 4us);
  return SeqNum(m + keyed_hash(t, 0, 0));
}

void Tcp::adopt_orphan(std::unique_ptr<TcpSock> sk) {
  sk->owner = TcpSock::Owner::kOrphan;
  const TcpSock* key = sk.get();
  orphans_.emplace(key, std::move(sk));
}

void Tcp::bury(TcpSock& sk) {
  switch (sk.owner) {
    case TcpSock::Owner::kUser:
    case TcpSock::Owner::kDead:
      return;  // the user's descriptor still holds it; close() frees it
    case TcpSock::Owner::kOrphan: {
      auto it = orphans_.find(&sk);
      if (it == orphans_.end()) return;
      sk.owner = TcpSock::Owner::kDead;
      graveyard_.push_back(std::move(it->second));
      orphans_.erase(it);
      return;
    }
    case TcpSock::Owner::kListener: {
      TcpSock* parent = sk.parent;
      if (parent == nullptr) return;
      sk.owner = TcpSock::Owner::kDead;
      sk.parent = nullptr;
      for (auto it = parent->syn_queue.begin(); it != parent->syn_queue.end(); ++it) {
        if (it->get() == &sk) {
          graveyard_.push_back(std::move(*it));
          parent->syn_queue.erase(it);
          return;
        }
      }
      // An established child that was reset before accept() stays queued: accept()
      // returns it and the first call on it reports the error, as Linux does.
      sk.owner = TcpSock::Owner::kListener;
      sk.parent = parent;
      return;
    }
  }
}

void Tcp::reap() {
  graveyard_.clear();
}

bool Tcp::challenge_ack_allowed() {
  const Instant now = stack_.now();
  if (now - challenge_window_ >= std::chrono::seconds(1)) {
    challenge_window_ = now;
    challenge_count_ = 0;
  }
  const int limit = stack_.sysctl().tcp_challenge_ack_limit;
  if (limit == 0x7fffffff) return true;  // INT_MAX: no stack-wide limit (Linux 6.0)
  if (challenge_count_ >= static_cast<std::uint32_t>(std::max(limit, 0))) return false;
  ++challenge_count_;
  return true;
}

void Tcp::for_each(const std::function<void(const TcpSock&)>& fn) const {
  std::vector<const TcpSock*> all;
  stack_.sockets().for_each([&](Socket& s) {
    if (s.type != SOCK_STREAM) return;
    auto& t = tcp_sk(s);
    all.push_back(&t);
    for (const auto& c : t.syn_queue)
      all.push_back(c.get());
    for (const auto& c : t.accept_queue)
      all.push_back(c.get());
  });
  for (const auto& [k, v] : orphans_)
    all.push_back(v.get());
  for (const TcpSock* s : all)
    fn(*s);
}

void Tcp::rcv(Packet pkt, const NetRcvInfo& ip) {
  stack_.tracer().step("tcp_v4_rcv");
  MibCounters& mib = stack_.mib();
  mib.TcpInSegs++;
  auto parsed = wire::TcpHeader::parse(pkt.data(), ip.src, ip.dst);
  if (!parsed) {
    if (parsed.error() == wire::ParseError::kBadChecksum) mib.TcpInCsumErrors++;
    mib.TcpInErrs++;
    stack_.tracer().step("drop: bad tcp header");
    return;
  }
  TcpSegment seg;
  seg.h = *parsed;
  seg.seq = SeqNum(seg.h.seq);
  seg.ack = SeqNum(seg.h.ack);
  seg.payload = ByteSpan(pkt.data()).subspan(seg.h.header_length);
  seg.src = ip.src;
  seg.dst = ip.dst;
  seg.tos = ip.tos;
  seg.net = ip.net;
  // The layers below pulled their headers and left them in place (Packet::unpull), so the
  // headers as received are a view, with no copy (TCP_SAVE_SYN copies them only if asked).
  if (const std::size_t below = std::size_t{pkt.mac_len} + ip.header_length;
      pkt.headroom() >= below) {
    pkt.unpull(below);
    seg.headers = ByteSpan(pkt.data()).first(below + seg.h.header_length);
    seg.mac_len = pkt.mac_len;
    pkt.pull(below);
  }
  // RFC 1122 4.2.3.10: segments to or from broadcast and multicast addresses are dropped.
  if (!stack_.is_local_address(ip.dst) || ip.src.is_multicast() || ip.src.is_broadcast()) {
    mib.TcpInErrs++;
    stack_.tracer().step("drop: not unicast");
    return;
  }

  const FourTuple t{ip.dst, seg.h.dst_port, ip.src, seg.h.src_port};
  TcpSock* sk = lookup(t);
  if (sk != nullptr && sk->state == TcpState::kTimeWait && seg.h.has(wire::kTcpSyn) &&
      !seg.h.has(wire::kTcpAck) && !seg.h.has(wire::kTcpRst)) {
    // RFC 6191 / RFC 9293 3.10.7.4 note: a new SYN may reopen a connection in TIME_WAIT if
    // its timestamp (or, without timestamps, its sequence number) is newer than the old
    // connection's.
    const bool newer = sk->ts_ok && seg.h.options.ts_val
                           ? static_cast<std::int32_t>(*seg.h.options.ts_val - sk->ts_recent) > 0
                           : seg.seq > sk->rcv_nxt;
    TcpSock* listener = lookup_listener(ip.dst, seg.h.dst_port);
    if (newer && listener != nullptr) {
      stack_.tracer().step("tcp_timewait_state_process: reuse");
      mib.TcpExtTWRecycled++;
      tcp_done(*sk);
      sk = nullptr;
    }
  }
  if (sk == nullptr) {
    TcpSock* listener = lookup_listener(ip.dst, seg.h.dst_port);
    if (listener != nullptr) {
      if (stack_.tracer().enabled()) {
        stack_.tracer().step(fmt::format("tcp_v4_do_rcv listener fd {}", listener->fd));
      }
      tcp_listen_rcv(*listener, seg);
      return;
    }
    stack_.tracer().step("no socket");
    tcp_send_reset(stack_, seg);
    return;
  }
  if (stack_.tracer().enabled()) {
    stack_.tracer().step(fmt::format("tcp_v4_do_rcv {}", tcp_state_name(sk->state)));
  }
  sk->segs_in++;
  if (!seg.payload.empty()) sk->data_segs_in++;
  if (sk->state == TcpState::kSynSent) {
    tcp_rcv_synsent(*sk, seg);
  } else {
    tcp_rcv_state_process(*sk, seg);
  }
}

void Tcp::err(const IcmpError& icmp, ByteSpan quoted) {
  stack_.tracer().step("tcp_v4_err");
  if (quoted.size() < 8) return;
  const auto sport = load_be<std::uint16_t>(quoted, 0);
  const auto dport = load_be<std::uint16_t>(quoted, 2);
  const SeqNum seq(load_be<std::uint32_t>(quoted, 4));
  TcpSock* sk = lookup(FourTuple{icmp.quoted.src, sport, icmp.quoted.dst, dport});
  if (sk == nullptr) return;
  // RFC 5927 4.1: only an ICMP error quoting a sequence number in flight is believed.
  if (!seq.in_window(sk->snd_una, sk->snd_max + 1)) {
    stack_.mib().TcpExtOutOfWindowIcmps++;
    return;
  }
  if (icmp.mtu != 0) {
    // Fragmentation Needed (RFC 1191): a smaller path MTU, never a larger one (6.3). Below
    // ip_rt_min_pmtu (552) Linux raises it to that and locks it (__ip_rt_update_pmtu), so
    // a forged or broken report cannot shrink segments to nothing; locked, datagrams leave
    // without DF and the router on the narrow link fragments them.
    std::uint32_t mtu = icmp.mtu;
    bool lock = false;
    if (const std::uint32_t floor = sk->net->min_pmtu(); mtu < floor) {
      mtu = std::min(sk->pmtu, floor);
      lock = true;
    }
    if (lock) sk->pmtu_locked = true;
    if (mtu < sk->pmtu) {
      // Linux tcp_v4_mtu_reduced: a new MSS, and what was sent is resent in its size.
      sk->pmtu = mtu;
      tcp_sync_mss(*sk);
      sk->snd_nxt = sk->snd_una;
      tcp_write_xmit(*sk);
    }
    return;
  }
  // During the handshake an ICMP error ends the attempt (Linux tcp_v4_err: a connect() to
  // an unreachable host fails with EHOSTUNREACH rather than after six SYN retries).
  if (sk->state == TcpState::kSynSent || sk->state == TcpState::kSynReceived) {
    stack_.mib().TcpAttemptFails++;
    tcp_abort(*sk, icmp.error);
    return;
  }
  // RFC 1122 4.2.3.9: on an open connection it is only remembered (reported instead of
  // ETIMEDOUT if the connection times out), unless IP_RECVERR asks for it at once.
  sk->soft_error = icmp.error;
  if (sk->opt.recverr) {
    sk->pending_error = icmp.error;
    sk_error_report(*sk);
  }
}

}  // namespace usnet
