// What a TCP sender hears about its data after sendmsg has returned: MSG_ZEROCOPY
// completions and SO_TIMESTAMPING's transmit stamps, both on the error queue. Each belongs
// to the last byte of one sendmsg call (Linux tcp_tx_timestamp's tskey, and the ubuf_info
// its skbs hold). A completion is due when that byte is acknowledged, as Linux frees the
// skbs (and runs __msg_zerocopy_callback) then; SCM_TSTAMP_SCHED and SCM_TSTAMP_SND when
// the segment carrying it is first handed to the device (usnet has no queueing discipline
// between the two), SCM_TSTAMP_ACK when it is acknowledged (tcp_ack_tstamp).
#include <time.h>
// After <time.h>: it uses struct timespec.
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include "socket/sock_calls.h"
#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {
namespace {

// OPT_ID's key of a byte: its distance from where counting began (sk_tskey), as Linux
// reports TCP keys; 0 without OPT_ID.
std::uint32_t ts_key(const TcpSock& sk, SeqNum last) {
  if ((sk.opt.tsflags & SOF_TIMESTAMPING_OPT_ID) == 0) return 0;
  return last.raw() - sk.opt.tskey;
}

void stamp(TcpSock& sk, const TcpTxNote& n, std::uint32_t tstype) {
  sock_tx_timestamp(sk, tstype, ts_key(sk, n.last), sk.stack.now());
}

void stamp_sent(TcpSock& sk, TcpTxNote& n) {
  if (n.sched) stamp(sk, n, SCM_TSTAMP_SCHED);
  if (n.snd) stamp(sk, n, SCM_TSTAMP_SND);
  n.sent = true;
}

}  // namespace

void tcp_sendmsg_done(Socket& sock, std::optional<std::uint32_t> zc_id) {
  TcpSock& sk = tcp_sk(sock);
  const std::uint32_t f = sk.opt.tsflags;
  TcpTxNote n;
  n.last = sk.write_seq() - 1;
  n.zc_id = zc_id;
  n.sched = (f & SOF_TIMESTAMPING_TX_SCHED) != 0;
  n.snd = (f & SOF_TIMESTAMPING_TX_SOFTWARE) != 0;
  n.ack = (f & SOF_TIMESTAMPING_TX_ACK) != 0;
  if (!n.zc_id && !n.sched && !n.snd && !n.ack) return;
  // The call's last segment may have gone already, within the call: stamped now.
  if (n.last < sk.snd_max) stamp_sent(sk, n);
  sk.tx_notes.push_back(n);
  tcp_tx_report_acked(sk);  // or been acknowledged, with its completion due
}

void tcp_tx_report_sent(TcpSock& sk, SeqNum seq, std::uint32_t len) {
  for (TcpTxNote& n : sk.tx_notes) {
    if (n.last >= seq + len) break;
    if (!n.sent && n.last >= seq) stamp_sent(sk, n);
  }
}

void tcp_tx_report_acked(TcpSock& sk) {
  while (!sk.tx_notes.empty() && sk.tx_notes.front().last < sk.snd_una) {
    const TcpTxNote n = sk.tx_notes.front();
    sk.tx_notes.pop_front();
    if (n.ack) stamp(sk, n, SCM_TSTAMP_ACK);
    if (n.zc_id) sock_zerocopy_notify(sk, *n.zc_id);
  }
}

void tcp_tx_report_flush(TcpSock& sk) {
  // tcp_write_queue_purge frees the skbs: their completions run, unacknowledged or not.
  for (const TcpTxNote& n : sk.tx_notes) {
    if (n.zc_id) sock_zerocopy_notify(sk, *n.zc_id);
  }
  sk.tx_notes.clear();
}

}  // namespace usnet
