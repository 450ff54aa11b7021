// Control messages a receive hands back (SO_TIMESTAMP, SO_TIMESTAMPNS, SO_TIMESTAMPING) and
// the error queue read with recvmsg(MSG_ERRQUEUE): MSG_ZEROCOPY completions, transmit time
// stamps and ICMP errors (Linux net/core/sock.c __sock_recv_timestamp, net/ipv4/ip_sockglue.c
// ip_recv_error, net/core/skbuff.c __msg_zerocopy_callback).
#include <netinet/in.h>
#include <sys/time.h>
#include <time.h>
// After <time.h>: it uses struct timespec.
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <cerrno>
#include <cstring>

#include "socket/sock_calls.h"
#include "socket/wait_queue.h"
#include "stack/stack.h"

namespace usnet {
namespace {

// Stack time is CLOCK_REALTIME's time line in the runtime (Runtime::now() is wall-clock
// time advancing monotonically); simulations start it at the epoch.
timespec to_timespec(Instant t) {
  const auto ns = t.time_since_epoch().count();
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

// Linux's struct scm_timestamping: software stamp in ts[0], hardware in ts[2].
struct ScmTimestamping {
  timespec ts[3];
};

// ip_recv_error's errhdr: the extended error and the offender's address.
struct ErrHdr {
  sock_extended_err ee;
  sockaddr_in offender;
};

void put_timestamps(const Socket& sock, Instant stamp, bool errqueue, RecvResult& r) {
  if (stamp == kEpoch) return;
  const timespec ts = to_timespec(stamp);
  // SO_TIMESTAMP(NS) stamp received data only; SO_TIMESTAMPING reports software stamps
  // (received data or transmit stamps on the error queue) when SOF_TIMESTAMPING_SOFTWARE
  // is set. usnet stamps every received segment, so the receive side also needs
  // SOF_TIMESTAMPING_RX_SOFTWARE (as Linux with SOF_TIMESTAMPING_OPT_RX_FILTER).
  if (sock.opt.rcvtstamp && !errqueue) {
    if (sock.opt.rcvtstampns) {
      r.cmsg.put(SOL_SOCKET, SCM_TIMESTAMPNS, &ts, sizeof(ts));
    } else {
      const timeval tv{ts.tv_sec, ts.tv_nsec / 1000};
      r.cmsg.put(SOL_SOCKET, SCM_TIMESTAMP, &tv, sizeof(tv));
    }
  }
  const std::uint32_t f = sock.opt.tsflags;
  const bool want =
      (f & SOF_TIMESTAMPING_SOFTWARE) != 0 && (errqueue || (f & SOF_TIMESTAMPING_RX_SOFTWARE) != 0);
  if (want) {
    ScmTimestamping t{};
    t.ts[0] = ts;
    r.cmsg.put(SOL_SOCKET, SCM_TIMESTAMPING, &t, sizeof(t));
  }
}

}  // namespace

void sock_recv_timestamp(const Socket& sock, RecvResult& r) {
  put_timestamps(sock, r.rx_stamp, false, r);
}

bool sock_queue_err(Socket& sock, const ErrQueueEntry& e) {
  if (!sock.errq.push(e)) return false;
  sk_error_report(sock);
  return true;
}

Result<RecvResult> sock_recv_errqueue(Socket& sock, const RecvMsg& msg) {
  sock.stack.tracer().step("ip_recv_error");
  if (sock.errq.empty()) return Error::kWouldBlock;  // EAGAIN, never a wait
  const ErrQueueEntry& e = sock.errq.front();
  RecvResult r;
  r.full_len = e.payload_len;
  r.copied = msg.scatter(ByteSpan(e.payload.data(), e.payload_len));
  if (r.copied < r.full_len) r.msg_flags |= MSG_TRUNC;
  // ipv4_datagram_support_addr: the quoted destination for ICMP errors.
  if (e.ee_origin == SO_EE_ORIGIN_ICMP && e.offender) r.from = e.dest;
  if (e.tstamp) put_timestamps(sock, *e.tstamp, true, r);
  ErrHdr h{};
  h.ee.ee_errno = e.ee_errno;
  h.ee.ee_origin = e.ee_origin;
  h.ee.ee_type = e.ee_type;
  h.ee.ee_code = e.ee_code;
  h.ee.ee_info = e.ee_info;
  h.ee.ee_data = e.ee_data;
  if (e.offender) {
    h.offender.sin_family = AF_INET;
    h.offender.sin_addr.s_addr = htonl(e.offender->addr.v4().value);
  }
  r.cmsg.put(SOL_IP, IP_RECVERR, &h, sizeof(h));
  r.msg_flags |= MSG_ERRQUEUE;
  sock.errq.pop();
  return r;
}

bool sock_zerocopy_wanted(const Socket& sock, int flags, std::size_t len) {
  // MSG_ZEROCOPY without SO_ZEROCOPY is ignored, as Linux does (for compatibility with
  // programs that pass it everywhere).
  return (flags & MSG_ZEROCOPY) != 0 && sock.opt.zerocopy && len > 0;
}

bool sock_zerocopy_can_notify(const Socket& sock) {
  if (sock.errq.size() < ErrQueue::kCapacity) return true;
  // A full queue still takes a completion that extends the last one.
  const ErrQueueEntry& b = sock.errq.back();
  return b.ee_origin == SO_EE_ORIGIN_ZEROCOPY && b.ee_data + 1 == sock.opt.zckey;
}

void sock_zerocopy_notify(Socket& sock, std::uint32_t id) {
  // usnet copies the data at once; the notification says so with
  // SO_EE_CODE_ZEROCOPY_COPIED, as Linux does where it had to copy (loopback).
  if (!sock.errq.empty()) {
    ErrQueueEntry& b = sock.errq.back();
    // __msg_zerocopy_callback: a completion that follows the queue's last one extends its
    // range [ee_info, ee_data] instead of queueing another (skb_zerocopy_notify_extend).
    if (b.ee_origin == SO_EE_ORIGIN_ZEROCOPY && b.ee_data + 1 == id) {
      b.ee_data = id;
      sk_error_report(sock);
      return;
    }
  }
  ErrQueueEntry e;
  e.ee_errno = 0;
  e.ee_origin = SO_EE_ORIGIN_ZEROCOPY;
  e.ee_code = SO_EE_CODE_ZEROCOPY_COPIED;
  e.ee_info = id;
  e.ee_data = id;
  (void)sock_queue_err(sock, e);
}

void sock_sendmsg_done(Socket& sock, int flags, std::size_t queued) {
  if (queued == 0) return;
  std::optional<std::uint32_t> zc_id;
  if (sock_zerocopy_wanted(sock, flags, queued)) zc_id = sock.opt.zckey++;
  if (sock.ops->sendmsg_done != nullptr) {
    sock.ops->sendmsg_done(sock, zc_id);
    return;
  }
  // A datagram went to the IP layer within the call: its transmit stamps are taken now
  // (usnet hands it to the device at once, unless it waits for ARP) with the socket's next
  // OPT_ID key (Linux sk_tskey, counted per datagram that asks for a stamp), and it is
  // complete once sent.
  const std::uint32_t f = sock.opt.tsflags;
  if ((f & (SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE)) != 0) {
    const std::uint32_t key = (f & SOF_TIMESTAMPING_OPT_ID) != 0 ? sock.opt.tskey++ : 0;
    const Instant now = sock.stack.now();
    if ((f & SOF_TIMESTAMPING_TX_SCHED) != 0) sock_tx_timestamp(sock, SCM_TSTAMP_SCHED, key, now);
    if ((f & SOF_TIMESTAMPING_TX_SOFTWARE) != 0) sock_tx_timestamp(sock, SCM_TSTAMP_SND, key, now);
  }
  if (zc_id) sock_zerocopy_notify(sock, *zc_id);
}

void sock_tx_timestamp(Socket& sock, std::uint32_t tstype, std::uint32_t key, Instant when) {
  // Only the stamp: usnet never returns the packet with it, as if SOF_TIMESTAMPING_OPT_TSONLY
  // were always set (Linux returns the packet as sent without it).
  ErrQueueEntry e;
  e.ee_errno = ENOMSG;
  e.ee_origin = SO_EE_ORIGIN_TIMESTAMPING;
  e.ee_info = tstype;
  e.ee_data = (sock.opt.tsflags & SOF_TIMESTAMPING_OPT_ID) != 0 ? key : 0;
  e.tstamp = when;
  (void)sock_queue_err(sock, e);
}

}  // namespace usnet
