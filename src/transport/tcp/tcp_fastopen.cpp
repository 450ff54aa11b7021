// TCP Fast Open (RFC 7413), following Linux net/ipv4/tcp_fastopen.c: a client that holds
// a cookie from an earlier connection puts data on its SYN; a server that recognises the
// cookie takes that data before the handshake completes and hands the connection to
// accept() at once. Everything else (no cookie, a wrong one, a full queue) falls back to
// the ordinary three-way handshake, the data following it.
#include "transport/tcp/tcp_fastopen.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "base/bytes.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"
#include "wire/ipv4.h"

namespace usnet {
namespace {

using wire::FastOpenCookie;

bool same_cookie(const FastOpenCookie& a, const FastOpenCookie& b) {
  return a.len > 0 && a.len == b.len &&
         std::memcmp(a.val.data(), b.val.data(), static_cast<std::size_t>(a.len)) == 0;
}

// Linux tcp_fastopen_queue_check: a listener takes Fast Open only with TCP_FASTOPEN set
// (or tcp_fastopen 0x400) and fewer than max_qlen children still in SYN_RECEIVED. Checked
// before the cookie, so a full queue looks to a client like a server without Fast Open.
bool queue_check(TcpSock& listener) {
  const TcpFastOpenSock& t = listener.tfo;
  if (t.max_qlen == 0) return false;
  if (*t.qlen >= t.max_qlen) {
    listener.stack.mib().TcpExtTCPFastOpenListenOverflow++;
    return false;
  }
  return true;
}

// Linux tcp_fastopen_no_cookie: data without a cookie, by the sysctl bit or the socket's
// TCP_FASTOPEN_NO_COOKIE.
bool no_cookie(const TcpSock& sk, int bit) {
  return (sk.stack.sysctl().tcp_fastopen & bit) != 0 || sk.tfo.no_cookie;
}

}  // namespace

TcpFastOpen::TcpFastOpen(Stack& stack) : stack_(stack) {}

void TcpFastOpen::init_key_once() {
  // Linux tcp_fastopen_init_key_once: a random key the first time one is needed, so that
  // a stack that never uses Fast Open draws nothing from its random generator.
  std::vector<SipKey>& keys = stack_.sysctl().tcp_fastopen_key;
  if (keys.empty()) keys.push_back(stack_.make_secret());
}

FastOpenCookie TcpFastOpen::cookie(const SipKey& key, IpAddress saddr, IpAddress daddr) {
  // The two addresses as on the wire, 8 bytes for IPv4 and 32 for IPv6, as Linux's
  // __tcp_fastopen_cookie_gen_cipher hashes them, so that its cookies and ours agree.
  std::array<std::byte, 32> addrs{};
  const auto s = saddr.wire_bytes();
  const auto d = daddr.wire_bytes();
  std::memcpy(addrs.data(), s.data(), s.size());
  std::memcpy(addrs.data() + s.size(), d.data(), d.size());
  const std::uint64_t h = siphash24(key, ByteSpan(addrs).first(s.size() + d.size()));
  FastOpenCookie c;
  for (std::size_t i = 0; i < kTfoCookieSize; ++i)
    c.val[i] = static_cast<std::uint8_t>(h >> (8 * i));
  c.len = static_cast<std::int8_t>(kTfoCookieSize);
  return c;
}

const std::vector<SipKey>& TcpFastOpen::keys(const TcpSock& sk) {
  if (!sk.tfo.keys.empty()) return sk.tfo.keys;
  init_key_once();
  return stack_.sysctl().tcp_fastopen_key;
}

std::optional<TcpFastOpen::Cached> TcpFastOpen::cache_get(IpAddress peer) {
  auto it = map_.find(peer);
  if (it == map_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void TcpFastOpen::cache_set(IpAddress peer, std::uint16_t mss, const FastOpenCookie* cookie) {
  auto it = map_.find(peer);
  if (it == map_.end()) {
    if (lru_.size() >= kTfoCacheSize) {
      map_.erase(lru_.back().first);
      lru_.pop_back();
    }
    lru_.emplace_front(peer, Cached{});
    it = map_.emplace(peer, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  Cached& c = it->second->second;
  // Linux tcp_fastopen_cache_set: a SYN,ACK without a cookie keeps the one known.
  if (mss != 0) c.mss = mss;
  if (cookie != nullptr && cookie->len > 0) c.cookie = *cookie;
}

SipKey tcp_fastopen_key_from_bytes(ByteSpan b) {
  SipKey k{};
  for (std::size_t w = 0; w < 2; ++w) {
    for (std::size_t i = 0; i < 8; ++i)
      k[w] |= static_cast<std::uint64_t>(b[w * 8 + i]) << (8 * i);
  }
  return k;
}

void tcp_fastopen_key_to_bytes(const SipKey& k, std::byte* out) {
  for (std::size_t w = 0; w < 2; ++w) {
    for (std::size_t i = 0; i < 8; ++i)
      out[w * 8 + i] = static_cast<std::byte>(k[w] >> (8 * i));
  }
}

bool tcp_fastopen_check_syn(TcpSock& listener, const TcpSegment& syn,
                            std::optional<FastOpenCookie>& synack) {
  MibCounters& mib = listener.stack.mib();
  synack.reset();
  const std::optional<FastOpenCookie>& foc = syn.h.options.fastopen;
  const int foc_len = foc ? foc->len : -1;
  if (foc_len == 0) mib.TcpExtTCPFastOpenCookieReqd++;
  const bool syn_data = !syn.payload.empty();
  if ((listener.stack.sysctl().tcp_fastopen & kTfoServerEnable) == 0 ||
      !(syn_data || foc_len >= 0) || !queue_check(listener)) {
    return false;
  }
  // tcp_fastopen_no_cookie: data taken without any cookie, none offered.
  if (no_cookie(listener, kTfoServerCookieNotReqd)) return true;
  const std::vector<SipKey>& keys = listener.tcp().fastopen().keys(listener);
  FastOpenCookie valid = TcpFastOpen::cookie(keys[0], syn.src, syn.dst);
  valid.exp = foc && foc->exp;  // answered in the form it was asked in
  if (foc_len == 0) {
    synack = valid;  // RFC 7413 4.1.2: a request is answered with a cookie, nothing more
    return false;
  }
  if (foc_len > 0) {
    // A valid cookie is not repeated in the SYN,ACK; one made under the backup key is
    // replaced by the primary's (key rotation, tcp_fastopen_cookie_gen_check).
    if (same_cookie(*foc, valid)) return true;
    if (keys.size() > 1 && same_cookie(*foc, TcpFastOpen::cookie(keys[1], syn.src, syn.dst))) {
      mib.TcpExtTCPFastOpenPassiveAltKey++;
      synack = valid;
      return true;
    }
    mib.TcpExtTCPFastOpenPassiveFail++;
    synack = valid;  // RFC 7413 4.2.2: a wrong cookie's data is dropped, a good one sent
  }
  return false;
}

void tcp_fastopen_child(TcpSock& listener, std::unique_ptr<TcpSock> child, const TcpSegment& syn) {
  Stack& stack = listener.stack;
  TcpSock& c = *child;
  c.tfo.pending = listener.tfo.qlen;
  ++*c.tfo.pending;
  // Linux tcp_fastopen_add_skb: the SYN's data is in order at RCV.NXT; the SYN,ACK will
  // acknowledge it. (A FIN on the SYN is left for the peer to send again: taking it here
  // would move the child out of SYN_RECEIVED before its handshake.)
  const ByteSpan data = syn.payload.first(std::min(syn.payload.size(), c.rcv_space_max()));
  if (!data.empty()) {
    c.rcvq.append(data);
    c.rcv_nxt += static_cast<std::uint32_t>(data.size());
    c.rcv_nxt_off += data.size();
    c.bytes_received += data.size();
    c.last_rx_stamp = stack.now();
    c.data_segs_in++;
    c.tfo.syn_data_acked = true;  // TCPI_OPT_SYN_DATA on the server's side
  }
  c.rcv_adv = c.rcv_nxt;
  // tcp_create_openreq_child counts the passive open; the child goes straight to the
  // accept queue (inet_csk_reqsk_queue_add), readable and writable in SYN_RECEIVED.
  stack.mib().TcpPassiveOpens++;
  stack.mib().TcpExtTCPFastOpenPassive++;
  stack.tracer().step("tcp_fastopen_create_child");
  listener.accept_queue.push_back(std::move(child));
  sk_data_ready(listener);
}

void tcp_fastopen_child_done(TcpSock& sk) {
  if (!sk.tfo.pending) return;
  --*sk.tfo.pending;
  sk.tfo.pending.reset();
}

bool tcp_fastopen_passive(const TcpSock& sk) noexcept {
  return sk.state == TcpState::kSynReceived && sk.tfo.pending != nullptr;
}

void tcp_fastopen_syn(TcpSock& sk) {
  TcpFastOpenSock& t = sk.tfo;
  t.option.reset();
  t.syn_len = 0;
  t.copied = 0;
  t.syn_fastopen = false;
  t.syn_data = false;
  t.syn_data_acked = false;
  t.client_fail = 0;
  // Linux allocates a fastopen_req only for these two; other SYNs carry no option.
  if (t.req == nullptr && !t.connect) return;
  TcpFastOpen& fo = sk.tcp().fastopen();
  const auto cached = fo.cache_get(sk.remote.addr);
  bool data_ok = false;
  if (no_cookie(sk, kTfoClientNoCookie)) {
    data_ok = true;  // data, and no option at all (tcp_fastopen_cookie_check, len -1)
  } else if (cached && cached->cookie.len > 0) {
    t.option = cached->cookie;
    data_ok = true;
  } else {
    t.option = FastOpenCookie{};  // RFC 7413 4.1.1: the empty option asks for a cookie
    t.client_fail = kTfoCookieUnavailable;
  }
  t.syn_fastopen = t.option.has_value();
  if (!data_ok || t.req == nullptr) return;
  // tcp_send_syn_data: the MSS the peer gave last time (else ours), bounded by the path
  // and TCP_MAXSEG, less room for 40 bytes of options.
  std::uint32_t mss = cached && cached->mss != 0 ? cached->mss : sk.advmss;
  if (sk.user_mss != 0) mss = std::min<std::uint32_t>(mss, sk.user_mss);
  mss = std::min<std::uint32_t>(
      mss, sk.pmtu - static_cast<std::uint32_t>(sk.net->header_size()) - wire::TcpHeader::kMinSize);
  std::size_t room = mss > kTfoOptionReserve ? mss - kTfoOptionReserve : 0;
  room = std::min(room, sk.snd_space_max());
  for (ByteSpan b : t.req->iov) {
    if (room == 0) break;
    const std::size_t n = std::min(room, b.size());
    sk.sndq.append(b.first(n));
    t.copied += n;
    room -= n;
  }
  t.syn_len = static_cast<std::uint32_t>(t.copied);
  t.syn_data = t.copied > 0;
  if (t.syn_data) tcp_mark_push(sk, sk.write_seq());  // resent with PSH, as Linux's skb
}

bool tcp_fastopen_synack(TcpSock& sk, const TcpSegment& synack) {
  TcpFastOpenSock& t = sk.tfo;
  if (!t.syn_fastopen && !t.syn_data) return false;
  MibCounters& mib = sk.stack.mib();
  // What the SYN,ACK acknowledged beyond our SYN is SYN data: off the send queue.
  const auto acked = static_cast<std::size_t>(synack.ack - (sk.iss + 1));
  const std::size_t n = std::min(acked, sk.sndq.size());
  sk.sndq.pop(n);
  sk.bytes_acked += n;
  // An unsolicited cookie is ignored; a SYN,ACK without one leaves the cache's cookie
  // (tcp_rcv_fastopen_synack, tcp_fastopen_cache_set).
  const std::optional<FastOpenCookie>& foc = synack.h.options.fastopen;
  const FastOpenCookie* cookie = t.syn_fastopen && foc && foc->len > 0 ? &*foc : nullptr;
  sk.tcp().fastopen().cache_set(sk.remote.addr, synack.h.options.mss.value_or(0), cookie);
  if (t.syn_data && sk.snd_una < sk.snd_max) {
    // RFC 7413 4.2: the server took only the SYN (or part of the data): the rest goes
    // again at once, carrying the ACK of the SYN,ACK (tcp_non_congestion_loss_retransmit).
    sk.snd_nxt = sk.snd_una;
    t.client_fail = sk.total_retrans != 0 ? kTfoSynRetransmitted : kTfoDataNotAcked;
    mib.TcpExtTCPFastOpenActiveFail++;
    return true;
  }
  t.syn_data_acked = t.syn_data;
  if (t.syn_data_acked) mib.TcpExtTCPFastOpenActive++;
  return false;
}

bool tcp_fastopen_defer_connect(TcpSock& sk) {
  TcpFastOpenSock& t = sk.tfo;
  if (!t.connect || t.req != nullptr) return false;
  if (!no_cookie(sk, kTfoClientNoCookie)) {
    const auto cached = sk.tcp().fastopen().cache_get(sk.remote.addr);
    if (!cached || cached->cookie.len <= 0) return false;  // the SYN asks for one
  }
  t.defer = true;
  return true;
}

Result<std::size_t> tcp_sendmsg_fastopen(TcpSock& sk, const SendMsg& msg, int flags) {
  TcpFastOpenSock& t = sk.tfo;
  Stack& stack = sk.stack;
  stack.tracer().step("tcp_sendmsg_fastopen");
  if (t.defer && sk.state == TcpState::kSynSent) {
    // TCP_FASTOPEN_CONNECT: the first write sends the SYN with its data (tcp_connect from
    // tcp_sendmsg_fastopen) and returns what went on it; a blocking call then waits for
    // the connection in the front end (send_connecting).
    t.defer = false;
    t.req = &msg;
    tcp_fastopen_syn(sk);
    t.req = nullptr;
    tcp_send_syn(sk);
    tcp_arm_rto(sk);
    sk.ss_connecting = true;
    if (t.copied == 0) return Error::kInProgress;
    sk.send_connecting = true;
    return t.copied;
  }
  if ((stack.sysctl().tcp_fastopen & kTfoClientEnable) == 0 ||
      (msg.dest != nullptr && msg.dest->family == AF_UNSPEC)) {
    return Error::kOperationNotSupported;
  }
  // __inet_stream_connect from sendmsg: a connection under way is EALREADY, any other
  // socket that is not closed EISCONN; a stream socket needs the address (tcp_v4_connect).
  if (sk.state == TcpState::kSynSent || sk.state == TcpState::kSynReceived) {
    return sk.ss_connecting ? Error::kAlreadyInProgress : Error::kAlreadyConnected;
  }
  if (sk.state != TcpState::kClosed) return Error::kAlreadyConnected;
  if (msg.dest == nullptr) return Error::kInvalidArgument;
  t.req = &msg;
  t.copied = 0;
  const Status st = sk.ops->connect(sk, *msg.dest, flags);
  t.req = nullptr;
  if (!st && st.error() != Error::kInProgress) return st.error();
  // Bytes on the SYN, or EINPROGRESS when none went (no cookie yet: the SYN asked for one
  // and the caller sends the data again once connected).
  if (t.copied == 0) return Error::kInProgress;
  sk.send_connecting = true;
  return t.copied;
}

}  // namespace usnet
