#include "api/sock_ref.h"

#include "socket/fd_table.h"

namespace usnet::api {

SockRef SockRef::get(int fd) {
  SockRef r;
  usnet_stack* h = fd_map().find(fd);
  if (h == nullptr) return r;
  r.lock_ = std::unique_lock<std::mutex>(h->runtime->rt.mutex());
  Socket* s = h->stack->sockets().get(fd);
  if (s == nullptr) return r;  // closed by another thread since the map said otherwise
  r.handle = h;
  r.sock = s;
  Runtime::pin(*s);
  return r;
}

SockRef::SockRef(SockRef&& o) noexcept : handle(o.handle), sock(o.sock), lock_(std::move(o.lock_)) {
  o.sock = nullptr;
  o.handle = nullptr;
}

SockRef::~SockRef() {
  if (sock == nullptr) return;
  rt().unpin(*sock);
}

}  // namespace usnet::api
