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
};

}  // namespace usnet
