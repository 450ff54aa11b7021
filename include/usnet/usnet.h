/*
 * usnet: the UNIX network system calls, rebuilt in user space.
 *
 * The socket calls below behave like Linux's: same arguments, same results, and -1 with
 * errno set exactly as Linux sets it for the same mistake. Each usnet socket is backed by a
 * kernel descriptor reserved for it, so usnet descriptor numbers never collide with the
 * process's own files; calls on a descriptor that is not a usnet socket fail with ENOTSOCK
 * (an open kernel file) or EBADF (nothing open), as Linux would say.
 *
 * Sockets live on a stack: a user-space host with its own interfaces, addresses, routes and
 * counters. usnet_socket() creates the socket on the calling thread's current stack (see
 * usnet_stack_use); with none chosen, on a process-wide default stack that has only the
 * loopback interface (127.0.0.1).
 *
 * Each runtime runs its stacks (devices, timers) on a network thread of its own, driven by
 * the real clock. Any number of threads may call these functions at once, on any sockets; a
 * blocking call sleeps until it can complete, its SO_RCVTIMEO/SO_SNDTIMEO passes, or a
 * shutdown() from another thread ends it. As on Linux, close() from another thread does not
 * wake a call blocked on the socket: the socket lives until that call returns.
 */
#ifndef USNET_USNET_H
#define USNET_USNET_H

#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- socket calls (socket(2), bind(2), ...) ---- */
int usnet_socket(int domain, int type, int protocol);
int usnet_bind(int fd, const struct sockaddr* addr, socklen_t addrlen);
int usnet_connect(int fd, const struct sockaddr* addr, socklen_t addrlen);
ssize_t usnet_send(int fd, const void* buf, size_t len, int flags);
ssize_t usnet_recv(int fd, void* buf, size_t len, int flags);
ssize_t usnet_sendto(int fd, const void* buf, size_t len, int flags,
                     const struct sockaddr* dest_addr, socklen_t addrlen);
ssize_t usnet_recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* src_addr,
                       socklen_t* addrlen);
ssize_t usnet_sendmsg(int fd, const struct msghdr* msg, int flags);
ssize_t usnet_recvmsg(int fd, struct msghdr* msg, int flags);
ssize_t usnet_write(int fd, const void* buf, size_t len);
ssize_t usnet_read(int fd, void* buf, size_t len);
int usnet_getsockname(int fd, struct sockaddr* addr, socklen_t* addrlen);
int usnet_getpeername(int fd, struct sockaddr* addr, socklen_t* addrlen);
int usnet_setsockopt(int fd, int level, int optname, const void* optval, socklen_t optlen);
int usnet_getsockopt(int fd, int level, int optname, void* optval, socklen_t* optlen);
int usnet_shutdown(int fd, int how);
/* listen(2), accept(2), accept4(2) (flags: SOCK_NONBLOCK, SOCK_CLOEXEC). */
int usnet_listen(int fd, int backlog);
int usnet_accept(int fd, struct sockaddr* addr, socklen_t* addrlen);
int usnet_accept4(int fd, struct sockaddr* addr, socklen_t* addrlen, int flags);
/* FIONREAD/SIOCINQ, SIOCOUTQ, FIONBIO (int* argument). */
int usnet_ioctl(int fd, unsigned long request, ... /* int* arg */);

/* ---- descriptors: close(2), dup(2), fcntl(2) ----
 * A usnet descriptor refers to an open file that refers to the socket, as on Linux:
 * duplicates (usnet_dup, usnet_dup2, usnet_dup3, F_DUPFD, F_DUPFD_CLOEXEC) share the open
 * file, so the socket and its status flags (O_NONBLOCK, F_GETFL/F_SETFL); FD_CLOEXEC
 * (F_GETFD/F_SETFD) belongs to each descriptor, set exactly as SOCK_CLOEXEC, accept4's
 * flags, F_DUPFD_CLOEXEC and dup3's O_CLOEXEC say. The socket is closed when its last
 * descriptor is. On a descriptor that is not usnet's these calls do what the kernel's do,
 * except that a usnet descriptor replaced by usnet_dup2/usnet_dup3 is closed first, as
 * Linux closes newfd.
 *
 * After fork() the child cannot use the parent's usnet sockets (they live in the parent's
 * threads): every usnet descriptor it inherited fails with EBADF, except usnet_close, which
 * succeeds, and a one-line notice on stderr says so once. usnet_socket on a stack of the
 * parent's fails with ENETDOWN there; stacks the child makes work. Blocking calls return
 * EINTR when a signal handler interrupts them, restarting where signal(7) says Linux
 * restarts (SA_RESTART, no SO_RCVTIMEO/SO_SNDTIMEO; never poll, select, epoll_wait). */
int usnet_fcntl(int fd, int cmd, ... /* int arg */);
int usnet_close(int fd);
int usnet_dup(int oldfd);
int usnet_dup2(int oldfd, int newfd);
int usnet_dup3(int oldfd, int newfd, int flags);
/* 1 if fd is a usnet socket, else 0. One atomic load: cheap enough for every call. */
int usnet_is_socket(int fd);

/* ---- readiness: poll(2), select(2), epoll(7) ----
 * The descriptor sets may mix usnet sockets with the process's own kernel descriptors.
 * A usnet epoll instance is itself a kernel descriptor that is readable while it has
 * events, so it can be waited on in the kernel's poll/epoll beside kernel descriptors, and
 * kernel descriptors can be added to it. Semantics follow Linux: level- and edge-triggered,
 * EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLRDHUP; a socket leaves every epoll set when closed. */
int usnet_poll(struct pollfd* fds, nfds_t nfds, int timeout_ms);
int usnet_select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                 struct timeval* timeout);
int usnet_epoll_create(int size);
int usnet_epoll_create1(int flags);
int usnet_epoll_ctl(int epfd, int op, int fd, struct epoll_event* event);
int usnet_epoll_wait(int epfd, struct epoll_event* events, int maxevents, int timeout_ms);

/* ---- runtimes and stacks ---- */
typedef struct usnet_runtime usnet_runtime; /* NOLINT(modernize-use-using): C */
typedef struct usnet_stack usnet_stack;     /* NOLINT(modernize-use-using): C */

/* A runtime drives stacks with the real clock. Returns NULL with errno on failure. */
usnet_runtime* usnet_runtime_new(void);
/* Closes every socket of its stacks, then frees the stacks, devices and the runtime. */
void usnet_runtime_free(usnet_runtime* rt);
/* Runs one pass over the runtime's stacks on the calling thread, then waits up to
 * timeout_ms (0: not at all) for the network thread to take in a packet. */
int usnet_runtime_poll(usnet_runtime* rt, int timeout_ms);

/* A new stack (host) in the runtime. A nonzero seed makes it reproducible (ports, ISNs
 * and the secrets behind them); seed 0 draws all of that from the kernel (getrandom). */
usnet_stack* usnet_stack_new(usnet_runtime* rt, const char* name, uint64_t seed);
/* Sockets created by this thread from now on live on `stack` (NULL: the default stack). */
int usnet_stack_use(usnet_stack* stack);
/* The default stack of every thread that has not chosen one with usnet_stack_use (NULL:
 * the loopback-only stack the library makes on first use). */
int usnet_stack_set_default(usnet_stack* stack);
usnet_stack* usnet_stack_current(void);
usnet_runtime* usnet_stack_runtime(usnet_stack* stack);

/* Attaches a TAP device (created if needed) as an interface. mac NULL: a random local MAC.
 * Returns the ifindex, or -1 with errno. Needs CAP_NET_ADMIN and /dev/net/tun. */
int usnet_stack_add_tap(usnet_stack* stack, const char* tap_name, const char* mac, int mtu);
/* Flags of usnet_stack_add_tap_flags. USNET_TAP_GRO: the kernel may hand over a TCP
 * connection's data coalesced into frames of up to 64 KiB (the TAP is opened with
 * IFF_VNET_HDR and offers TSO and partial checksums, as a virtio NIC does), as GRO gives
 * Linux's own TCP; the MSS usnet announces still follows the MTU. */
#define USNET_TAP_GRO 0x1u
/* usnet_stack_add_tap with flags; EINVAL for an unknown flag, EOPNOTSUPP when the kernel
 * refuses the offload. */
int usnet_stack_add_tap_flags(usnet_stack* stack, const char* tap_name, const char* mac, int mtu,
                              unsigned flags);
/* The kernel-side name of a TAP attached with usnet_stack_add_tap. */
const char* usnet_stack_tap_name(usnet_stack* stack, int ifindex);
/* Records every frame of the interface (both directions) into a pcap file from now on. */
int usnet_stack_capture(usnet_stack* stack, int ifindex, const char* pcap_path);
/* `ip addr add CIDR dev IFINDEX` (an IPv6 CIDR, 2001:db8::2/64, as `ip -6 addr add ... nodad`);
   `ip route add DST via GATEWAY` (gateway NULL: on-link). */
int usnet_stack_add_address(usnet_stack* stack, int ifindex, const char* cidr);
int usnet_stack_add_route(usnet_stack* stack, const char* dst_cidr, const char* gateway,
                          int ifindex);

/* Impairments of one direction of a simulated wire; all zero means a perfect link. */
struct usnet_impairments {
  double loss;      /* probability a frame is lost */
  double duplicate; /* probability a frame is delivered twice */
  double reorder;   /* probability a frame is held back so later ones overtake it */
  double corrupt;   /* probability a frame is damaged: several bits flipped, or bytes or
                       16-bit words swapped (swapped words pass the Internet checksum) */
  uint32_t delay_us;
  uint32_t jitter_us;
  uint64_t rate_bps; /* 0: unlimited */
};

/* Joins two stacks of the same runtime with a memory wire: an interface on each, with the
 * given addresses. impairments NULL: a perfect link. pcap_path non-NULL: every frame on
 * the wire is written there (as seen by a). Returns 0, or -1 with errno. */
int usnet_wire_connect(usnet_stack* a, const char* a_cidr, usnet_stack* b, const char* b_cidr,
                       const struct usnet_impairments* impairments, const char* pcap_path);

/* ---- settings under Linux's sysctl names (sysctl(8), Linux ip-sysctl.rst) ----
 * Each stack has its own copy of the net.ipv4.* and net.core.* settings usnet has, with
 * Linux's defaults and Linux's effect (tcp_rmem decides the window scale of a SYN,
 * tcp_timestamps=0 sends no timestamps, ip_local_port_range bounds ephemeral ports, ...);
 * changes apply to what happens next (a new socket, the next SYN), as on Linux. Names are
 * dotted or slashed ("net.ipv4.tcp_rmem", "net/ipv4/tcp_rmem"); values are parsed and printed
 * as the kernel's /proc/sys handlers do: numbers in C syntax, vectors separated by white
 * space on input and by tabs on output. `stack` NULL: the calling thread's current stack.
 * Each returns 0, or -1 with errno: ENOENT for a name usnet does not have (and for a
 * tcp_congestion_control it does not have), EINVAL for a value the kernel would refuse
 * (not a number, out of range, ip_local_port_range reversed or below
 * ip_unprivileged_port_start), EACCES for a read-only name. */
/* The value of `name`, NUL-terminated, into buf (ERANGE if it does not fit). */
int usnet_sysctl_get(usnet_stack* stack, const char* name, char* buf, size_t len);
int usnet_sysctl_set(usnet_stack* stack, const char* name, const char* value);
/* "name=value;name=value" (the format of the USNET_SYSCTL environment variable): every
 * assignment is tried; a name with a leading '-' may fail silently. errno: the first failure. */
int usnet_sysctl_apply(usnet_stack* stack, const char* list);
/* A file in sysctl.conf(5) syntax (USNET_SYSCTL_FILE): `name = value` per line, '#' and ';'
 * comments, blank lines, '-' before a name to ignore its errors. errno: the file's open
 * error, else the first failed line's. */
int usnet_sysctl_load_file(usnet_stack* stack, const char* path);

/* Call tracing: each call's and each packet's path through the layers, to stderr.
 * Also enabled for every new stack by the environment variable USNET_TRACE=1. */
int usnet_trace(usnet_stack* stack, int enable);
/* Writes the stack's counters (as `nstat -a`: name and value, one per line) to fd. */
int usnet_stack_dump_counters(usnet_stack* stack, int fd);
/* Runs the stack for up to timeout_ms while connections closed by the program still hold
 * data or a FIN the peer has not acknowledged (FIN_WAIT_1, CLOSING, LAST_ACK), as the kernel
 * goes on delivering them after a process exits. Returns how many are left (0: all
 * delivered). Call it before freeing the runtime of a program about to exit. */
int usnet_stack_drain(usnet_stack* stack, int timeout_ms);
/* Writes the stack's TCP sockets (as `ss -tni`: state, queues, cwnd, rtt, retransmits) to fd. */
int usnet_stack_dump_sockets(usnet_stack* stack, int fd);

#ifdef __cplusplus
}
#endif

#endif /* USNET_USNET_H */
