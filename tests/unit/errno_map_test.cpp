#include "base/errno_map.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

namespace usnet {
namespace {

// The table at the API edge, spelled out once more by hand: a change to one side must be a
// deliberate change to both.
TEST(ErrnoMap, EveryErrorHasItsLinuxErrno) {
  const std::pair<Error, int> expected[] = {
      {Error::kWouldBlock, EAGAIN},
      {Error::kInProgress, EINPROGRESS},
      {Error::kAlreadyInProgress, EALREADY},
      {Error::kInterrupted, EINTR},
      {Error::kInvalidArgument, EINVAL},
      {Error::kBadDescriptor, EBADF},
      {Error::kNotSocket, ENOTSOCK},
      {Error::kFault, EFAULT},
      {Error::kAddressFamilyNotSupported, EAFNOSUPPORT},
      {Error::kProtocolNotSupported, EPROTONOSUPPORT},
      {Error::kSocketTypeNotSupported, ESOCKTNOSUPPORT},
      {Error::kWrongProtocolType, EPROTOTYPE},
      {Error::kOperationNotSupported, EOPNOTSUPP},
      {Error::kNoProtocolOption, ENOPROTOOPT},
      {Error::kAddressInUse, EADDRINUSE},
      {Error::kAddressNotAvailable, EADDRNOTAVAIL},
      {Error::kNetworkUnreachable, ENETUNREACH},
      {Error::kHostUnreachable, EHOSTUNREACH},
      {Error::kConnectionRefused, ECONNREFUSED},
      {Error::kConnectionReset, ECONNRESET},
      {Error::kConnectionAborted, ECONNABORTED},
      {Error::kTimedOut, ETIMEDOUT},
      {Error::kNotConnected, ENOTCONN},
      {Error::kAlreadyConnected, EISCONN},
      {Error::kDestinationRequired, EDESTADDRREQ},
      {Error::kMessageTooLong, EMSGSIZE},
      {Error::kNoBufferSpace, ENOBUFS},
      {Error::kNoMemory, ENOMEM},
      {Error::kTooManyOpenFiles, EMFILE},
      {Error::kPermissionDenied, EACCES},
      {Error::kNotPermitted, EPERM},
      {Error::kBrokenPipe, EPIPE},
      {Error::kShutdown, EPIPE},
      {Error::kNetworkDown, ENETDOWN},
      {Error::kProtocolError, EPROTO},
      {Error::kNoDevice, ENODEV},
      {Error::kNotSupported, ENOSYS},
      {Error::kOutOfDomain, EDOM},
      {Error::kBadIoctl, ENOTTY},
      {Error::kNoEntry, ENOENT},
      {Error::kAlreadyExists, EEXIST},
      {Error::kCanceled, ECANCELED},
      {Error::kTimerExpired, ETIME},
      {Error::kNoBuffers, ENOBUFS},
  };
  std::set<Error> seen;
  for (auto [e, errnum] : expected) {
    EXPECT_EQ(to_errno(e), errnum) << error_name(e);
    seen.insert(e);
  }
  // Every enumerator is listed above (the enum is dense from 0).
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(Error::kNoBuffers) + 1);
}

}  // namespace
}  // namespace usnet
