// The preload library's internal interface (hidden inside libusnet_preload.so): what the
// interposed calls (src/preload/*_shim.cpp) and the name resolver (resolver*.cpp) share.
// The contract with `usnet run` and the resolver is written in src/preload/README.md.
#pragma once

#include <signal.h>
#include <sys/socket.h>

#include "preload/real_calls.h"

struct usnet_stack;

namespace usnet::preload {

// The re-entry guard: true while this thread runs usnet code on behalf of an interposed
// call. Calls usnet itself makes then (eventfd, dup3, poll, read of a waker, ...) and the
// ones libc, fmt or an allocation make inside them go straight to the kernel.
// initial-exec: a preloaded library sits in the static TLS block, so the access is one
// load from the thread pointer and never allocates (no __tls_get_addr).
extern thread_local bool t_inside __attribute__((tls_model("initial-exec")));

inline bool inside() noexcept {
  return t_inside;
}

// The signal mask of the ppoll, pselect or epoll_pwait this thread is in, while usnet runs
// it: usnet's own sleeping poll/epoll_wait then become the kernel's ppoll/epoll_pwait with
// this mask, so the mask is set atomically with the sleep, as the kernel's calls set it.
extern thread_local const sigset_t* t_wait_mask __attribute__((tls_model("initial-exec")));

class Inside {
 public:
  Inside() noexcept : prev_(t_inside) { t_inside = true; }
  ~Inside() { t_inside = prev_; }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;

 private:
  bool prev_;
};

// USNET_TAP is set and this process may use usnet: it is not a child forked from a process
// that had a stack (such a child's sockets go to the kernel, README "Process model"; a
// child of a process without one, as a server that daemonizes first, may start its own).
// Reads the environment once; does not start the stack.
bool configured() noexcept;

// Starts the stack on first use (the environment of README "Running programs on usnet");
// false if usnet does not serve this process (no USNET_TAP, a forked child, or the stack
// could not start: said once on stderr).
bool ensure_stack();

// The stack, once ensure_stack() returned true; else null.
usnet_stack* stack() noexcept;

// The "what goes where" decision for a destination (connect, sendto, a name server): true
// if usnet carries traffic to it. AF_INET and AF_INET6 (a v4-mapped address by its IPv4
// rule); other families go to the kernel. Loopback (127/8, ::1, and 0.0.0.0 or ::, which
// Linux treats as this host) only with USNET_LOOPBACK=usnet; a link-local or multicast
// IPv6 address only with a scope id naming usnet's interface; else an address of usnet's
// interfaces, one its IPv4 routes reach, or one in an on-link IPv6 prefix of usnet's.
// Starts the stack if it has to look.
bool served_by_usnet(const sockaddr* addr, socklen_t len);

// The same for a local address a socket binds to: the wildcard (0.0.0.0, ::), an address of
// usnet's interfaces (or a broadcast address of theirs; a link-local one with a scope id
// naming usnet's interface), loopback only with USNET_LOOPBACK=usnet.
bool bound_by_usnet(const sockaddr* addr, socklen_t len);

// USNET_ADDR gave usnet an IPv4 address / an IPv6 address other than link-local (the one
// every interface has): what AI_ADDRCONFIG asks, and whether an IPv6-only socket bound to
// `::` is usnet's. False before the stack started.
bool usnet_has_ipv4() noexcept;
bool usnet_has_ipv6() noexcept;

// USNET_LOOPBACK=usnet: 127/8 and ::1 stay in usnet (default: the kernel's).
bool loopback_in_usnet() noexcept;

// USNET_PRELOAD_DEBUG=1: one line on stderr per routing decision.
bool debug() noexcept;
void debug_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Set once a usnet descriptor may exist in this process (the stack started, or a usnet
// epoll instance was made): until then poll and select need not look at their sets.
bool usnet_in_use() noexcept;
void note_usnet_in_use() noexcept;

}  // namespace usnet::preload
