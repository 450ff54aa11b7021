// TCP Fast Open (RFC 7413) as Linux does it (net/ipv4/tcp_fastopen.c): the server's
// cookies (a keyed hash of the two addresses), the client's cookie cache, the per-socket
// state, and the hooks the handshake code calls. net.ipv4.tcp_fastopen's bits are Linux's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/siphash.h"
#include "wire/addresses.h"
#include "wire/tcp.h"

namespace usnet {

struct TcpSock;
struct TcpSegment;
struct SendMsg;
class Stack;

// net.ipv4.tcp_fastopen (Documentation/networking/ip-sysctl.rst).
inline constexpr int kTfoClientEnable = 0x1;
inline constexpr int kTfoServerEnable = 0x2;
inline constexpr int kTfoClientNoCookie = 0x4;
inline constexpr int kTfoServerCookieNotReqd = 0x200;
inline constexpr int kTfoServerWoSockopt1 = 0x400;

// Linux TCP_FASTOPEN_COOKIE_SIZE: the server's cookies are 8 bytes (a SipHash of the
// addresses); TCP_FASTOPEN_KEY_LENGTH: a key is 16 bytes, two with a backup.
inline constexpr std::size_t kTfoCookieSize = 8;
inline constexpr std::size_t kTfoKeyLength = 16;
// tcpi_fastopen_client_fail (Linux enum tfo_client_fail_reason): why a client's Fast Open
// did not send or deliver its data on the SYN.
inline constexpr std::uint8_t kTfoCookieUnavailable = 1;
inline constexpr std::uint8_t kTfoDataNotAcked = 2;
inline constexpr std::uint8_t kTfoSynRetransmitted = 3;
// Entries in the client's cookie cache (Linux keeps them in the bounded tcp_metrics table).
inline constexpr std::size_t kTfoCacheSize = 64;
// Linux MAX_TCP_OPTION_SPACE: data on a SYN leaves room for 40 bytes of options, in case a
// middlebox adds its own (tcp_send_syn_data).
inline constexpr std::uint32_t kTfoOptionReserve = 40;

// The Fast Open part of a socket.
struct TcpFastOpenSock {
  // --- listener ---
  int max_qlen = 0;  // TCP_FASTOPEN (fastopenq.max_qlen); 0: no Fast Open on this listener
  // Children made from a SYN with data still in SYN_RECEIVED (fastopenq.qlen); shared with
  // them so that a child outliving its listener still has somewhere to count down. Made
  // with max_qlen (set_max_qlen), so other sockets allocate nothing.
  std::shared_ptr<int> qlen;
  void set_max_qlen(int q) {
    max_qlen = q;
    if (!qlen) qlen = std::make_shared<int>(0);
  }
  std::vector<SipKey> keys;  // TCP_FASTOPEN_KEY on this socket; empty: the stack's
  // --- client ---
  bool connect = false;          // TCP_FASTOPEN_CONNECT
  bool no_cookie = false;        // TCP_FASTOPEN_NO_COOKIE (client and listener)
  bool defer = false;            // connect() returned 0, the SYN waits for data (DEFER_CONNECT)
  const SendMsg* req = nullptr;  // sendmsg(MSG_FASTOPEN)'s data while it connects
  std::size_t copied = 0;        // bytes of `req` that went on the SYN
  bool syn_fastopen = false;     // our SYN carried the option (tp->syn_fastopen)
  bool syn_data = false;         // our SYN carried data (tp->syn_data)
  bool syn_data_acked = false;   // ... and the SYN,ACK acknowledged all of it
  std::uint32_t syn_len = 0;     // data bytes the first SYN is to carry
  std::uint8_t client_fail = 0;  // tcpi_fastopen_client_fail: a kTfo*Fail value
  // The option the next SYN or SYN,ACK carries (only the first: retries go without).
  std::optional<wire::FastOpenCookie> option;
  // --- passive child in SYN_RECEIVED (Linux tp->fastopen_rsk) ---
  std::shared_ptr<int> pending;  // the listener's qlen, while counted in it
};

// The per-stack part: the server key and the client's cookie cache, by peer address.
class TcpFastOpen {
 public:
  explicit TcpFastOpen(Stack& stack);

  // RFC 7413 4.1.2: the cookie is a MAC of the client's address. Linux: SipHash-2-4 of the
  // source and destination addresses of the SYN (8 bytes, network order) under the key,
  // stored little-endian.
  static wire::FastOpenCookie cookie(const SipKey& key, IpAddress saddr, IpAddress daddr);
  // The keys in force for a socket: its own, else the stack's (primary first).
  const std::vector<SipKey>& keys(const TcpSock& sk);
  // The stack's keys live in net.ipv4.tcp_fastopen_key (Sysctl::tcp_fastopen_key); a
  // random one is made the first time one is needed.
  void init_key_once();

  struct Cached {
    wire::FastOpenCookie cookie;  // len 0: none known yet
    std::uint16_t mss = 0;        // the peer's MSS from its last SYN,ACK
  };
  std::optional<Cached> cache_get(IpAddress peer);
  void cache_set(IpAddress peer, std::uint16_t mss, const wire::FastOpenCookie* cookie);
  std::size_t cache_size() const noexcept { return lru_.size(); }

 private:
  using Entry = std::pair<IpAddress, Cached>;
  Stack& stack_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<IpAddress, std::list<Entry>::iterator, IpAddressHash> map_;
};

// Keys as TCP_FASTOPEN_KEY and net.ipv4.tcp_fastopen_key take them: 16 bytes each, the
// two 64-bit SipHash key words little-endian (Linux tcp_fastopen_reset_cipher).
SipKey tcp_fastopen_key_from_bytes(ByteSpan b);
void tcp_fastopen_key_to_bytes(const SipKey& k, std::byte* out);

// --- hooks (tcp_fastopen.cpp) ---
// Listener, a SYN that will make a child (not a SYN cookie): Linux tcp_try_fastopen's
// decision. True if the child is a Fast Open one (its SYN's data taken, accept()able at
// once). Sets `synack` to the option the SYN,ACK carries (nullopt: none).
bool tcp_fastopen_check_syn(TcpSock& listener, const TcpSegment& syn,
                            std::optional<wire::FastOpenCookie>& synack);
// Listener: the Fast Open child just made and hashed: take the SYN's data, queue it for
// accept(), count it (tcp_fastopen_create_child). The caller sends the SYN,ACK.
void tcp_fastopen_child(TcpSock& listener, std::unique_ptr<TcpSock> child, const TcpSegment& syn);
// A socket leaves SYN_RECEIVED: a passive Fast Open child stops counting against its
// listener's qlen (Linux reqsk_fastopen_remove).
void tcp_fastopen_child_done(TcpSock& sk);
// A passive Fast Open child in SYN_RECEIVED: it may be read and written already.
bool tcp_fastopen_passive(const TcpSock& sk) noexcept;
// Client, just before the first SYN: the option and the data it carries (Linux
// tcp_send_syn_data). Copies up to the SYN's room of the pending data into the send queue.
void tcp_fastopen_syn(TcpSock& sk);
// Client: a SYN,ACK arrived, SND.UNA moved and the state is ESTABLISHED. Drops the SYN
// data it acknowledged, caches the cookie, and rewinds to resend what it did not (Linux
// tcp_rcv_fastopen_synack). True if data is to be resent: it carries the ACK.
bool tcp_fastopen_synack(TcpSock& sk, const TcpSegment& synack);
// sendmsg(MSG_FASTOPEN), or the first write after a deferred connect.
Result<std::size_t> tcp_sendmsg_fastopen(TcpSock& sk, const SendMsg& msg, int flags);
// connect() with TCP_FASTOPEN_CONNECT, the socket in SYN_SENT: true if the SYN waits for
// the first write (a cookie is cached, or none is needed); else the SYN asks for one.
bool tcp_fastopen_defer_connect(TcpSock& sk);

}  // namespace usnet
