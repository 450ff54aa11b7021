// TCP_DEFER_ACCEPT (tcp(7)): a listener keeps a connection out of its accept queue until
// the client sends data. As Linux does it (tcp_check_req, reqsk_timer_handler,
// syn_ack_recalc), the handshake's bare final ACK is dropped and remembered; the SYN,ACK
// is not resent while the data is awaited, only when the deferral is about to run out, as
// a last chance; once the SYN,ACK has timed out as many times as the option's seconds come
// to (secs_to_retrans), the next bare ACK is accepted like any other.
#include "stack/stack.h"
#include "transport/tcp/tcp_internal.h"

namespace usnet {

bool tcp_defer_accept_drop(TcpSock& child, const TcpSegment& seg) {
  const TcpSock* listener = child.parent;
  if (listener == nullptr || listener->defer_accept == 0) return false;
  // Bare: the segment ends where the SYN did (no data, no FIN).
  if (!seg.payload.empty() || seg.h.has(wire::kTcpFin)) return false;
  if (child.syn_retries >= listener->defer_accept) return false;
  child.defer_acked = true;
  child.stack.mib().TcpExtTCPDeferAcceptDrop++;
  child.stack.tracer().step("drop: TCP_DEFER_ACCEPT bare ack");
  return true;
}

SynAckTimeout tcp_synack_timeout(const TcpSock& child, int max_retries) {
  // syn_ack_recalc. `syn_retries` counts the SYN,ACK's timeouts (req->num_timeout),
  // whether or not each one resent it.
  const int timeouts = child.syn_retries;
  const int defer = child.parent != nullptr ? child.parent->defer_accept : 0;
  if (defer == 0) return {.expire = timeouts >= max_retries, .resend = true};
  return {.expire = timeouts >= max_retries && (!child.defer_acked || timeouts >= defer),
          .resend = !child.defer_acked || timeouts >= defer - 1};
}

}  // namespace usnet
