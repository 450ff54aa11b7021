// The pieces of the socket calls' front end that the C calls (socket_calls.cpp) and the
// completion ring's operations (ring_ops.cpp) share, so both check arguments and fill in
// results exactly alike. Each is one non-blocking step; callers hold the socket's runtime
// lock where a Socket is passed.
#pragma once

#include <sys/socket.h>

#include <climits>
#include <cstddef>
#include <optional>
#include <vector>

#include "base/result.h"
#include "socket/socket.h"
#include "usnet/usnet.h"

namespace usnet::api {

constexpr std::size_t kMaxIov = 1024;  // UIO_MAXIOV

// A descriptor that is not a usnet socket: ENOTSOCK if the process has it open, else EBADF.
int not_ours_errno(int fd);

// Linux import_iovec: at most UIO_MAXIOV entries (EMSGSIZE), no null buffer with a length
// (EFAULT), and a total that fits in ssize_t (EINVAL).
template <typename SpanT>
Status import_iovec(const msghdr& msg, std::vector<SpanT>& out) {
  if (msg.msg_iovlen > kMaxIov) return Error::kMessageTooLong;
  if (msg.msg_iovlen > 0 && msg.msg_iov == nullptr) return Error::kFault;
  out.reserve(msg.msg_iovlen);
  std::size_t total = 0;
  for (std::size_t i = 0; i < msg.msg_iovlen; ++i) {
    const iovec& v = msg.msg_iov[i];
    if (v.iov_len > 0 && v.iov_base == nullptr) return Error::kFault;
    if (v.iov_len > static_cast<std::size_t>(SSIZE_MAX) - total) return Error::kInvalidArgument;
    total += v.iov_len;
    out.emplace_back(static_cast<typename SpanT::pointer>(v.iov_base), v.iov_len);
  }
  return {};
}

// The buffers of `iov` past its first `skip` bytes (what a partial send or read left).
template <typename SpanT>
void iov_after(const std::vector<SpanT>& iov, std::size_t skip, std::vector<SpanT>& out) {
  out.clear();
  for (SpanT b : iov) {
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    out.push_back(b.subspan(skip));
    skip = 0;
  }
}

// sendmsg's destination (msg_name), checked as udp_sendmsg does; none when msg_name is null.
Result<std::optional<SockAddr>> msg_dest_from_user(const msghdr& msg);

// connect()'s address, checked as inet_dgram_connect / inet_stream_connect do.
Result<SockAddr> connect_addr_from_user(const sockaddr* addr, socklen_t addrlen);

// recvmsg's results into the caller's msghdr: msg_flags, and msg_name / msg_namelen.
Status recv_results_to_user(const RecvResult& r, msghdr& msg);

// accept4()'s pointer checks, before waiting: EFAULT, EINVAL.
Status accept_args_check(int flags, const sockaddr* addr, const socklen_t* addrlen);

// The second half of accept4() once the listener is readable: a kernel descriptor reserved,
// the connection installed under it (sock_accept), the peer's address written out. The new
// descriptor, or -errno (EAGAIN if the connection was taken meanwhile).
int accept_install(usnet_stack* h, Socket& listener, int flags, sockaddr* addr, socklen_t* addrlen);

}  // namespace usnet::api
