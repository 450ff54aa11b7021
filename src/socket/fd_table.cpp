#include "socket/fd_table.h"

namespace usnet {

Result<int> SocketTable::install(std::unique_ptr<Socket> sock, int fd) {
  if (table_.size() >= kMaxSockets) return Error::kTooManyOpenFiles;
  if (fd < 0) {
    fd = 3;
    for (const auto& [used, s] : table_) {
      if (used < fd) continue;
      if (used != fd) break;
      ++fd;
    }
  } else if (table_.contains(fd)) {
    return Error::kInvalidArgument;
  }
  sock->fd = fd;
  table_.emplace(fd, std::move(sock));
  return fd;
}

Socket* SocketTable::get(int fd) const noexcept {
  auto it = table_.find(fd);
  return it == table_.end() ? nullptr : it->second.get();
}

std::unique_ptr<Socket> SocketTable::remove(int fd) {
  auto it = table_.find(fd);
  if (it == table_.end()) return nullptr;
  auto s = std::move(it->second);
  table_.erase(it);
  return s;
}

Status SocketTable::rekey(int from, int to) {
  if (table_.contains(to)) return Error::kInvalidArgument;
  auto node = table_.extract(from);
  if (node.empty()) return Error::kInvalidArgument;
  node.key() = to;
  node.mapped()->fd = to;
  table_.insert(std::move(node));
  return {};
}

}  // namespace usnet
