#include "api/sock_ref.h"

namespace usnet::api {

SockRef SockRef::get(int fd) {
  SockRef r;
  if (fd_map().kind(fd) != FdKind::kSocket) return r;
  auto file = fd_map().get(fd);
  if (!file || file->stack == nullptr) return r;
  r.lock_ = std::unique_lock<std::mutex>(file->stack->runtime->rt.mutex());
  Socket* s = file->sock;
  if (s == nullptr) return r;  // its last descriptor closed by another thread meanwhile
  r.handle = file->stack;
  r.sock = s;
  r.file = std::move(file);
  Runtime::pin(*s);
  return r;
}

SockRef::SockRef(SockRef&& o) noexcept
    : handle(o.handle), sock(o.sock), file(std::move(o.file)), lock_(std::move(o.lock_)) {
  o.sock = nullptr;
  o.handle = nullptr;
}

SockRef::~SockRef() {
  if (sock == nullptr) return;
  rt().unpin(*sock);
}

}  // namespace usnet::api
