// Typed errors inside the stack; errno only at the API edge (api/errno_map.cpp holds the
// one table that maps them, and tests/unit/errno_map_test.cpp checks it).
#pragma once

#include <cassert>
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace usnet {

// One entry per distinct failure a caller can see. Named for what went wrong, not for the
// errno it becomes, so a layer never has to think in errno.
enum class Error : std::uint8_t {
  kWouldBlock,                 // EAGAIN
  kInProgress,                 // EINPROGRESS
  kAlreadyInProgress,          // EALREADY
  kInterrupted,                // EINTR
  kInvalidArgument,            // EINVAL
  kBadDescriptor,              // EBADF
  kNotSocket,                  // ENOTSOCK
  kFault,                      // EFAULT
  kAddressFamilyNotSupported,  // EAFNOSUPPORT
  kProtocolNotSupported,       // EPROTONOSUPPORT
  kSocketTypeNotSupported,     // ESOCKTNOSUPPORT / EPROTOTYPE handled at the edge
  kWrongProtocolType,          // EPROTOTYPE
  kOperationNotSupported,      // EOPNOTSUPP
  kNoProtocolOption,           // ENOPROTOOPT
  kAddressInUse,               // EADDRINUSE
  kAddressNotAvailable,        // EADDRNOTAVAIL
  kNetworkUnreachable,         // ENETUNREACH
  kHostUnreachable,            // EHOSTUNREACH
  kConnectionRefused,          // ECONNREFUSED
  kConnectionReset,            // ECONNRESET
  kConnectionAborted,          // ECONNABORTED
  kTimedOut,                   // ETIMEDOUT
  kNotConnected,               // ENOTCONN
  kAlreadyConnected,           // EISCONN
  kDestinationRequired,        // EDESTADDRREQ
  kMessageTooLong,             // EMSGSIZE
  kNoBufferSpace,              // ENOBUFS
  kNoMemory,                   // ENOMEM
  kTooManyOpenFiles,           // EMFILE
  kPermissionDenied,           // EACCES
  kNotPermitted,               // EPERM
  kBrokenPipe,                 // EPIPE
  kShutdown,                   // ESHUTDOWN (internal; the edge reports EPIPE as Linux does)
  kNetworkDown,                // ENETDOWN
  kProtocolError,              // EPROTO
  kNoDevice,                   // ENODEV
  kNotSupported,               // ENOSYS-like: a call usnet does not implement yet
  kOutOfDomain,                // EDOM (a timeval with tv_usec out of range)
  kBadIoctl,                   // ENOTTY (an ioctl the socket does not know)
  kNoEntry,                    // ENOENT (TCP_CONGESTION with an unknown name)
  kAlreadyExists,              // EEXIST (EPOLL_CTL_ADD of a watched descriptor)
  kCanceled,                   // ECANCELED (a cancelled completion-ring operation)
  kTimerExpired,               // ETIME (a completion-ring timeout that ran out)
  kNoBuffers,                  // ENOBUFS from an empty provided-buffer ring (io_uring's)
};

std::string_view error_name(Error e) noexcept;

// A value or an error (Error inside the stack; wire::ParseError for the byte formats).
// Small on purpose: the stack needs no more than this.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E e) : v_(std::in_place_index<1>, e) {}                     // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  E error() const noexcept {
    assert(!ok());
    const E* e = std::get_if<1>(&v_);  // never null when !ok(); checked, not thrown
    return e != nullptr ? *e : E{};
  }

 private:
  std::variant<T, E> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : err_(e), failed_(true) {}  // NOLINT: implicit by design
  static Status Ok() { return {}; }

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  Error error() const noexcept {
    assert(failed_);
    return err_;
  }

 private:
  Error err_{};
  bool failed_ = false;
};

}  // namespace usnet
