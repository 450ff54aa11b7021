#include "base/errno_map.h"

#include <cerrno>

namespace usnet {

int to_errno(Error e) noexcept {
  switch (e) {
    case Error::kWouldBlock:
      return EAGAIN;
    case Error::kInProgress:
      return EINPROGRESS;
    case Error::kAlreadyInProgress:
      return EALREADY;
    case Error::kInterrupted:
      return EINTR;
    case Error::kInvalidArgument:
      return EINVAL;
    case Error::kBadDescriptor:
      return EBADF;
    case Error::kNotSocket:
      return ENOTSOCK;
    case Error::kFault:
      return EFAULT;
    case Error::kAddressFamilyNotSupported:
      return EAFNOSUPPORT;
    case Error::kProtocolNotSupported:
      return EPROTONOSUPPORT;
    case Error::kSocketTypeNotSupported:
      return ESOCKTNOSUPPORT;
    case Error::kWrongProtocolType:
      return EPROTOTYPE;
    case Error::kOperationNotSupported:
      return EOPNOTSUPP;
    case Error::kNoProtocolOption:
      return ENOPROTOOPT;
    case Error::kAddressInUse:
      return EADDRINUSE;
    case Error::kAddressNotAvailable:
      return EADDRNOTAVAIL;
    case Error::kNetworkUnreachable:
      return ENETUNREACH;
    case Error::kHostUnreachable:
      return EHOSTUNREACH;
    case Error::kConnectionRefused:
      return ECONNREFUSED;
    case Error::kConnectionReset:
      return ECONNRESET;
    case Error::kConnectionAborted:
      return ECONNABORTED;
    case Error::kTimedOut:
      return ETIMEDOUT;
    case Error::kNotConnected:
      return ENOTCONN;
    case Error::kAlreadyConnected:
      return EISCONN;
    case Error::kDestinationRequired:
      return EDESTADDRREQ;
    case Error::kMessageTooLong:
      return EMSGSIZE;
    case Error::kNoBufferSpace:
      return ENOBUFS;
    case Error::kNoMemory:
      return ENOMEM;
    case Error::kTooManyOpenFiles:
      return EMFILE;
    case Error::kPermissionDenied:
      return EACCES;
    case Error::kNotPermitted:
      return EPERM;
    case Error::kBrokenPipe:
      return EPIPE;
    case Error::kShutdown:
      return EPIPE;
    case Error::kNetworkDown:
      return ENETDOWN;
    case Error::kProtocolError:
      return EPROTO;
    case Error::kNoDevice:
      return ENODEV;
    case Error::kNotSupported:
      return ENOSYS;
    case Error::kOutOfDomain:
      return EDOM;
    case Error::kBadIoctl:
      return ENOTTY;
    case Error::kNoEntry:
      return ENOENT;
    case Error::kAlreadyExists:
      return EEXIST;
    case Error::kCanceled:
      return ECANCELED;
    case Error::kTimerExpired:
      return ETIME;
    case Error::kNoBuffers:
      return ENOBUFS;
  }
  return EINVAL;
}

}  // namespace usnet
