// The socket layer's core types, shaped like Linux's: a Socket (struct socket and the common
// part of struct sock) points at the ProtoOps of its family and type (struct proto_ops:
// inet_dgram_ops, ...), and each protocol keeps its own state in a type derived from Socket
// (UdpSock, PingSock, later TcpSock), as udp_sock embeds inet_sock embeds sock.
//
// The sock_* entry points of socket/sock_calls.h validate, trace and dispatch through
// ProtoOps; the C API (api/) turns descriptors and sockaddrs into these types and back.
//
// Flag and option values are Linux's own (MSG_PEEK, SOL_SOCKET, SO_RCVBUF, ...): the API
// is Linux's, so the constants are too.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "base/time.h"
#include "net/net_proto.h"
#include "socket/wait_queue.h"
#include "wire/addresses.h"

namespace usnet {

class Stack;
struct ProtoOps;

// A parsed socket address: sockaddr_in or sockaddr_in6. `family` is the sockaddr's own
// (what getsockname writes back); `addr` carries its own family, which differs only for an
// AF_INET6 socket's IPv4 peer (addr IPv4, written back as ::ffff:a.b.c.d).
struct SockAddr {
  int family = AF_UNSPEC;
  IpAddress addr;
  std::uint16_t port = 0;      // host order
  std::uint32_t scope_id = 0;  // sin6_scope_id: the interface of a link-local address
  std::uint32_t flowinfo = 0;  // sin6_flowinfo, as given (flow labels are not sent yet)

  static SockAddr inet(Ipv4Address a, std::uint16_t p) { return {AF_INET, a, p}; }
  static SockAddr inet6(const Ipv6Address& a, std::uint16_t p, std::uint32_t scope = 0) {
    return {AF_INET6, IpAddress(a), p, scope};
  }
  std::string to_string() const;
  friend bool operator==(const SockAddr&, const SockAddr&) = default;
};

// net.ipv6.conf.*.hop_limit's default (RFC 8200 3 leaves it to the node; Linux's is 64).
inline constexpr int kDefaultHopLimit = 64;

// SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF: the floor of a doubled setsockopt value (socket(7)).
// The defaults and caps are the stack's net.core.rmem_default, wmem_default, rmem_max and
// wmem_max (stack/sysctl.h).
inline constexpr int kMinRcvbuf = 2304;
inline constexpr int kMinSndbuf = 4608;

struct SockOptions {
  int rcvbuf = 0;  // as getsockopt reports it (Linux doubles what is set)
  int sndbuf = 0;
  bool reuseaddr = false;
  bool reuseport = false;
  bool broadcast = false;
  bool keepalive = false;
  Duration rcvtimeo{0};  // 0: wait forever
  Duration sndtimeo{0};
  int ttl = -1;  // IP_TTL; -1: the stack's default
  // AF_INET6 sockets: IPV6_V6ONLY (net.ipv6.bindv6only is 0, Linux's default), and the
  // hop limit and traffic class of IPv6 packets (an IPv4 peer of a dual-stack socket gets
  // IP_TTL and IP_TOS instead, as Linux keeps the two apart).
  bool v6only = false;
  int hop_limit = -1;                // IPV6_UNICAST_HOPS; -1: the default (64)
  std::uint8_t tclass = 0;           // IPV6_TCLASS
  std::uint8_t tos = 0;              // IP_TOS
  PmtuMode pmtu = PmtuMode::kWant;   // IP_MTU_DISCOVER
  PmtuMode pmtu6 = PmtuMode::kWant;  // IPV6_MTU_DISCOVER (Linux np->pmtudisc, apart)
  bool dontfrag6 = false;            // IPV6_DONTFRAG: too big fails, never fragmented
  bool recverr = false;              // IP_RECVERR
  bool recverr6 = false;             // IPV6_RECVERR (Linux keeps the two apart: RECVERR, RECVERR6)
  bool linger_on = false;            // SO_LINGER
  int linger_s = 0;
  bool rcvbuf_locked = false;  // SO_RCVBUF was set: no autotuning (Linux SOCK_RCVBUF_LOCK)
  bool sndbuf_locked = false;
  // Recorded and reported; usnet has no queueing discipline or firewall that reads them.
  int priority = 0;       // SO_PRIORITY
  int mark = 0;           // SO_MARK
  int rcvlowat = 1;       // SO_RCVLOWAT (Linux sk_rcvlowat, never 0)
  bool zerocopy = false;  // SO_ZEROCOPY (Linux SOCK_ZEROCOPY)
  // SO_TIMESTAMP / SO_TIMESTAMPNS (Linux SOCK_RCVTSTAMP, SOCK_RCVTSTAMPNS).
  bool rcvtstamp = false;
  bool rcvtstampns = false;
  std::uint32_t tsflags = 0;  // SO_TIMESTAMPING's SOF_TIMESTAMPING_* (Linux sk_tsflags)
  std::uint32_t tskey = 0;    // SOF_TIMESTAMPING_OPT_ID's base (Linux sk_tskey)
  std::uint32_t zckey = 0;    // the next MSG_ZEROCOPY send's number (Linux sk_zckey)
};

// Control messages that recvmsg hands back (Linux put_cmsg into msg_control): the protocol
// appends (level, type, data) records here and the API writes them to the caller's
// msg_control, setting MSG_CTRUNC for what does not fit. A fixed area, so that a receive
// allocates nothing; it holds the largest set usnet produces (IP_RECVERR with its offender,
// SCM_TIMESTAMPING, TCP_CM_INQ) with room to spare.
struct CmsgArea {
  struct Item {
    int level = 0;
    int type = 0;
    std::uint16_t off = 0;  // into data
    std::uint16_t len = 0;
  };
  static constexpr std::size_t kMaxItems = 4;
  static constexpr std::size_t kMaxData = 128;
  std::array<Item, kMaxItems> items{};
  std::array<std::byte, kMaxData> data{};
  std::size_t count = 0;
  std::size_t used = 0;
  // False (and nothing added) when the area is full: a bug in the caller, never user input.
  bool put(int level, int type, const void* p, std::size_t n) noexcept;
};

// One entry of a socket's error queue (Linux sk_error_queue, an skb carrying a
// sock_exterr_skb): the sock_extended_err fields, the offender (ICMP), a software time
// stamp for SCM_TIMESTAMPING, and up to kMaxPayload bytes the entry returns as data (the
// quoted datagram of an ICMP error).
struct ErrQueueEntry {
  static constexpr std::size_t kMaxPayload = 64;
  std::uint32_t ee_errno = 0;
  std::uint8_t ee_origin = 0;
  std::uint8_t ee_type = 0;
  std::uint8_t ee_code = 0;
  std::uint32_t ee_info = 0;
  std::uint32_t ee_data = 0;
  std::optional<SockAddr> offender;  // the host that sent the ICMP error
  SockAddr dest;                     // the quoted datagram's destination (msg_name)
  std::optional<Instant> tstamp;     // stack time; the API maps it to CLOCK_REALTIME
  std::array<std::byte, kMaxPayload> payload{};
  std::size_t payload_len = 0;
};

// The error queue: a fixed ring, so queueing a notification never allocates. Linux bounds
// it by the receive buffer (sock_queue_err_skb: ENOMEM); usnet by its entry count, and a
// full queue drops the new entry, as Linux drops the skb.
class ErrQueue {
 public:
  static constexpr std::size_t kCapacity = 16;
  bool empty() const noexcept { return n_ == 0; }
  std::size_t size() const noexcept { return n_; }
  bool push(const ErrQueueEntry& e) noexcept;
  const ErrQueueEntry& front() const noexcept { return ring_[head_]; }
  ErrQueueEntry& back() noexcept { return ring_[(head_ + n_ - 1) % kCapacity]; }
  const ErrQueueEntry& back() const noexcept { return ring_[(head_ + n_ - 1) % kCapacity]; }
  void pop() noexcept;

 private:
  std::array<ErrQueueEntry, kCapacity> ring_{};
  std::size_t head_ = 0;
  std::size_t n_ = 0;
};

// What recvmsg filled in.
struct RecvResult {
  std::size_t copied = 0;    // bytes placed in the caller's buffers
  std::size_t full_len = 0;  // length of the datagram (MSG_TRUNC reports this)
  std::optional<SockAddr> from;
  int msg_flags = 0;  // MSG_TRUNC, ...
  CmsgArea cmsg;      // control messages for msg_control
  // The receive time of the data returned (the last segment or the datagram), for
  // SO_TIMESTAMP(NS) and SO_TIMESTAMPING's software receive stamp; kEpoch if unknown.
  Instant rx_stamp = kEpoch;
};

class Socket {
 public:
  // Takes the stack's defaults: net.core.rmem_default and wmem_default for the buffers,
  // net.ipv4.ip_no_pmtu_disc for IP_MTU_DISCOVER (Linux sock_init_data, inet_create).
  Socket(Stack& s, int fam, int typ, int proto, const ProtoOps& o);
  virtual ~Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  Stack& stack;
  int fd = -1;
  const int family;
  const int type;      // SOCK_DGRAM, SOCK_STREAM (without SOCK_NONBLOCK/SOCK_CLOEXEC)
  const int protocol;  // IPPROTO_UDP, IPPROTO_ICMP, ...
  const ProtoOps* ops;

  SockOptions opt;
  bool nonblocking = false;  // O_NONBLOCK (the front end turns it into MSG_DONTWAIT)
  // sk_err: an asynchronous error (ICMP port unreachable on a connected UDP socket), reported
  // once by the next call or read and cleared by SO_ERROR.
  std::optional<Error> pending_error;
  bool shut_rd = false;
  bool shut_wr = false;
  // MSG_ZEROCOPY completions, TX time stamps and IP_RECVERR errors, read with
  // recvmsg(MSG_ERRQUEUE); POLLERR while not empty (Linux sk_error_queue).
  ErrQueue errq;

  // Those waiting for this socket to change (socket/wait_queue.h), and SOCK_NOSPACE: a
  // writer found the send buffer full, so freed space is worth a wake-up.
  WaitQueue wq;
  bool nospace = false;
  // A send started a connection (TCP Fast Open: data on the SYN): a blocking call waits
  // for it before returning, and reports it if it failed (__inet_stream_connect's wait).
  bool send_connecting = false;
  // Calls in progress on this socket from the runtime (the references a struct file holds):
  // a close() while one is blocked only removes the descriptor; the socket is released when
  // the last such call returns, as Linux releases a socket at the last fput().
  std::uint32_t users = 0;
  bool fd_closed = false;

  SockAddr local;   // bound address; port 0 until bound (explicitly or automatically)
  SockAddr remote;  // connected peer; family AF_UNSPEC when not connected
  bool bound_explicitly = false;
  bool listening = false;  // SO_ACCEPTCONN
  bool connected() const noexcept { return remote.family != AF_UNSPEC; }

  // Takes the pending error, as sock_error() does.
  std::optional<Error> take_error() noexcept {
    auto e = pending_error;
    pending_error.reset();
    return e;
  }
  int ttl() const noexcept;
  // The network header fields this socket's options give a datagram from src to dst.
  NetOutParams ip_out_params(const IpAddress& src, const IpAddress& dst,
                             std::uint8_t protocol) const noexcept;
};

// One message to send: the buffers and an optional destination (sendto/sendmsg).
struct SendMsg {
  std::span<const ByteSpan> iov;
  const SockAddr* dest = nullptr;
  std::size_t total() const noexcept {
    std::size_t n = 0;
    for (auto b : iov)
      n += b.size();
    return n;
  }
};

struct RecvMsg {
  std::span<const MutableByteSpan> iov;
  std::size_t capacity() const noexcept {
    std::size_t n = 0;
    for (auto b : iov)
      n += b.size();
    return n;
  }
  // Copies `src` into the buffers in order, as far as they reach (a datagram's rest is
  // cut off: MSG_TRUNC is the caller's); returns the bytes copied.
  std::size_t scatter(ByteSpan src) const noexcept;
};

// An option value as getsockopt returns it: an int, a struct timeval, a name
// (TCP_CONGESTION) or a struct (TCP_INFO, or TCP_SAVED_SYN's headers: at most 134 bytes).
struct OptValue {
  std::array<std::byte, 320> bytes{};  // the largest: Linux 6.18 tcp_info, 280
  std::size_t len = 0;
  // The caller's buffer was too short for a value that cannot be cut (TCP_SAVED_SYN):
  // getsockopt fails with EINVAL and sets optlen to `len`, the length needed.
  bool too_short = false;
  static OptValue of_int(int v);
  static OptValue of_timeval(Duration d);
  static OptValue of_bytes(ByteSpan b);
};

// The per-family/type operations (Linux struct proto_ops). A null entry means the
// operation is not supported by this socket type (EOPNOTSUPP).
struct ProtoOps {
  const char* name;
  Status (*bind)(Socket& sock, const SockAddr& addr);
  Status (*connect)(Socket& sock, const SockAddr& addr, int flags);
  Result<std::size_t> (*sendmsg)(Socket& sock, const SendMsg& msg, int flags);
  Result<RecvResult> (*recvmsg)(Socket& sock, const RecvMsg& msg, int flags);
  Status (*shutdown)(Socket& sock, int how);
  // Protocol-level options (levels other than SOL_SOCKET and IPPROTO_IP); may be null.
  Status (*setsockopt)(Socket& sock, int level, int name, ByteSpan value);
  // `optlen` is the caller's buffer size (most values are cut to it by the caller).
  Result<OptValue> (*getsockopt)(Socket& sock, int level, int name, std::size_t optlen);
  PollMask (*poll)(Socket& sock);
  // close(): the protocol takes the socket. It may end it at once or keep it until its
  // connection has ended (TCP's FIN handshake and TIME_WAIT outlive the descriptor).
  void (*release)(std::unique_ptr<Socket> sock);
  // Connection-oriented types only (null elsewhere: EOPNOTSUPP).
  Status (*listen)(Socket& sock, int backlog);
  // A connection from the accept queue, or kWouldBlock.
  Result<std::unique_ptr<Socket>> (*accept)(Socket& sock);
  // FIONREAD/SIOCINQ, SIOCOUTQ, SIOCOUTQNSD: a byte count.
  Result<int> (*ioctl)(Socket& sock, unsigned long request);
  // A setsockopt() of SOL_SOCKET that the protocol must see (SO_RCVBUF locks autotuning,
  // SO_KEEPALIVE arms a timer, SO_LINGER); may be null.
  void (*sockopt_changed)(Socket& sock, int name);
  // SOF_TIMESTAMPING_OPT_ID's starting key (sk_tskey) for a stream: the next byte to write,
  // or SND.UNA with OPT_ID_TCP; an error when the socket has no stream yet. Null: 0.
  Result<std::uint32_t> (*tskey)(Socket& sock, bool from_snd_una);
  // A sendmsg call that queued data has ended (sock_sendmsg_done): its MSG_ZEROCOPY
  // completion number, if it asked for one, and SO_TIMESTAMPING's transmit stamps are the
  // protocol's to deliver when due. Null: the completion at once, no stamps.
  void (*sendmsg_done)(Socket& sock, std::optional<std::uint32_t> zc_id);
};

}  // namespace usnet
