// TCP (RFC 9293) for one stack: its tables (bound ports, listeners, connections by
// 4-tuple), the sockets it owns once the user has closed them, its secrets and rate limits.
// The connection machine itself lives in the files beside this one, one concern each:
//   tcp_state.cpp    set_state() and connection teardown
//   tcp_input.cpp    segment arrival (RFC 9293 3.10.7), ACK processing, recovery
//   tcp_output.cpp   segment construction, the send loop, ACKs and RSTs
//   tcp_timer.cpp    retransmission (RFC 6298), persist, delayed ACK, keepalive, TIME_WAIT
//   tcp_listen.cpp   listen/accept, the SYN and accept queues, SYN cookies (RFC 4987)
//   tcp_ops.cpp      the socket calls (ProtoOps)
//   tcp_option.cpp   TCP-level socket options, TCP_INFO, ioctls
//   tcp_cong.cpp     NewReno and CUBIC congestion control
//   tcp_ecn.cpp      ECN (RFC 3168): negotiation, ECT, ECE/CWR
//   tcp_autotune.cpp receive-buffer autotuning and the delayed-ACK engine (ato, quickack)
//   tcp_fastopen.cpp TCP Fast Open (RFC 7413): cookies, the cookie cache, data on the SYN
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/siphash.h"
#include "stack/registration.h"
#include "transport/port_table.h"
#include "transport/tcp/tcp_sock.h"
#include "wire/tcp.h"

namespace usnet {

class Stack;

struct FourTuple {
  IpAddress laddr;
  std::uint16_t lport = 0;
  IpAddress raddr;
  std::uint16_t rport = 0;
  friend bool operator==(const FourTuple&, const FourTuple&) = default;
};

struct FourTupleHash {
  std::size_t operator()(const FourTuple& t) const noexcept {
    std::uint64_t h = t.laddr.fold() ^ (t.raddr.fold() * 0x9e3779b97f4a7c15ULL);
    h ^= (std::uint64_t{t.lport} << 16 | t.rport) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return static_cast<std::size_t>(h * 0xbf58476d1ce4e5b9ULL);
  }
};

// A received segment, parsed.
struct TcpSegment {
  wire::TcpHeader h;
  SeqNum seq;
  SeqNum ack;
  ByteSpan payload;
  IpAddress src;
  IpAddress dst;
  std::uint8_t tos = 0;
  NetProtocol* net = nullptr;  // the network protocol it arrived by
  // The link, IP and TCP headers as they arrived (TCP_SAVE_SYN), and the link part's
  // length; a view into the packet, valid while it is being processed.
  ByteSpan headers;
  std::uint16_t mac_len = 0;
  // Sequence space the segment occupies (RFC 9293 SEG.LEN: data, SYN and FIN).
  std::uint32_t len() const noexcept {
    return static_cast<std::uint32_t>(payload.size()) + (h.has(wire::kTcpSyn) ? 1 : 0) +
           (h.has(wire::kTcpFin) ? 1 : 0);
  }
};

// Linux constants. The defaults a user can change live in the stack's Sysctl
// (stack/sysctl.h: tcp_rmem, tcp_syn_retries, tcp_fin_timeout, somaxconn, ...).
inline constexpr Duration kTcpMsl2 = std::chrono::seconds(60);  // TCP_TIMEWAIT_LEN
inline constexpr Duration kTcpRtoMin = std::chrono::milliseconds(200);
inline constexpr Duration kTcpRtoMax = std::chrono::seconds(120);
inline constexpr Duration kTcpTimeoutInit = std::chrono::seconds(1);  // RFC 6298 2.1
// RFC 6298 5.7: the RTO once data starts when the handshake gave no RTT sample.
inline constexpr Duration kTcpTimeoutFallback = std::chrono::seconds(3);
inline constexpr Duration kTcpDelackMax = std::chrono::milliseconds(40);
// Linux's delayed-ACK engine (include/net/tcp.h): ato starts at TCP_ATO_MIN and adapts to
// the gaps between data segments; a delayed ACK waits at least TCP_DELACK_MIN, at most
// TCP_DELACK_MAX in interactive (pingpong) mode, else half a second, and never past SRTT.
inline constexpr Duration kTcpAtoMin = std::chrono::milliseconds(40);
inline constexpr Duration kTcpDelackMin = std::chrono::milliseconds(40);
inline constexpr Duration kTcpDelackMaxLinux = std::chrono::milliseconds(200);
inline constexpr Duration kTcpAtoMax = std::chrono::milliseconds(500);  // HZ / 2
inline constexpr int kTcpMaxQuickacks = 16;
inline constexpr Duration kTcpCorkMax = std::chrono::milliseconds(200);  // tcp(7) TCP_CORK
inline constexpr std::uint32_t kTcpInitCwndSegs = 10;                    // RFC 6928
inline constexpr std::size_t kMaxScoreboard = 64;
inline constexpr std::uint16_t kTcpDefaultMss = 536;     // RFC 9293 3.7.1, TCP_MSS_DEFAULT
inline constexpr std::uint32_t kTcpTimestampBytes = 12;  // the option, aligned, on every segment

class Tcp : public TransportProtocol {
 public:
  explicit Tcp(Stack& stack);
  ~Tcp() override;
  Tcp(const Tcp&) = delete;
  Tcp& operator=(const Tcp&) = delete;

  // inet_create's TCP branch (AF_INET or AF_INET6).
  std::unique_ptr<Socket> tcp_init_sock(int family = AF_INET);

  void rcv(Packet pkt, const NetRcvInfo& ip) override;        // tcp_v4_rcv
  void err(const IcmpError& icmp, ByteSpan quoted) override;  // tcp_v4_err

  Stack& stack() noexcept { return stack_; }
  PortTable& ports() noexcept { return ports_; }

  // The connection table (ehash): every socket with a 4-tuple, in any state but LISTEN
  // and CLOSED.
  void hash(TcpSock& sk);
  void unhash(TcpSock& sk);
  TcpSock* lookup(const FourTuple& t) const;
  TcpSock* lookup_listener(IpAddress daddr, std::uint16_t dport) const;
  // The listening hash, kept apart from the bind table (which also holds every accepted
  // connection on the port): tcp_set_state adds and removes.
  void listener_changed(TcpSock& sk, bool listening);
  std::size_t connections() const noexcept { return ehash_.size(); }

  // RFC 6528: ISN = M + F(4-tuple, secret), M a 4-microsecond clock.
  SeqNum isn(const FourTuple& t) const;
  // A 32-bit keyed hash of a 4-tuple and extra words (SYN cookies, timestamp offsets).
  std::uint32_t keyed_hash(const FourTuple& t, std::uint32_t a, std::uint32_t b) const;

  // Takes a socket the user closed; it lives on until its connection ends.
  void adopt_orphan(std::unique_ptr<TcpSock> sk);
  // A socket that is not the user's has reached CLOSED: destroy it after this poll.
  void bury(TcpSock& sk);
  // Frees buried sockets. Called by the stack at the end of each poll.
  void reap();
  std::size_t orphans() const noexcept { return orphans_.size(); }
  // Connections in TIME_WAIT; tcp_set_state reports each entry and exit.
  std::size_t time_waits() const noexcept { return tw_count_; }
  void time_wait_changed(bool entered) noexcept { entered ? ++tw_count_ : --tw_count_; }

  // RFC 5961 7: challenge ACKs are rate-limited per stack.
  bool challenge_ack_allowed();

  // TCP Fast Open's server key and client cookie cache (tcp_fastopen.cpp).
  TcpFastOpen& fastopen() noexcept { return *fastopen_; }

  // Calls fn for every TCP socket the stack has: the user's, listeners' children, orphans.
  void for_each(const std::function<void(const TcpSock&)>& fn) const;

 private:
  Stack& stack_;
  PortTable ports_;
  std::unordered_map<FourTuple, TcpSock*, FourTupleHash> ehash_;
  std::unordered_map<std::uint16_t, std::vector<TcpSock*>> listeners_;
  std::unordered_map<const TcpSock*, std::unique_ptr<TcpSock>> orphans_;
  std::vector<std::unique_ptr<TcpSock>> graveyard_;
  SipKey isn_key_;
  std::unique_ptr<TcpFastOpen> fastopen_;
  Instant challenge_window_ = kEpoch;
  std::uint32_t challenge_count_ = 0;
  std::size_t tw_count_ = 0;
};

// The `ss -tni`-like table of a stack's TCP sockets.
std::string tcp_dump_sockets(Stack& stack);

// The operations of TCP sockets (Linux inet_stream_ops with tcp_prot).
extern const ProtoOps kTcpOps;

// The bind-conflict rule of TCP (inet_csk_bind_conflict): overlapping addresses conflict
// unless both sockets set SO_REUSEADDR and the bound one is not listening, or both set
// SO_REUSEPORT.
bool tcp_bind_conflict(const Socket& a, IpAddress a_addr, const Socket& b);

}  // namespace usnet
