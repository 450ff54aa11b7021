#include "transport/datagram.h"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "socket/sock_calls.h"

namespace usnet {

Result<int> dgram_ioctl(const DgramQueue& q, unsigned long request) {
  switch (request) {
    case FIONREAD:
      return q.empty() ? 0 : static_cast<int>(q.front().data.size());
    case SIOCOUTQ:
      return 0;
    default:
      return Error::kBadIoctl;
  }
}

bool DgramQueue::enqueue(Datagram d, int rcvbuf) {
  if (mem_ > static_cast<std::size_t>(rcvbuf)) return false;
  mem_ += d.data.size() + kDatagramOverhead;
  q_.push_back(std::move(d));
  return true;
}

void DgramQueue::pop() {
  mem_ -= q_.front().data.size() + kDatagramOverhead;
  q_.pop_front();
}

void DgramQueue::clear() {
  q_.clear();
  mem_ = 0;
}

Result<RecvResult> dgram_recvmsg(Socket& sock, DgramQueue& q, const RecvMsg& msg, int flags) {
  if (auto e = sock.take_error()) return *e;
  if (q.empty()) {
    // After SHUT_RD a call that would wait returns end-of-file instead, as Linux's
    // __skb_wait_for_more_packets does; a non-blocking one still says EAGAIN.
    if (sock.shut_rd && (flags & MSG_DONTWAIT) == 0) return RecvResult{};
    return Error::kWouldBlock;
  }
  const Datagram& d = q.front();
  RecvResult r;
  r.full_len = d.data.size();
  r.from = d.from;
  r.copied = msg.scatter(d.data.data());
  if (r.copied < r.full_len) r.msg_flags |= MSG_TRUNC;
  r.rx_stamp = d.stamp;
  sock_recv_timestamp(sock, r);
  if ((flags & MSG_PEEK) == 0) q.pop();
  return r;
}

Packet gather(const SendMsg& msg, std::size_t headroom) {
  Packet p(msg.total(), headroom);
  for (auto b : msg.iov)
    p.append(b);
  return p;
}

PollMask dgram_poll(const Socket& sock, const DgramQueue& q) {
  PollMask m = POLLOUT | POLLWRNORM | POLLWRBAND;
  if (!q.empty() || sock.shut_rd) m |= POLLIN | POLLRDNORM;
  if (sock.pending_error) m |= POLLERR;
  if (sock.shut_rd && sock.shut_wr) m |= POLLHUP;
  if (sock.shut_rd) m |= POLLRDHUP;
  return m;
}

}  // namespace usnet
