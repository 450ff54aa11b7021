// The socket calls on TCP sockets (Linux inet_stream_ops / tcp_prot): bind, listen, accept,
// connect, sendmsg, recvmsg, shutdown, close and poll.
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "socket/af_inet.h"
#include "socket/sock_calls.h"
#include "socket/wait_queue.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

constexpr bool synchronized(TcpState s) {
  return s != TcpState::kClosed && s != TcpState::kListen && s != TcpState::kSynSent &&
         s != TcpState::kSynReceived;
}

Status tcp_bind(Socket& sock, const SockAddr& addr_in) {
  sock.stack.tracer().step("inet_bind");
  if (auto st = inet_check_bind_addr(sock, addr_in); !st) return st;
  auto norm = inet_addr_in(sock, addr_in, Error::kInvalidArgument);
  const SockAddr addr = norm ? *norm : addr_in;  // AF_UNSPEC any: kept as given
  // Linux: a TCP socket may not bind to a broadcast or multicast address.
  if (sock.stack.is_broadcast_address(addr.addr) || addr.addr.is_multicast()) {
    return Error::kAddressNotAvailable;
  }
  if (tcp_sk(sock).state != TcpState::kClosed) return Error::kInvalidArgument;
  sock.stack.tracer().step("inet_csk_get_port");
  if (auto st = sock.stack.tcp().ports().bind(sock, addr.addr, addr.port, sock.stack.rng()); !st) {
    return st;
  }
  sock.bound_explicitly = true;
  return {};
}

Status tcp_listen(Socket& sock, int backlog) {
  TcpSock& sk = tcp_sk(sock);
  sock.stack.tracer().step("inet_listen");
  if (sk.state != TcpState::kClosed && sk.state != TcpState::kListen) {
    return Error::kInvalidArgument;
  }
  // Linux __sys_listen: a backlog above net.core.somaxconn (or negative, as unsigned)
  // becomes somaxconn.
  const int somaxconn = sock.stack.sysctl().somaxconn;
  if (static_cast<unsigned>(backlog) > static_cast<unsigned>(somaxconn)) backlog = somaxconn;
  sk.backlog = backlog;
  if (sk.state == TcpState::kListen) return {};
  Tcp& tcp = sock.stack.tcp();
  if (sk.local.port == 0) {
    if (auto st = tcp.ports().bind(sock, IpAddress::any(sock.family), 0, sock.stack.rng()); !st) {
      return Error::kAddressInUse;
    }
  } else {
    // inet_csk_get_port again: two SO_REUSEADDR sockets may share a port, but only one
    // may listen on it (unless both set SO_REUSEPORT).
    for (Socket* other : tcp.ports().on_port(sk.local.port)) {
      if (other == &sock || tcp_sk(*other).state != TcpState::kListen) continue;
      if (inet_addrs_overlap(*other, other->local.addr, sk) &&
          !(other->opt.reuseport && sk.opt.reuseport))
        return Error::kAddressInUse;
    }
  }
  // inet_listen: tcp_fastopen 0x400 (with 0x2) gives every listener Fast Open, its queue
  // as long as the backlog, unless TCP_FASTOPEN set one.
  const int tfo = sock.stack.sysctl().tcp_fastopen;
  if ((tfo & kTfoServerWoSockopt1) != 0 && (tfo & kTfoServerEnable) != 0 && sk.tfo.max_qlen == 0) {
    sk.tfo.set_max_qlen(std::min(backlog, somaxconn));
    sock.stack.tcp().fastopen().init_key_once();
  }
  sock.stack.tracer().step("inet_csk_listen_start");
  tcp_set_state(sk, TcpState::kListen);
  sock.listening = true;
  return {};
}

Result<std::unique_ptr<Socket>> tcp_accept(Socket& sock) {
  TcpSock& sk = tcp_sk(sock);
  sock.stack.tracer().step("inet_csk_accept");
  if (sk.state != TcpState::kListen) return Error::kInvalidArgument;
  if (sk.accept_queue.empty()) return Error::kWouldBlock;
  std::unique_ptr<TcpSock> child = std::move(sk.accept_queue.front());
  sk.accept_queue.pop_front();
  child->owner = TcpSock::Owner::kUser;
  child->parent = nullptr;
  return std::unique_ptr<Socket>(std::move(child));
}

Status tcp_connect(Socket& sock, const SockAddr& addr_in, int /*flags*/) {
  TcpSock& sk = tcp_sk(sock);
  Stack& stack = sock.stack;
  Tcp& tcp = stack.tcp();
  stack.tracer().step("inet_stream_connect");
  if (addr_in.family == AF_UNSPEC) {
    // tcp_disconnect: an open connection is aborted with a reset.
    if (synchronized(sk.state) || sk.state == TcpState::kSynReceived) tcp_send_active_reset(sk);
    if (sk.state != TcpState::kClosed) tcp_done(sk);
    sk.remote = {};
    sock.listening = false;
    return {};
  }
  auto norm = inet_addr_in(sock, addr_in, Error::kNetworkUnreachable);
  if (!norm) return norm.error();
  switch (sk.state) {
    case TcpState::kSynSent:
      // A connect() deferred by TCP_FASTOPEN_CONNECT has been reported (0): EISCONN.
      if (sk.tfo.defer) return Error::kAlreadyConnected;
      return Error::kAlreadyInProgress;
    case TcpState::kSynReceived:
      return Error::kAlreadyInProgress;
    case TcpState::kClosed:
      if (sk.ss_connecting) {
        // __inet_stream_connect: the attempt ended (RST, timeout): report how, once, and
        // disconnect, which clears the shutdown the end left (tcp_disconnect).
        sk.ss_connecting = false;
        sk.shut_rd = false;
        sk.shut_wr = false;
        if (auto e = sk.take_error()) return *e;
        return Error::kConnectionAborted;
      }
      break;
    default:
      if (sk.ss_connecting) {
        sk.ss_connecting = false;  // the handshake finished since: this call reports it
        return {};
      }
      return Error::kAlreadyConnected;
  }
  SockAddr addr = *norm;
  // connect(0.0.0.0) means this host (Linux maps INADDR_ANY to the loopback address, and
  // :: to ::1 in tcp_v6_connect).
  if (addr.addr.is_any()) {
    addr.addr = addr.addr.is_v4() ? IpAddress(Ipv4Address::from_octets(127, 0, 0, 1))
                                  : IpAddress(Ipv6Address::loopback());
  }
  if (addr.addr.is_multicast() || addr.addr.is_broadcast() ||
      stack.is_broadcast_address(addr.addr)) {
    return Error::kNetworkUnreachable;
  }
  stack.tracer().step("tcp_v4_connect");
  sk.remote = addr;
  const SockAddr saved_local = sk.local;
  if (auto st = tcp_init_connection(sk); !st) {
    sk.remote = {};
    sk.local = saved_local;
    return st;
  }
  if (sk.local.port == 0) {
    const IpAddress src = sk.local.addr;
    if (auto st = tcp.ports().bind(sock, IpAddress::any(sock.family), 0, stack.rng()); !st) {
      sk.remote = {};
      sk.local = saved_local;
      return Error::kAddressNotAvailable;  // Linux: EADDRNOTAVAIL when no port is free
    }
    sk.local.addr = src;
  }
  const FourTuple t{sk.local.addr, sk.local.port, sk.remote.addr, sk.remote.port};
  if (tcp.lookup(t) != nullptr) {
    sk.remote = {};
    return Error::kAddressNotAvailable;
  }
  // ts_offset depends on the address chosen above: recompute it.
  sk.ts_offset =
      stack.sysctl().tcp_timestamps == 1 ? tcp_ts_offset(tcp, sk.local.addr, sk.remote.addr) : 0;
  sk.iss = tcp.isn(t);
  sk.recover = sk.iss;
  sk.snd_una = sk.iss;
  sk.snd_nxt = sk.iss;
  sk.snd_max = sk.iss;
  sk.syn_retries = 0;
  sk.backoff = 0;
  tcp.hash(sk);
  tcp_set_state(sk, TcpState::kSynSent);
  sk.ss_connecting = true;
  stack.mib().TcpActiveOpens++;
  // TCP_FASTOPEN_CONNECT with a cookie: connect() succeeds now; the first write sends the
  // SYN with its data (Linux tcp_fastopen_defer_connect).
  if (tcp_fastopen_defer_connect(sk)) {
    sk.ss_connecting = false;
    return {};
  }
  tcp_fastopen_syn(sk);
  tcp_send_syn(sk);
  tcp_arm_rto(sk);
  return Error::kInProgress;  // the front end waits, or reports EINPROGRESS
}

// How much of `want` bytes tcp_sendmsg_locked would take under TCP_NOTSENT_LOWAT. It fills
// the unsent tail segment first, then looks at the mark before each new segment it starts
// (tcp_stream_memory_free), and a segment it has filled goes at once when it is the first
// unsent one and the windows allow (tcp_push_one), which drains the unsent count as it
// copies. usnet copies first and sends after, so the same walk is done here on the
// numbers. Unsent bytes fill segments of the MSS from SND.NXT on.
std::size_t notsent_lowat_room(const TcpSock& sk, std::size_t want) {
  const std::uint64_t lowat = sk.notsent_limit();
  const std::uint64_t seg = std::max<std::uint32_t>(sk.mss, 1);
  std::uint64_t unsent = sk.notsent_bytes();
  const SeqNum wnd_end = sk.snd_una + sk.snd_wnd;
  const std::uint64_t wnd_room =
      wnd_end > sk.snd_nxt ? static_cast<std::uint64_t>(wnd_end - sk.snd_nxt) : 0;
  const std::uint64_t in_flight = static_cast<std::uint32_t>(sk.snd_nxt - sk.snd_una);
  const std::uint64_t cwnd_room = sk.cwnd > in_flight ? sk.cwnd - in_flight : 0;
  std::uint64_t can_send = std::min(wnd_room, cwnd_room);
  std::uint64_t taken = 0;
  const auto push_one = [&] {
    if (unsent == seg && can_send >= seg) {
      unsent = 0;
      can_send -= seg;
    }
  };
  if (unsent % seg != 0) {
    const std::uint64_t fill = seg - unsent % seg;
    taken = fill;
    unsent += fill;
    push_one();
  }
  while (taken < want && unsent < lowat) {
    taken += seg;
    unsent += seg;
    push_one();
  }
  return static_cast<std::size_t>(std::min<std::uint64_t>(taken, want));
}

Result<std::size_t> tcp_sendmsg(Socket& sock, const SendMsg& msg, int flags) {
  TcpSock& sk = tcp_sk(sock);
  sock.stack.tracer().step("tcp_sendmsg");
  // RFC 7413: MSG_FASTOPEN connects and puts data on the SYN; so does the first write
  // after a connect() that TCP_FASTOPEN_CONNECT deferred.
  if ((flags & MSG_FASTOPEN) != 0 || (sk.tfo.defer && sk.state == TcpState::kSynSent)) {
    return tcp_sendmsg_fastopen(sk, msg, flags);
  }
  if (msg.dest != nullptr && sk.state == TcpState::kClosed && !sk.done_flag) {
    // sendto() with an address on an unconnected stream socket, without MSG_FASTOPEN.
    return Error::kBrokenPipe;
  }
  if (auto e = sk.take_error()) return *e;
  if (sk.shut_wr || sk.fin_queued) return Error::kBrokenPipe;
  switch (sk.state) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      break;
    case TcpState::kSynReceived:
      if (tcp_fastopen_passive(sk)) break;  // Linux: a passive Fast Open child may write
      return Error::kWouldBlock;
    case TcpState::kSynSent:
      return Error::kWouldBlock;  // sk_stream_wait_connect
    default:
      return Error::kBrokenPipe;  // Linux: EPIPE on a socket that is not connected
  }
  const std::size_t total = msg.total();
  if (total == 0) return std::size_t{0};
  const std::size_t limit = sk.snd_space_max();
  // sk_stream_memory_free: no room is a wait.
  if (sk.sndq.size() >= limit) return Error::kWouldBlock;
  std::size_t room = limit - sk.sndq.size();
  if (sk.notsent_limit() < UINT32_MAX) {
    const std::size_t allowed = notsent_lowat_room(sk, std::min(room, msg.total()));
    if (allowed == 0) return Error::kWouldBlock;
    room = std::min(room, allowed);
  }
  std::size_t copied = 0;
  const SeqNum start = sk.write_seq();
  for (ByteSpan b : msg.iov) {
    if (room == 0) break;
    const std::size_t n = std::min(room, b.size());
    sk.sndq.append(b.first(n));
    copied += n;
    room -= n;
  }
  sk.more = (flags & MSG_MORE) != 0;
  tcp_push_after_write(sk, start, static_cast<std::uint32_t>(copied), sk.more);
  if (!sk.more && !sk.cork) sock.stack.timers().cancel(sk.cork_timer);
  tcp_write_xmit(sk);
  return copied;
}

// tcp_recvmsg's control messages, in Linux's order: the receive time stamps of the last
// data (tcp_recv_timestamp), then TCP_CM_INQ, the bytes left to read (tcp_inq_hint: 1 at
// the end of the stream when nothing is left, so a reader knows to read once more).
void tcp_recv_cmsgs(TcpSock& sk, RecvResult& r) {
  r.rx_stamp = sk.last_rx_stamp;
  sock_recv_timestamp(sk, r);
  if (sk.recvmsg_inq) {
    int inq = static_cast<int>(std::min<std::size_t>(sk.rcvq.size(), INT32_MAX));
    if (inq == 0 && (sk.rcv_fin || sk.done_flag)) inq = 1;  // SOCK_DONE
    r.cmsg.put(IPPROTO_TCP, TCP_CM_INQ, &inq, sizeof(inq));
  }
}

Result<RecvResult> tcp_recvmsg(Socket& sock, const RecvMsg& msg, int flags) {
  TcpSock& sk = tcp_sk(sock);
  sock.stack.tracer().step("tcp_recvmsg");
  if (sk.state == TcpState::kListen) return Error::kNotConnected;
  if ((flags & MSG_OOB) != 0) return Error::kInvalidArgument;  // no urgent data is kept
  RecvResult r;
  const bool eof = sk.rcv_fin || sk.shut_rd || sk.done_flag;
  if (sk.rcvq.empty()) {
    if (auto e = sk.take_error()) return *e;
    if (eof) {
      tcp_recv_cmsgs(sk, r);
      return r;  // end of stream: 0
    }
    if (sk.state == TcpState::kClosed) return Error::kNotConnected;
    return Error::kWouldBlock;
  }
  // SO_RCVLOWAT (sock_rcvlowat): a blocking read waits until min(lowat, len) bytes are
  // there, or the stream ends; a non-blocking one takes what there is.
  const std::size_t target = std::min<std::size_t>(static_cast<std::size_t>(sk.opt.rcvlowat),
                                                   std::max<std::size_t>(msg.capacity(), 1));
  if ((flags & MSG_DONTWAIT) == 0 && sk.rcvq.size() < target && !eof && !sk.pending_error) {
    return Error::kWouldBlock;
  }
  const std::size_t want = std::min(msg.capacity(), sk.rcvq.size());
  if ((flags & MSG_TRUNC) == 0) {
    std::size_t off = 0;
    for (MutableByteSpan b : msg.iov) {
      if (off >= want) break;
      off += sk.rcvq.copy_out(off, b.first(std::min(b.size(), want - off)));
    }
  }
  r.copied = want;
  r.full_len = want;
  if ((flags & MSG_PEEK) == 0) {
    sk.rcvq.pop(want);
    tcp_rcv_space_adjust(sk, want);
    tcp_rcv_space_update(sk);
  }
  tcp_recv_cmsgs(sk, r);
  return r;
}

Status tcp_shutdown(Socket& sock, int how) {
  TcpSock& sk = tcp_sk(sock);
  sock.stack.tracer().step("inet_shutdown");
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return Error::kInvalidArgument;
  switch (sk.state) {
    case TcpState::kClosed:
      // inet_shutdown: ENOTCONN, but the socket is marked shut down all the same (so that
      // pollers see POLLHUP).
      if (how != SHUT_WR) sk.shut_rd = true;
      if (how != SHUT_RD) sk.shut_wr = true;
      return Error::kNotConnected;
    case TcpState::kListen:
      if (how == SHUT_WR) return {};
      [[fallthrough]];
    case TcpState::kSynSent:
      // Linux tcp_disconnect: the attempt (or the listener) ends, and the socket is left as
      // a fresh one, not shut down.
      (void)tcp_connect(sock, SockAddr{}, 0);
      return {};
    default:
      break;
  }
  if (how != SHUT_WR) sk.shut_rd = true;
  if (how != SHUT_RD && !sk.shut_wr) {
    sk.shut_wr = true;
    sock.stack.tracer().step("tcp_shutdown: tcp_send_fin");
    sk.queue_fin();
    if (sk.state == TcpState::kEstablished || sk.state == TcpState::kSynReceived) {
      tcp_set_state(sk, TcpState::kFinWait1);
    } else if (sk.state == TcpState::kCloseWait) {
      tcp_set_state(sk, TcpState::kLastAck);
    }
    tcp_write_xmit(sk);
  }
  return {};
}

PollMask tcp_poll(Socket& sock) {
  TcpSock& sk = tcp_sk(sock);
  if (sk.state == TcpState::kListen) {
    return sk.accept_queue.empty() ? 0 : POLLIN | POLLRDNORM;
  }
  PollMask m = 0;
  if (sk.pending_error) m |= POLLERR;
  // A FIN from the peer shuts down receiving as SHUT_RD does (Linux tcp_fin sets
  // RCV_SHUTDOWN): with our own SHUT_WR that is both directions, POLLHUP.
  const bool rcv_shutdown = sk.rcv_fin || sk.shut_rd;
  if ((rcv_shutdown && sk.shut_wr) || sk.state == TcpState::kClosed) m |= POLLHUP;
  if (rcv_shutdown) m |= POLLIN | POLLRDNORM | POLLRDHUP;
  // Linux tcp_poll: a connect() deferred for Fast Open is writable (the write sends the
  // SYN); a passive Fast Open child is polled as a connected socket.
  if (sk.state == TcpState::kSynSent) {
    if (sk.tfo.defer) m |= POLLOUT | POLLWRNORM;
    return m;
  }
  if (sk.state == TcpState::kSynReceived && !tcp_fastopen_passive(sk)) return m;
  // tcp_stream_is_readable: SO_RCVLOWAT bytes (with the FIN, any: handled above).
  if (!sk.rcvq.empty() && sk.rcvq.size() >= static_cast<std::size_t>(sk.opt.rcvlowat)) {
    m |= POLLIN | POLLRDNORM;
  }
  if (sk.shut_wr || sk.state == TcpState::kClosed) {
    m |= POLLOUT | POLLWRNORM;  // writes fail at once (EPIPE), so they do not block
  } else if (sk.sndq.size() < sk.snd_space_max() &&
             (std::uint64_t{sk.notsent_bytes()} << 1) < sk.notsent_limit()) {
    // sk_stream_is_writeable: buffer room and, by tcp_stream_memory_free with `wake`, fewer
    // unsent bytes than half TCP_NOTSENT_LOWAT (a writer woken can then write a good
    // part of the mark, not a byte).
    m |= POLLOUT | POLLWRNORM;
  }
  return m;
}

void tcp_close_listener(TcpSock& sk) {
  // inet_csk_listen_stop: connections not yet accepted are reset.
  for (auto& c : sk.accept_queue) {
    tcp_send_active_reset(*c);
    c->owner = TcpSock::Owner::kDead;
    tcp_done(*c);
  }
  sk.accept_queue.clear();
  for (auto& c : sk.syn_queue) {
    c->owner = TcpSock::Owner::kDead;
    tcp_done(*c);
  }
  sk.syn_queue.clear();
  sk.listening = false;
}

void tcp_release(std::unique_ptr<Socket> owned) {
  auto& sk = tcp_sk(*owned);
  Stack& stack = sk.stack;
  stack.tracer().step("tcp_close");
  sk.shut_rd = true;
  sk.shut_wr = true;
  switch (sk.state) {
    case TcpState::kListen:
      tcp_close_listener(sk);
      tcp_done(sk);
      return;
    case TcpState::kClosed:
    case TcpState::kSynSent:
      tcp_done(sk);
      return;
    case TcpState::kTimeWait:
    case TcpState::kFinWait2:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      break;
    default:
      break;
  }
  const bool unread = !sk.rcvq.empty();
  const bool zero_linger = sk.opt.linger_on && sk.opt.linger_s == 0;
  if (unread) {
    // RFC 2525 2.17 / Linux: closing with unread data resets the connection.
    stack.mib().TcpExtTCPAbortOnClose++;
    if (sk.state != TcpState::kTimeWait) tcp_send_active_reset(sk);
    tcp_done(sk);
    return;
  }
  if (zero_linger) {
    // SO_LINGER with a zero timeout, the abortive close: Linux __tcp_close disconnects
    // (counted as TCPAbortOnData), and tcp_disconnect resets the states RFC 793 names for
    // ABORT, and CLOSING or LAST_ACK only while data is still unsent.
    stack.mib().TcpExtTCPAbortOnData++;
    const bool need_reset = sk.state == TcpState::kEstablished ||
                            sk.state == TcpState::kCloseWait || sk.state == TcpState::kFinWait1 ||
                            sk.state == TcpState::kFinWait2 || sk.state == TcpState::kSynReceived;
    const bool unsent = sk.snd_nxt != sk.write_seq() + (sk.fin_queued ? 1 : 0);
    if (need_reset ||
        (unsent && (sk.state == TcpState::kClosing || sk.state == TcpState::kLastAck))) {
      tcp_send_active_reset(sk);
    }
    tcp_done(sk);
    return;
  }
  if (!sk.fin_queued && sk.state != TcpState::kTimeWait) {
    sk.queue_fin();
    if (sk.state == TcpState::kEstablished || sk.state == TcpState::kSynReceived) {
      tcp_set_state(sk, TcpState::kFinWait1);
    } else if (sk.state == TcpState::kCloseWait) {
      tcp_set_state(sk, TcpState::kLastAck);
    }
  }
  if (sk.state == TcpState::kFinWait2) {
    stack.timers().arm(sk.keep_timer, stack.now() + tcp_fin_time(sk));
  }
  if (stack.tcp().orphans() >=
      static_cast<std::size_t>(std::max(stack.sysctl().tcp_max_orphans, 0))) {
    // Linux tcp_too_many_orphans: the connection is reset instead of kept.
    stack.mib().TcpExtTCPAbortOnMemory++;
    if (sk.state != TcpState::kTimeWait) tcp_send_active_reset(sk);
    tcp_done(sk);
    return;
  }
  auto* raw = static_cast<TcpSock*>(owned.release());
  stack.tcp().adopt_orphan(std::unique_ptr<TcpSock>(raw));
  tcp_write_xmit(*raw);
}

Result<int> tcp_ioctl(Socket& sock, unsigned long request) {
  TcpSock& sk = tcp_sk(sock);
  switch (request) {
    case FIONREAD:  // == SIOCINQ
      if (sk.state == TcpState::kListen) return Error::kInvalidArgument;
      return static_cast<int>(std::min<std::size_t>(sk.rcvq.size(), INT32_MAX));
    case SIOCOUTQ:
      if (sk.state == TcpState::kListen) return Error::kInvalidArgument;
      return static_cast<int>(std::min<std::size_t>(sk.sndq.size(), INT32_MAX));
    case SIOCOUTQNSD: {
      if (sk.state == TcpState::kListen) return Error::kInvalidArgument;
      const SeqNum end = sk.write_seq();
      return sk.snd_nxt < end ? static_cast<int>(end - sk.snd_nxt) : 0;
    }
    default:
      return Error::kBadIoctl;
  }
}

void tcp_sockopt_changed(Socket& sock, int name) {
  TcpSock& sk = tcp_sk(sock);
  if (name == SO_KEEPALIVE) tcp_arm_keepalive(sk);
  if (name == SO_RCVLOWAT) sk_data_ready(sk);  // a lower mark may make it readable now
}

// sock_set_timestamping for TCP: OPT_ID needs a stream (not CLOSE or LISTEN); the key
// starts at the next byte written, or at SND.UNA with OPT_ID_TCP.
Result<std::uint32_t> tcp_tskey(Socket& sock, bool from_snd_una) {
  TcpSock& sk = tcp_sk(sock);
  if (sk.state == TcpState::kClosed || sk.state == TcpState::kListen) {
    return Error::kInvalidArgument;
  }
  return from_snd_una ? sk.snd_una.raw() : sk.write_seq().raw();
}

}  // namespace

Status tcp_setsockopt(Socket& sock, int level, int name, ByteSpan value);
Result<OptValue> tcp_getsockopt(Socket& sock, int level, int name, std::size_t optlen);

const ProtoOps kTcpOps = {
    .name = "inet_stream_ops",
    .bind = tcp_bind,
    .connect = tcp_connect,
    .sendmsg = tcp_sendmsg,
    .recvmsg = tcp_recvmsg,
    .shutdown = tcp_shutdown,
    .setsockopt = tcp_setsockopt,
    .getsockopt = tcp_getsockopt,
    .poll = tcp_poll,
    .release = tcp_release,
    .listen = tcp_listen,
    .accept = tcp_accept,
    .ioctl = tcp_ioctl,
    .sockopt_changed = tcp_sockopt_changed,
    .tskey = tcp_tskey,
    .sendmsg_done = tcp_sendmsg_done,
};

}  // namespace usnet
