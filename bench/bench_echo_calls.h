// The socket calls the echo benchmark runs its one client and server code through: the
// kernel's own, or usnet's. Same signatures, so the workload is identical on both.
#pragma once

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "usnet/usnet.h"

struct EchoCalls {
  int (*socket)(int, int, int);
  int (*bind)(int, const sockaddr*, socklen_t);
  int (*listen)(int, int);
  int (*accept4)(int, sockaddr*, socklen_t*, int);
  int (*connect)(int, const sockaddr*, socklen_t);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*recv)(int, void*, size_t, int);
  int (*close)(int);
  int (*setsockopt)(int, int, int, const void*, socklen_t);
  int (*getsockname)(int, sockaddr*, socklen_t*);
  int (*fcntl)(int, int, ...);
  int (*epoll_create1)(int);
  int (*epoll_ctl)(int, int, int, epoll_event*);
  int (*epoll_wait)(int, epoll_event*, int, int);
};

inline EchoCalls kernel_calls() {
  return {::socket, ::bind,          ::listen,    ::accept4,    ::connect,
          ::send,   ::recv,          ::close,     ::setsockopt, ::getsockname,
          ::fcntl,  ::epoll_create1, ::epoll_ctl, ::epoll_wait};
}

inline EchoCalls usnet_calls() {
  return {usnet_socket, usnet_bind,          usnet_listen,    usnet_accept4,    usnet_connect,
          usnet_send,   usnet_recv,          usnet_close,     usnet_setsockopt, usnet_getsockname,
          usnet_fcntl,  usnet_epoll_create1, usnet_epoll_ctl, usnet_epoll_wait};
}
