// What datagram sockets (UDP, ping) share: the receive queue with its memory accounting, and
// recvmsg with MSG_PEEK / MSG_TRUNC semantics (udp(7), recv(2)).
#pragma once

#include <deque>

#include "base/packet.h"
#include "socket/socket.h"

namespace usnet {

struct Datagram {
  Packet data;  // payload only
  SockAddr from;
  Instant stamp = kEpoch;  // arrival (SO_TIMESTAMP, SO_TIMESTAMPING's receive stamp)
};

// Each queued datagram is charged its length plus this much, standing in for Linux's skb
// truesize overhead, so that SO_RCVBUF bounds the number of tiny datagrams too.
inline constexpr std::size_t kDatagramOverhead = 512;

class DgramQueue {
 public:
  // Queues unless the socket's receive memory is already over `rcvbuf` (Linux
  // __udp_enqueue_schedule_skb admits while rmem_alloc <= rcvbuf). False: dropped.
  bool enqueue(Datagram d, int rcvbuf);
  bool empty() const noexcept { return q_.empty(); }
  std::size_t memory() const noexcept { return mem_; }
  std::size_t size() const noexcept { return q_.size(); }
  const Datagram& front() const { return q_.front(); }
  void pop();
  void clear();

 private:
  std::deque<Datagram> q_;
  std::size_t mem_ = 0;
};

// Copies the next datagram into msg (MSG_PEEK leaves it queued; MSG_TRUNC returns its full
// length). Reports and clears a pending error first, as Linux's __skb_recv_udp does.
// kWouldBlock when empty (the caller decides whether to wait); 0 bytes after SHUT_RD unless
// MSG_DONTWAIT (which the front end sets for O_NONBLOCK sockets).
Result<RecvResult> dgram_recvmsg(Socket& sock, DgramQueue& q, const RecvMsg& msg, int flags);

// Linux datagram_poll, for UDP and ping sockets alike: writable (with WRBAND) while the send
// buffer has room, which it always has here (a datagram leaves the socket at once), shut
// down for writing or not; readable with a datagram queued or after SHUT_RD.
PollMask dgram_poll(const Socket& sock, const DgramQueue& q);

// FIONREAD/SIOCINQ: the size of the next datagram (udp(7)); SIOCOUTQ: 0, since a datagram
// leaves the socket when sent.
Result<int> dgram_ioctl(const DgramQueue& q, unsigned long request);

// Gathers the iovecs of a message into one contiguous payload after `headroom` bytes.
Packet gather(const SendMsg& msg, std::size_t headroom);

}  // namespace usnet
