#include "preload/real_calls.h"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace usnet::preload {
namespace {

template <typename F>
void resolve(F& slot, const char* name, bool required = true) {
  void* p = ::dlsym(RTLD_NEXT, name);
  if (p == nullptr && required) {
    // No libc below us has it: nothing sensible is left to call.
    static const char msg[] = "usnet preload: a libc call could not be resolved: ";
    (void)!::syscall(SYS_write, STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)!::syscall(SYS_write, STDERR_FILENO, name, std::strlen(name));
    (void)!::syscall(SYS_write, STDERR_FILENO, "\n", 1);
    std::abort();
  }
  slot = reinterpret_cast<F>(p);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym
}

RealCalls resolve_all() {
  RealCalls r{};
  resolve(r.socket, "socket");
  resolve(r.bind, "bind");
  resolve(r.listen, "listen");
  resolve(r.accept, "accept");
  resolve(r.accept4, "accept4");
  resolve(r.connect, "connect");
  resolve(r.send, "send");
  resolve(r.sendto, "sendto");
  resolve(r.sendmsg, "sendmsg");
  resolve(r.sendmmsg, "sendmmsg");
  resolve(r.recv, "recv");
  resolve(r.recvfrom, "recvfrom");
  resolve(r.recvmsg, "recvmsg");
  resolve(r.recvmmsg, "recvmmsg");
  resolve(r.read, "read");
  resolve(r.write, "write");
  resolve(r.readv, "readv");
  resolve(r.writev, "writev");
  resolve(r.read_chk, "__read_chk");
  resolve(r.recv_chk, "__recv_chk");
  resolve(r.recvfrom_chk, "__recvfrom_chk");
  resolve(r.sendfile, "sendfile");
  resolve(r.splice, "splice");
  resolve(r.close, "close");
  resolve(r.close_range, "close_range", false);
  resolve(r.shutdown, "shutdown");
  resolve(r.dup, "dup");
  resolve(r.dup2, "dup2");
  resolve(r.dup3, "dup3");
  resolve(r.fcntl, "fcntl");
  resolve(r.fcntl64, "fcntl64", false);
  resolve(r.ioctl, "ioctl");
  resolve(r.getsockname, "getsockname");
  resolve(r.getpeername, "getpeername");
  resolve(r.getsockopt, "getsockopt");
  resolve(r.setsockopt, "setsockopt");
  resolve(r.poll, "poll");
  resolve(r.ppoll, "ppoll");
  resolve(r.poll_chk, "__poll_chk");
  resolve(r.ppoll_chk, "__ppoll_chk");
  resolve(r.select, "select");
  resolve(r.pselect, "pselect");
  resolve(r.epoll_create, "epoll_create");
  resolve(r.epoll_create1, "epoll_create1");
  resolve(r.epoll_ctl, "epoll_ctl");
  resolve(r.epoll_wait, "epoll_wait");
  resolve(r.epoll_pwait, "epoll_pwait");
  resolve(r.epoll_pwait2, "epoll_pwait2", false);
  resolve(r.getifaddrs, "getifaddrs");
  resolve(r.freeifaddrs, "freeifaddrs");
  resolve(r.if_nametoindex, "if_nametoindex");
  resolve(r.if_indextoname, "if_indextoname");
  resolve(r.if_nameindex, "if_nameindex");
  resolve(r.if_freenameindex, "if_freenameindex");
  resolve(r.fork, "fork");
  resolve(r.execve, "execve");
  resolve(r.execvpe, "execvpe");
  resolve(r.fexecve, "fexecve");
  resolve(r.posix_spawn, "posix_spawn");
  resolve(r.posix_spawnp, "posix_spawnp");
  return r;
}

}  // namespace

const RealCalls& real() noexcept {
  static const RealCalls calls = resolve_all();
  return calls;
}

}  // namespace usnet::preload
