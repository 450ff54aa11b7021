// A usnet object with a descriptor that is not a socket: an epoll instance or a completion
// ring (Linux's anon-inode files). The descriptor map (api/handles.h) and calls in
// progress hold it by shared_ptr, so it lives until the last of them lets go; on_close()
// is close() of its descriptor (an epoll instance detaches from the sockets it watches
// only when the last call using it returns, as Linux releases it at the last fput).
#pragma once

namespace usnet {

class FileObject {
 public:
  FileObject() = default;
  virtual ~FileObject() = default;
  FileObject(const FileObject&) = delete;
  FileObject& operator=(const FileObject&) = delete;
  virtual void on_close() {}
  // The kernel descriptor the object works through, which is also the one the user was
  // given (an epoll instance's kernel epoll). When the user closes it while a duplicate
  // stays open, the object moves to that duplicate (api/handles.h keeps own_fd() one of
  // the object's open descriptors).
  virtual int own_fd() const noexcept { return -1; }
  virtual void move_to(int /*fd*/) noexcept {}
};

}  // namespace usnet
