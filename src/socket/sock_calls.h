// The socket layer entry points, named as in the seed document and Linux net/socket.c.
// Each validates what every protocol shares, traces itself, and dispatches through the
// socket's ProtoOps. None of them blocks: a call that would wait returns kWouldBlock and
// the runtime decides whether to wait (DESIGN.md invariant 3).
//
//   socket()       -> sock_create     -> inet_create -> udp_init_sock / ping_init_sock
//   bind()         -> sock_bind       -> ops->bind
//   connect()      -> sock_connect    -> ops->connect
//   send/sendto/sendmsg/write -> sock_sendmsg -> ops->sendmsg
//   recv/recvfrom/recvmsg/read -> sock_recvmsg -> ops->recvmsg
//   getsockname()/getpeername() -> sock_getname
//   setsockopt()/getsockopt()   -> sock_setsockopt / sock_getsockopt
//   shutdown()     -> sock_shutdown   -> ops->shutdown
//   close()        -> sock_close      -> ops->release
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/result.h"
#include "socket/socket.h"

namespace usnet {

class Stack;

// Creates a socket and installs it in the stack's descriptor table under `fd` (or the
// lowest free number when fd < 0). `type` may carry SOCK_NONBLOCK and SOCK_CLOEXEC.
Result<Socket*> sock_create(Stack& stack, int family, int type, int protocol, int fd = -1);
Status sock_bind(Socket& sock, const SockAddr& addr);
Status sock_connect(Socket& sock, const SockAddr& addr, int flags);
Result<std::size_t> sock_sendmsg(Socket& sock, const SendMsg& msg, int flags);
Result<RecvResult> sock_recvmsg(Socket& sock, const RecvMsg& msg, int flags);
// The bound address (peer == false) or the connected peer (peer == true; ENOTCONN if none).
Result<SockAddr> sock_getname(Socket& sock, bool peer);
Status sock_shutdown(Socket& sock, int how);
// listen(): EOPNOTSUPP for types without connections.
Status sock_listen(Socket& sock, int backlog);
// accept(): the next connection, installed in the descriptor table under `fd` (or the
// lowest free number when fd < 0). `flags` may hold SOCK_NONBLOCK (and SOCK_CLOEXEC, which
// the front end applies). kWouldBlock when no connection is waiting.
Result<Socket*> sock_accept(Socket& sock, int flags, int fd = -1);
Result<int> sock_ioctl(Socket& sock, unsigned long request);
// Unhashes the socket from its protocol and frees it.
Status sock_close(Stack& stack, int fd);
// The second half of close(): the socket, already out of the descriptor table, goes to its
// protocol (ops->release), which ends it or keeps it until its connection has ended.
void sock_release(std::unique_ptr<Socket> sock);
PollMask sock_poll(Socket& sock);

// SOL_SOCKET and IPPROTO_IP options, then the protocol's own (ops->setsockopt).
Status sock_setsockopt(Socket& sock, int level, int name, ByteSpan value);
// `optlen`: the caller's buffer size, for the few options that need it (TCP_SAVED_SYN).
inline constexpr std::size_t kAnyOptLen = SIZE_MAX;
Result<OptValue> sock_getsockopt(Socket& sock, int level, int name,
                                 std::size_t optlen = kAnyOptLen);

// --- control messages and the error queue (socket/sock_errqueue.cpp) ---
// Adds SCM_TIMESTAMP(NS) / SCM_TIMESTAMPING for r.rx_stamp as the socket's options ask.
void sock_recv_timestamp(const Socket& sock, RecvResult& r);
// Queues an entry and wakes pollers (POLLERR); false when the queue is full (dropped).
bool sock_queue_err(Socket& sock, const ErrQueueEntry& e);
// recvmsg(MSG_ERRQUEUE): the oldest entry with its IP_RECVERR cmsg; kWouldBlock if none.
Result<RecvResult> sock_recv_errqueue(Socket& sock, const RecvMsg& msg);
// MSG_ZEROCOPY: whether this send takes part, whether its completion fits the queue
// (else ENOBUFS, as Linux when it cannot allocate the notification), and the completion
// numbered `id` (consecutive ones share an entry, as __msg_zerocopy_callback merges them).
bool sock_zerocopy_wanted(const Socket& sock, int flags, std::size_t len);
bool sock_zerocopy_can_notify(const Socket& sock);
void sock_zerocopy_notify(Socket& sock, std::uint32_t id);
// The end of one sendmsg call that queued `queued` bytes (the front end may call
// sock_sendmsg several times for it, as a blocking stream send waits for room): the call's
// MSG_ZEROCOPY completion number (one per call, Linux's ubuf_info) and its transmit time
// stamps belong to its last byte. The protocol (ops->sendmsg_done) says when they are due;
// without one the completion is queued at once.
void sock_sendmsg_done(Socket& sock, int flags, std::size_t queued);
// A transmit time stamp (SCM_TSTAMP_SND/SCHED/ACK) with its OPT_ID key.
void sock_tx_timestamp(Socket& sock, std::uint32_t tstype, std::uint32_t key, Instant when);

}  // namespace usnet
