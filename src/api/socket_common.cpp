#include "api/socket_common.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/handles.h"
#include "api/process.h"
#include "api/sockaddr.h"
#include "base/errno_map.h"
#include "socket/sock_calls.h"

namespace usnet::api {

int not_ours_errno(int fd) {
  switch (fd_map().kind(fd)) {
    case FdKind::kInherited:
      note_inherited(fd);
      return EBADF;
    case FdKind::kObject:
      return ENOTSOCK;
    default:
      return fd >= 0 && ::fcntl(fd, F_GETFD) != -1 ? ENOTSOCK : EBADF;
  }
}

Result<std::optional<SockAddr>> msg_dest_from_user(const msghdr& msg) {
  if (msg.msg_name == nullptr) return std::optional<SockAddr>{};
  auto a = sockaddr_in_from_user(static_cast<const sockaddr*>(msg.msg_name), msg.msg_namelen);
  if (!a) return a.error();
  // udp_sendmsg: a name shorter than sockaddr_in is EINVAL; AF_UNSPEC is taken as AF_INET
  // for old programs.
  if (msg.msg_namelen < sizeof(sockaddr_in)) return Error::kInvalidArgument;
  if (a->family == AF_UNSPEC) a->family = AF_INET;
  return std::optional<SockAddr>{*a};
}

Result<SockAddr> connect_addr_from_user(const sockaddr* addr, socklen_t addrlen) {
  auto a = sockaddr_in_from_user(addr, addrlen);
  if (!a) return a.error();
  // inet_dgram_connect: the family must be readable; AF_UNSPEC disconnects; anything else
  // needs a whole sockaddr_in.
  if (addrlen < sizeof(sa_family_t)) return Error::kInvalidArgument;
  if (a->family != AF_UNSPEC && addrlen < sizeof(sockaddr_in)) return Error::kInvalidArgument;
  return *a;
}

namespace {

// Linux put_cmsg for each control message, then msg_controllen is what was written. A
// buffer too small for a header takes nothing; one too small for the data takes the
// truncated message; either way MSG_CTRUNC.
void cmsgs_to_user(const CmsgArea& a, msghdr& msg, int& flags) {
  auto* p = static_cast<unsigned char*>(msg.msg_control);
  std::size_t room = p == nullptr ? 0 : msg.msg_controllen;
  std::size_t written = 0;
  for (std::size_t i = 0; i < a.count; ++i) {
    const CmsgArea::Item& it = a.items[i];
    if (room < sizeof(cmsghdr)) {
      flags |= MSG_CTRUNC;
      break;
    }
    std::size_t cmlen = CMSG_LEN(it.len);
    if (room < cmlen) {
      flags |= MSG_CTRUNC;
      cmlen = room;
    }
    cmsghdr h{};
    h.cmsg_level = it.level;
    h.cmsg_type = it.type;
    h.cmsg_len = cmlen;
    std::memcpy(p + written, &h, sizeof(h));
    std::memcpy(p + written + CMSG_LEN(0), a.data.data() + it.off, cmlen - CMSG_LEN(0));
    const std::size_t step = std::min<std::size_t>(CMSG_SPACE(it.len), room);
    written += step;
    room -= step;
  }
  msg.msg_controllen = written;
}

}  // namespace

Status recv_results_to_user(const RecvResult& r, msghdr& msg) {
  int flags = r.msg_flags;
  cmsgs_to_user(r.cmsg, msg, flags);
  msg.msg_flags = flags;
  if (msg.msg_name == nullptr) return {};
  if (!r.from) {
    msg.msg_namelen = 0;
    return {};
  }
  socklen_t len = msg.msg_namelen;
  if (auto st = sockaddr_to_user(*r.from, static_cast<sockaddr*>(msg.msg_name), &len); !st) {
    return st;
  }
  msg.msg_namelen = len;
  return {};
}

Status accept_args_check(int flags, const sockaddr* addr, const socklen_t* addrlen) {
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return Error::kInvalidArgument;
  if (addr != nullptr && addrlen == nullptr) return Error::kFault;
  if (addr != nullptr && static_cast<int>(*addrlen) < 0) return Error::kInvalidArgument;
  return {};
}

int accept_install(usnet_stack* h, Socket& listener, int flags, sockaddr* addr,
                   socklen_t* addrlen) {
  const int nfd = FdMap::reserve();
  if (nfd < 0) return -(errno == ENFILE ? ENFILE : EMFILE);
  auto r = sock_accept(listener, flags, nfd);
  if (!r) {
    ::close(nfd);
    return -to_errno(r.error());
  }
  auto file = std::make_shared<File>();
  file->stack = h;
  file->sock = *r;
  fd_map().install(nfd, file, (flags & SOCK_CLOEXEC) != 0);
  if (addr != nullptr) {
    if (auto st = sockaddr_to_user((*r)->remote, addr, addrlen); !st) return -to_errno(st.error());
  }
  return nfd;
}

}  // namespace usnet::api
