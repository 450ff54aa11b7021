#include "base/result.h"

namespace usnet {

std::string_view error_name(Error e) noexcept {
  switch (e) {
    case Error::kWouldBlock:
      return "would block";
    case Error::kInProgress:
      return "in progress";
    case Error::kAlreadyInProgress:
      return "already in progress";
    case Error::kInterrupted:
      return "interrupted";
    case Error::kInvalidArgument:
      return "invalid argument";
    case Error::kBadDescriptor:
      return "bad descriptor";
    case Error::kNotSocket:
      return "not a socket";
    case Error::kFault:
      return "bad address";
    case Error::kAddressFamilyNotSupported:
      return "address family not supported";
    case Error::kProtocolNotSupported:
      return "protocol not supported";
    case Error::kSocketTypeNotSupported:
      return "socket type not supported";
    case Error::kWrongProtocolType:
      return "wrong protocol type";
    case Error::kOperationNotSupported:
      return "operation not supported";
    case Error::kNoProtocolOption:
      return "no such protocol option";
    case Error::kAddressInUse:
      return "address in use";
    case Error::kAddressNotAvailable:
      return "address not available";
    case Error::kNetworkUnreachable:
      return "network unreachable";
    case Error::kHostUnreachable:
      return "host unreachable";
    case Error::kConnectionRefused:
      return "connection refused";
    case Error::kConnectionReset:
      return "connection reset";
    case Error::kConnectionAborted:
      return "connection aborted";
    case Error::kTimedOut:
      return "timed out";
    case Error::kNotConnected:
      return "not connected";
    case Error::kAlreadyConnected:
      return "already connected";
    case Error::kDestinationRequired:
      return "destination address required";
    case Error::kMessageTooLong:
      return "message too long";
    case Error::kNoBufferSpace:
      return "no buffer space";
    case Error::kNoMemory:
      return "out of memory";
    case Error::kTooManyOpenFiles:
      return "too many open files";
    case Error::kPermissionDenied:
      return "permission denied";
    case Error::kNotPermitted:
      return "operation not permitted";
    case Error::kBrokenPipe:
      return "broken pipe";
    case Error::kShutdown:
      return "endpoint shut down";
    case Error::kNetworkDown:
      return "network down";
    case Error::kProtocolError:
      return "protocol error";
    case Error::kNoDevice:
      return "no such device";
    case Error::kNotSupported:
      return "not supported";
    case Error::kOutOfDomain:
      return "argument out of domain";
    case Error::kBadIoctl:
      return "inappropriate ioctl";
    case Error::kNoEntry:
      return "no such entry";
    case Error::kAlreadyExists:
      return "already exists";
    case Error::kCanceled:
      return "cancelled";
    case Error::kTimerExpired:
      return "timer expired";
    case Error::kNoBuffers:
      return "no provided buffers";
  }
  return "unknown error";
}

}  // namespace usnet
