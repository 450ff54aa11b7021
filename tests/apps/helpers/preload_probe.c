/*
 * A small program for tests/apps/preload_test.cpp: each mode makes the calls of one item
 * of issue 8 (items 3-5) the way an ordinary C program does, with no knowledge of usnet, and
 * checks what it gets. Run under LD_PRELOAD=libusnet_preload.so it exercises the preload;
 * run without it, the same modes are the kernel-side peers.
 *
 * Where a socket lives is read from /proc/self/fd: a usnet socket is the kernel eventfd
 * reserved for it ("anon_inode:[eventfd]"), a kernel socket is "socket:[inode]".
 *
 * Output: lines the test parses ("LISTENING", "OK ...", "BYTES n HASH h"); on a failed
 * check a line "FAIL: ..." on stdout and exit status 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("FAIL: ");
  vprintf(fmt, ap);
  printf(" (errno %d: %s)\n", errno, strerror(errno));
  va_end(ap);
  fflush(stdout);
  exit(1);
}

#define CHECK(cond, ...)            \
  do {                              \
    if (!(cond)) fail(__VA_ARGS__); \
  } while (0)

/* "usnet", "kernel" or "other": where descriptor fd lives. */
static const char* where(int fd) {
  char path[64];
  char target[128] = {0};
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  if (readlink(path, target, sizeof(target) - 1) < 0) return "closed";
  if (strcmp(target, "anon_inode:[eventfd]") == 0) return "usnet";
  if (strncmp(target, "socket:[", 8) == 0) return "kernel";
  return "other";
}

static void expect_where(int fd, const char* expect, const char* what) {
  const char* w = where(fd);
  CHECK(strcmp(w, expect) == 0, "%s: fd %d is %s, expected %s", what, fd, w, expect);
}

/* The byte at offset i of every test stream: not periodic at any power of two. */
static unsigned char pattern(uint64_t i) {
  return (unsigned char)((i * 131 + (i >> 9) * 7 + 11) & 0xff);
}

static uint64_t fnv(uint64_t h, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}
#define FNV_INIT 14695981039346656037ULL

static struct sockaddr_in addr_of(const char* ip, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1, "bad address %s", ip);
  return a;
}

static int tcp_connect(const char* ip, int port, int flags) {
  int s = socket(AF_INET, SOCK_STREAM | flags, 0);
  CHECK(s >= 0, "socket");
  struct sockaddr_in a = addr_of(ip, port);
  CHECK(connect(s, (struct sockaddr*)&a, sizeof(a)) == 0, "connect %s:%d", ip, port);
  return s;
}

static int tcp_listen(const char* ip, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(s >= 0, "socket");
  int one = 1;
  CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0, "SO_REUSEADDR");
  struct sockaddr_in a = addr_of(ip, port);
  CHECK(bind(s, (struct sockaddr*)&a, sizeof(a)) == 0, "bind %s:%d", ip, port);
  CHECK(listen(s, 16) == 0, "listen");
  return s;
}

static void write_all(int fd, const void* buf, size_t n) {
  const char* p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    CHECK(w > 0, "write");
    p += w;
    n -= (size_t)w;
  }
}

/* Sends n pattern bytes, half-closes, reads the echo back and checks every byte. Writes
 * only when poll says there is room, so neither side blocks on a full buffer. */
static void echo_roundtrip(int s, uint64_t n) {
  unsigned char buf[16384];
  uint64_t sent = 0, got = 0;
  if (n == 0) CHECK(shutdown(s, SHUT_WR) == 0, "shutdown");
  while (got < n) {
    struct pollfd p = {s, (short)(POLLIN | (sent < n ? POLLOUT : 0)), 0};
    CHECK(poll(&p, 1, 5000) == 1, "echo stalled at %llu sent, %llu back", (unsigned long long)sent,
          (unsigned long long)got);
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(s, buf, sizeof(buf));
      CHECK(r > 0, "read echo at %llu of %llu", (unsigned long long)got, (unsigned long long)n);
      for (ssize_t i = 0; i < r; ++i)
        CHECK(buf[i] == pattern(got + (uint64_t)i), "echo byte %llu differs",
              (unsigned long long)(got + (uint64_t)i));
      got += (uint64_t)r;
    }
    if (sent < n && (p.revents & POLLOUT)) {
      size_t k = sizeof(buf);
      if (n - sent < k) k = (size_t)(n - sent);
      for (size_t i = 0; i < k; ++i)
        buf[i] = pattern(sent + i);
      ssize_t w = send(s, buf, k, MSG_DONTWAIT);
      CHECK(w > 0 || (w < 0 && errno == EAGAIN), "send");
      if (w > 0) sent += (uint64_t)w;
      if (sent == n) CHECK(shutdown(s, SHUT_WR) == 0, "shutdown");
    }
  }
  char extra;
  CHECK(read(s, &extra, 1) == 0, "no end of stream after the echo");
}

/* Echoes one connection until end of stream. */
static void echo_one(int l) {
  int c = accept(l, NULL, NULL);
  CHECK(c >= 0, "accept");
  char buf[16384];
  for (;;) {
    ssize_t r = read(c, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    CHECK(r >= 0, "read");
    if (r == 0) break;
    write_all(c, buf, (size_t)r);
  }
  close(c);
}

static void listening(void) {
  printf("LISTENING\n");
  fflush(stdout);
}

/* echo-server IP PORT EXPECT: echoes one TCP connection. */
static int echo_server(char** a) {
  int l = tcp_listen(a[0], atoi(a[1]));
  expect_where(l, a[2], "listener");
  listening();
  echo_one(l);
  printf("OK echoed\n");
  return 0;
}

/* echo-client IP PORT N EXPECT */
static int echo_client(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, a[3], "client");
  echo_roundtrip(s, strtoull(a[2], NULL, 10));
  close(s);
  printf("OK echo %s\n", a[2]);
  return 0;
}

/* sink IP PORT: reads one connection to its end; prints the byte count and digest. */
static int sink(char** a) {
  int l = tcp_listen(a[0], atoi(a[1]));
  listening();
  int c = accept(l, NULL, NULL);
  CHECK(c >= 0, "accept");
  unsigned char buf[65536];
  uint64_t n = 0, h = FNV_INIT;
  for (;;) {
    ssize_t r = read(c, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    CHECK(r >= 0, "read");
    if (r == 0) break;
    h = fnv(h, buf, (size_t)r);
    n += (uint64_t)r;
  }
  printf("BYTES %llu HASH %016llx\n", (unsigned long long)n, (unsigned long long)h);
  return 0;
}

/* digest FILE: the same line for a file, to compare with. */
static int digest(char** a) {
  int f = open(a[0], O_RDONLY);
  CHECK(f >= 0, "open %s", a[0]);
  unsigned char buf[65536];
  uint64_t n = 0, h = FNV_INIT;
  ssize_t r;
  while ((r = read(f, buf, sizeof(buf))) > 0) {
    h = fnv(h, buf, (size_t)r);
    n += (uint64_t)r;
  }
  printf("BYTES %llu HASH %016llx\n", (unsigned long long)n, (unsigned long long)h);
  return 0;
}

/* sendfile IP PORT FILE: the whole file to a sink, in two calls (an offset, then the file
 * position), on a usnet socket. */
static int send_file(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "sendfile socket");
  int f = open(a[2], O_RDONLY);
  CHECK(f >= 0, "open %s", a[2]);
  struct stat st;
  CHECK(fstat(f, &st) == 0, "fstat");
  off_t half = st.st_size / 2, off = 0;
  while (off < half) {
    ssize_t n = sendfile(s, f, &off, (size_t)(half - off));
    CHECK(n > 0, "sendfile with offset");
  }
  CHECK(lseek(f, 0, SEEK_CUR) == 0, "sendfile with an offset moved the file position");
  CHECK(lseek(f, half, SEEK_SET) == half, "lseek");
  off_t left = st.st_size - half;
  while (left > 0) {
    ssize_t n = sendfile(s, f, NULL, (size_t)left);
    CHECK(n > 0, "sendfile from the file position");
    left -= n;
  }
  CHECK(lseek(f, 0, SEEK_CUR) == st.st_size, "file position after sendfile");
  close(s);
  printf("OK sendfile %lld\n", (long long)st.st_size);
  return 0;
}

/* udp-echo-server IP PORT EXPECT: answers one datagram. */
static int udp_echo_server(char** a) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(s >= 0, "socket");
  struct sockaddr_in me = addr_of(a[0], atoi(a[1]));
  CHECK(bind(s, (struct sockaddr*)&me, sizeof(me)) == 0, "bind");
  expect_where(s, a[2], "udp server");
  listening();
  char buf[2048];
  struct sockaddr_in from;
  socklen_t len = sizeof(from);
  ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr*)&from, &len);
  CHECK(n > 0, "recvfrom");
  CHECK(sendto(s, buf, (size_t)n, 0, (struct sockaddr*)&from, len) == n, "sendto");
  printf("OK udp echoed %zd\n", n);
  return 0;
}

/* udp-client IP PORT EXPECT: one datagram there and back (sendmsg, recvmsg). */
static int udp_client(char** a) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(s >= 0, "socket");
  struct sockaddr_in to = addr_of(a[0], atoi(a[1]));
  char msg[1000];
  for (size_t i = 0; i < sizeof(msg); ++i)
    msg[i] = (char)pattern(i);
  struct iovec v = {msg, sizeof(msg)};
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_name = &to;
  m.msg_namelen = sizeof(to);
  m.msg_iov = &v;
  m.msg_iovlen = 1;
  CHECK(sendmsg(s, &m, 0) == (ssize_t)sizeof(msg), "sendmsg");
  expect_where(s, a[2], "udp client");
  struct pollfd p = {s, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1, "no reply in 5 s");
  char back[2048];
  struct sockaddr_in from;
  struct iovec bv = {back, sizeof(back)};
  struct msghdr bm;
  memset(&bm, 0, sizeof(bm));
  bm.msg_name = &from;
  bm.msg_namelen = sizeof(from);
  bm.msg_iov = &bv;
  bm.msg_iovlen = 1;
  ssize_t n = recvmsg(s, &bm, 0);
  CHECK(n == (ssize_t)sizeof(msg) && memcmp(back, msg, sizeof(msg)) == 0, "reply differs");
  CHECK(from.sin_addr.s_addr == to.sin_addr.s_addr && from.sin_port == to.sin_port,
        "reply from elsewhere");
  printf("OK udp %zd\n", n);
  return 0;
}

/* unix: AF_UNIX stream sockets (socketpair and a listener on a path) stay the kernel's. */
static int unix_mode(char** a) {
  (void)a;
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
  expect_where(sv[0], "kernel", "socketpair");
  CHECK(write(sv[0], "abc", 3) == 3, "socketpair write");
  char buf[8] = {0};
  CHECK(read(sv[1], buf, sizeof(buf)) == 3 && memcmp(buf, "abc", 3) == 0, "socketpair read");
  struct sockaddr_un un;
  memset(&un, 0, sizeof(un));
  un.sun_family = AF_UNIX;
  snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/usnet-probe-%d.sock", (int)getpid());
  unlink(un.sun_path);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(l >= 0 && bind(l, (struct sockaddr*)&un, sizeof(un)) == 0 && listen(l, 1) == 0,
        "unix listener");
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(connect(c, (struct sockaddr*)&un, sizeof(un)) == 0, "unix connect");
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0, "unix accept");
  expect_where(l, "kernel", "unix listener");
  expect_where(c, "kernel", "unix client");
  CHECK(send(c, "hello", 5, 0) == 5 && recv(s, buf, sizeof(buf), 0) == 5, "unix data");
  unlink(un.sun_path);
  printf("OK unix\n");
  return 0;
}

/* loopback-kernel PORT: 127.0.0.1 goes to the kernel (a kernel echo server there). */
static int loopback_kernel(char** a) {
  int s = tcp_connect("127.0.0.1", atoi(a[0]), 0);
  expect_where(s, "kernel", "loopback client");
  echo_roundtrip(s, 100000);
  printf("OK loopback kernel\n");
  return 0;
}

/* loopback-usnet PORT: with USNET_LOOPBACK=usnet, a listener and a client on 127.0.0.1 in
 * this process, both usnet's. */
static int loopback_usnet(char** a) {
  int port = atoi(a[0]);
  int l = tcp_listen("127.0.0.1", port);
  expect_where(l, "usnet", "loopback listener");
  int c = tcp_connect("127.0.0.1", port, 0);
  expect_where(c, "usnet", "loopback client");
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0, "accept");
  expect_where(s, "usnet", "loopback accepted");
  CHECK(write(c, "ping", 4) == 4, "write");
  char buf[8];
  CHECK(read(s, buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0, "read");
  printf("OK loopback usnet\n");
  return 0;
}

/* dupfcntl IP PORT: duplicates share the open file (O_NONBLOCK), FD_CLOEXEC is per
 * descriptor, and closing one leaves the socket working through the other. */
static int dupfcntl(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), SOCK_CLOEXEC);
  expect_where(s, "usnet", "socket");
  CHECK(fcntl(s, F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC not reported by F_GETFD");
  int d = dup(s);
  CHECK(d >= 0, "dup");
  expect_where(d, "usnet", "dup");
  CHECK(fcntl(d, F_GETFD) == 0, "dup's FD_CLOEXEC");
  CHECK(fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK) == 0, "F_SETFL");
  CHECK((fcntl(s, F_GETFL) & O_NONBLOCK) != 0, "O_NONBLOCK not shared with the original");
  char c;
  CHECK(read(s, &c, 1) == -1 && errno == EAGAIN, "non-blocking read of nothing: EAGAIN");
  int flag = 0;
  CHECK(ioctl(d, FIONBIO, &flag) == 0, "FIONBIO");
  CHECK((fcntl(s, F_GETFL) & O_NONBLOCK) == 0, "FIONBIO not shared");
  int e = fcntl(s, F_DUPFD_CLOEXEC, 100);
  CHECK(e >= 100 && fcntl(e, F_GETFD) == FD_CLOEXEC, "F_DUPFD_CLOEXEC");
  CHECK(dup2(s, 60) == 60 && fcntl(60, F_GETFD) == 0, "dup2");
  CHECK(dup3(s, 61, O_CLOEXEC) == 61 && fcntl(61, F_GETFD) == FD_CLOEXEC, "dup3");
  CHECK(close(s) == 0 && close(e) == 0 && close(60) == 0 && close(61) == 0, "close");
  CHECK(fcntl(s, F_GETFD) == -1 && errno == EBADF, "closed descriptor: EBADF");
  echo_roundtrip(d, 50000); /* the socket still works through the last duplicate */
  printf("OK dupfcntl\n");
  return 0;
}

/* readiness IP PORT: poll, select and epoll over a pipe and a usnet socket together. */
static int readiness(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "socket");
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  /* poll: only the pipe is readable, then only the socket. */
  CHECK(write(p[1], "x", 1) == 1, "pipe write");
  struct pollfd fds[2] = {{p[0], POLLIN, 0}, {s, POLLIN, 0}};
  CHECK(poll(fds, 2, 2000) == 1 && fds[0].revents == POLLIN && fds[1].revents == 0,
        "poll: pipe readable, socket not");
  char c;
  CHECK(read(p[0], &c, 1) == 1, "pipe read");
  CHECK(write(s, "y", 1) == 1, "socket write");
  CHECK(poll(fds, 2, 5000) == 1 && fds[0].revents == 0 && fds[1].revents == POLLIN,
        "poll: socket readable (echo), pipe not");
  /* select sees the same. */
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  FD_SET(s, &r);
  struct timeval tv = {2, 0};
  int maxfd = (s > p[0] ? s : p[0]) + 1;
  CHECK(select(maxfd, &r, NULL, NULL, &tv) == 1 && FD_ISSET(s, &r) && !FD_ISSET(p[0], &r),
        "select: socket readable");
  CHECK(read(s, &c, 1) == 1 && c == 'y', "socket read");
  /* epoll with both; the pipe's event, then the socket's. */
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0, "epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "epoll_ctl pipe");
  ev.data.fd = s;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "epoll_ctl socket");
  struct epoll_event out[4];
  CHECK(epoll_wait(ep, out, 4, 0) == 0, "epoll: nothing ready yet");
  CHECK(write(p[1], "x", 1) == 1, "pipe write");
  CHECK(epoll_wait(ep, out, 4, 2000) == 1 && out[0].data.fd == p[0], "epoll: the pipe");
  CHECK(read(p[0], &c, 1) == 1, "pipe read");
  CHECK(write(s, "z", 1) == 1, "socket write");
  sigset_t none;
  sigemptyset(&none);
  CHECK(epoll_pwait(ep, out, 4, 5000, &none) == 1 && out[0].data.fd == s, "epoll: the socket");
  CHECK(read(s, &c, 1) == 1 && c == 'z', "socket read");
  /* ppoll, and a descriptor above FD_SETSIZE with poll. */
  struct rlimit lim;
  CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0, "getrlimit");
  if (lim.rlim_cur < 4096) {
    lim.rlim_cur = lim.rlim_max < 4096 ? lim.rlim_max : 4096;
    CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit");
  }
  int high = FD_SETSIZE + 476;
  CHECK(dup2(s, high) == high, "dup2 above FD_SETSIZE");
  expect_where(high, "usnet", "high descriptor");
  CHECK(write(high, "w", 1) == 1, "write on the high descriptor");
  struct pollfd hp[2] = {{p[0], POLLIN, 0}, {high, POLLIN, 0}};
  struct timespec ts = {5, 0};
  CHECK(ppoll(hp, 2, &ts, &none) == 1 && hp[1].revents == POLLIN, "ppoll on fd %d", high);
  CHECK(read(high, &c, 1) == 1 && c == 'w', "read on the high descriptor");
  printf("OK readiness\n");
  return 0;
}

/* iov IP PORT: writev three pieces, readv them back into three buffers. */
static int iov_mode(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "socket");
  char p1[] = "first-", p2[] = "second-", p3[] = "third";
  struct iovec w[3] = {{p1, 6}, {p2, 7}, {p3, 5}};
  CHECK(writev(s, w, 3) == 18, "writev");
  char b1[4], b2[10], b3[4];
  struct iovec r[3] = {{b1, 4}, {b2, 10}, {b3, 4}};
  size_t got = 0;
  while (got < 18) {
    /* Read into what is left of the three buffers. */
    struct iovec rest[3];
    int n = 0;
    size_t skip = got;
    for (int i = 0; i < 3; ++i) {
      if (skip >= r[i].iov_len) {
        skip -= r[i].iov_len;
        continue;
      }
      rest[n].iov_base = (char*)r[i].iov_base + skip;
      rest[n].iov_len = r[i].iov_len - skip;
      skip = 0;
      ++n;
    }
    ssize_t k = readv(s, rest, n);
    CHECK(k > 0, "readv");
    got += (size_t)k;
  }
  char all[18];
  memcpy(all, b1, 4);
  memcpy(all + 4, b2, 10);
  memcpy(all + 14, b3, 4);
  CHECK(memcmp(all, "first-second-third", 18) == 0, "readv bytes");
  printf("OK iov\n");
  return 0;
}

/* ifinfo TAP ADDR IP PORT: usnet's interface in getifaddrs, the SIOCGIF* ioctls and
 * if_nametoindex; FIONREAD on a usnet socket. */
static int ifinfo(char** a) {
  const char* tap = a[0];
  struct in_addr want;
  CHECK(inet_pton(AF_INET, a[1], &want) == 1, "address");
  struct ifaddrs* list;
  CHECK(getifaddrs(&list) == 0, "getifaddrs");
  int seen = 0;
  for (struct ifaddrs* i = list; i != NULL; i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET) continue;
    struct sockaddr_in* sin = (struct sockaddr_in*)i->ifa_addr;
    if (strcmp(i->ifa_name, tap) == 0) {
      CHECK(sin->sin_addr.s_addr == want.s_addr, "getifaddrs: %s has another address", tap);
      seen = 1;
    }
  }
  freeifaddrs(list);
  CHECK(seen, "getifaddrs: no IPv4 entry for %s", tap);
  unsigned idx = if_nametoindex(tap);
  CHECK(idx > 0, "if_nametoindex");
  char name[IF_NAMESIZE];
  CHECK(if_indextoname(idx, name) != NULL && strcmp(name, tap) == 0, "if_indextoname");

  int q = socket(AF_INET, SOCK_DGRAM, 0); /* undecided: the kernel's until it is used */
  CHECK(q >= 0, "socket");
  struct ifreq r;
  memset(&r, 0, sizeof(r));
  strncpy(r.ifr_name, tap, IFNAMSIZ - 1);
  CHECK(ioctl(q, SIOCGIFADDR, &r) == 0, "SIOCGIFADDR");
  CHECK(((struct sockaddr_in*)&r.ifr_addr)->sin_addr.s_addr == want.s_addr, "SIOCGIFADDR value");
  CHECK(ioctl(q, SIOCGIFINDEX, &r) == 0 && (unsigned)r.ifr_ifindex == idx, "SIOCGIFINDEX");
  CHECK(ioctl(q, SIOCGIFMTU, &r) == 0 && r.ifr_mtu == 1500, "SIOCGIFMTU");
  CHECK(ioctl(q, SIOCGIFHWADDR, &r) == 0 && r.ifr_hwaddr.sa_family == 1, "SIOCGIFHWADDR");
  struct ifreq reqs[32];
  struct ifconf conf = {.ifc_len = sizeof(reqs), .ifc_req = reqs};
  CHECK(ioctl(q, SIOCGIFCONF, &conf) == 0, "SIOCGIFCONF");
  seen = 0;
  for (size_t i = 0; i < conf.ifc_len / sizeof(struct ifreq); ++i) {
    if (strcmp(reqs[i].ifr_name, tap) == 0 &&
        ((struct sockaddr_in*)&reqs[i].ifr_addr)->sin_addr.s_addr == want.s_addr) {
      seen = 1;
    }
  }
  CHECK(seen, "SIOCGIFCONF: %s with usnet's address missing", tap);

  int s = tcp_connect(a[2], atoi(a[3]), 0);
  expect_where(s, "usnet", "socket");
  CHECK(write(s, "12345", 5) == 5, "write");
  struct pollfd p = {s, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1, "echo");
  int avail = 0;
  for (int i = 0; i < 100 && avail < 5; ++i) {
    CHECK(ioctl(s, FIONREAD, &avail) == 0, "FIONREAD");
    if (avail < 5) usleep(10000);
  }
  CHECK(avail == 5, "FIONREAD says %d, expected 5", avail);
  CHECK(ioctl(s, SIOCGIFADDR, &r) == 0, "SIOCGIFADDR on a usnet socket");
  char echo[5];
  CHECK(read(s, echo, sizeof(echo)) == 5, "read the echo"); /* no reset at close */
  printf("OK ifinfo\n");
  return 0;
}

/* fork IP PORT: the child finds the parent's usnet socket closed (EBADF, close succeeds),
 * and its own socket goes to the kernel; the parent's keeps working. */
static int fork_mode(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "parent socket");
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    CHECK(write(s, "x", 1) == -1 && errno == EBADF, "child: write on inherited socket");
    char c;
    CHECK(recv(s, &c, 1, MSG_DONTWAIT) == -1 && errno == EBADF, "child: recv");
    CHECK(close(s) == 0, "child: close of inherited socket");
    int k = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(k >= 0, "child: socket");
    struct sockaddr_in to = addr_of(a[0], atoi(a[1]) + 1);
    CHECK(connect(k, (struct sockaddr*)&to, sizeof(to)) == 0, "child: connect");
    expect_where(k, "kernel", "child socket");
    echo_roundtrip(k, 20000);
    printf("OK child\n");
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "child failed");
  echo_roundtrip(s, 20000);
  printf("OK fork\n");
  return 0;
}

/* ::ffff:IP, port. */
static struct sockaddr_in6 mapped_of(const char* ip, int port) {
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((uint16_t)port);
  char text[64];
  snprintf(text, sizeof(text), "::ffff:%s", ip);
  CHECK(inet_pton(AF_INET6, text, &a.sin6_addr) == 1, "bad address %s", text);
  return a;
}

static void expect_mapped(const struct sockaddr_in6* a, socklen_t len, const char* ip,
                          const char* what) {
  CHECK(len == sizeof(*a) && a->sin6_family == AF_INET6, "%s: not an AF_INET6 address", what);
  struct sockaddr_in6 want = mapped_of(ip, 0);
  CHECK(memcmp(&a->sin6_addr, &want.sin6_addr, 16) == 0, "%s: not ::ffff:%s", what, ip);
}

/* v6-echo-server PORT PEER: a dual-stack listener on [::]:PORT (the IPv4 part on usnet);
 * the accepted peer must show as ::ffff:PEER. */
static int v6_echo_server(char** a) {
  int l = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(l >= 0, "socket");
  int zero = 0, one = 1;
  CHECK(setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) == 0, "IPV6_V6ONLY");
  CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0, "SO_REUSEADDR");
  struct sockaddr_in6 any;
  memset(&any, 0, sizeof(any));
  any.sin6_family = AF_INET6;
  any.sin6_port = htons((uint16_t)atoi(a[0]));
  CHECK(bind(l, (struct sockaddr*)&any, sizeof(any)) == 0, "bind [::]");
  CHECK(listen(l, 4) == 0, "listen");
  expect_where(l, "usnet", "dual-stack listener");
  struct sockaddr_in6 me;
  socklen_t len = sizeof(me);
  CHECK(getsockname(l, (struct sockaddr*)&me, &len) == 0 && len == sizeof(me) &&
            me.sin6_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&me.sin6_addr) &&
            me.sin6_port == any.sin6_port,
        "getsockname: not [::]:port");
  int v = -1;
  len = sizeof(v);
  CHECK(getsockopt(l, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_INET6, "SO_DOMAIN");
  len = sizeof(v);
  CHECK(getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len) == 0 && v == 0, "IPV6_V6ONLY read");
  listening();
  struct sockaddr_in6 peer;
  len = sizeof(peer);
  int c = accept(l, (struct sockaddr*)&peer, &len);
  CHECK(c >= 0, "accept");
  expect_mapped(&peer, len, a[1], "accepted peer");
  len = sizeof(peer);
  CHECK(getpeername(c, (struct sockaddr*)&peer, &len) == 0, "getpeername");
  expect_mapped(&peer, len, a[1], "getpeername");
  char buf[16384];
  for (;;) {
    ssize_t r = read(c, buf, sizeof(buf));
    CHECK(r >= 0, "read");
    if (r == 0) break;
    write_all(c, buf, (size_t)r);
  }
  close(c);
  printf("OK v6 echoed\n");
  return 0;
}

/* v6-client IP PORT: an AF_INET6 socket connected to ::ffff:IP is usnet's; and a datagram
 * to ::ffff:IP:PORT+1 comes back from the same v4-mapped address. */
static int v6_client(char** a) {
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(s >= 0, "socket");
  struct sockaddr_in6 to = mapped_of(a[0], atoi(a[1]));
  CHECK(connect(s, (struct sockaddr*)&to, sizeof(to)) == 0, "connect ::ffff:%s", a[0]);
  expect_where(s, "usnet", "v4-mapped client");
  struct sockaddr_in6 peer;
  socklen_t len = sizeof(peer);
  CHECK(getpeername(s, (struct sockaddr*)&peer, &len) == 0, "getpeername");
  expect_mapped(&peer, len, a[0], "getpeername");
  echo_roundtrip(s, 100000);
  int u = socket(AF_INET6, SOCK_DGRAM, 0);
  CHECK(u >= 0, "socket");
  struct sockaddr_in6 uto = mapped_of(a[0], atoi(a[1]) + 1);
  CHECK(sendto(u, "ping", 4, 0, (struct sockaddr*)&uto, sizeof(uto)) == 4, "sendto");
  expect_where(u, "usnet", "v4-mapped datagram socket");
  struct pollfd p = {u, POLLIN, 0};
  CHECK(poll(&p, 1, 5000) == 1, "no reply");
  char buf[8];
  struct sockaddr_in6 from;
  len = sizeof(from);
  CHECK(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr*)&from, &len) == 4, "recvfrom");
  expect_mapped(&from, len, a[0], "recvfrom");
  CHECK(from.sin6_port == uto.sin6_port, "reply from another port");
  printf("OK v6 client\n");
  return 0;
}

static struct sockaddr_in6 addr6_of(const char* ip, int port, unsigned scope) {
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof(a));
  a.sin6_family = AF_INET6;
  a.sin6_port = htons((uint16_t)port);
  a.sin6_scope_id = scope;
  CHECK(inet_pton(AF_INET6, ip, &a.sin6_addr) == 1, "bad address %s", ip);
  return a;
}

/* Where a datagram socket goes once it sends to [ip%scope]:port (a sendto decides). */
static const char* where_sent6(const char* ip, unsigned scope, int port) {
  int u = socket(AF_INET6, SOCK_DGRAM, 0);
  CHECK(u >= 0, "socket");
  struct sockaddr_in6 to = addr6_of(ip, port, scope);
  (void)sendto(u, "x", 1, 0, (struct sockaddr*)&to, sizeof(to)); /* may fail: fe80 w/o scope */
  static char w[16];
  snprintf(w, sizeof(w), "%s", where(u));
  close(u);
  return w;
}

/* Where an AF_INET6 stream socket (IPV6_V6ONLY as given) goes once bound to addr. */
static const char* where_bound6(const struct sockaddr_in6* addr, int v6only) {
  int s = socket(AF_INET6, SOCK_STREAM, 0);
  CHECK(s >= 0, "socket");
  CHECK(setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) == 0, "IPV6_V6ONLY");
  /* An IPv6 address may be tentative for a while (duplicate address detection, RFC 4862
   * 5.4): bind says EADDRNOTAVAIL until it is usable. Retried for up to 3 s. */
  int r = -1;
  for (int i = 0; i < 300; ++i) {
    r = bind(s, (const struct sockaddr*)addr, sizeof(*addr));
    if (r == 0 || errno != EADDRNOTAVAIL) break;
    usleep(10000);
  }
  CHECK(r == 0, "bind");
  static char w[16];
  snprintf(w, sizeof(w), "%s", where(s));
  close(s);
  return w;
}

/* v6-where TAP USNET6 KERNEL6 OFFLINK6 HAS6: the "what goes where" decision for IPv6.
 * USNET6 (usnet's) and its link-local address are in getifaddrs under TAP, the latter with
 * TAP's index as scope id; a datagram to KERNEL6 (in usnet's prefix) or to usnet's
 * link-local address with that scope id is usnet's; to OFFLINK6, ::1 (unless
 * USNET_LOOPBACK=usnet), or a link-local address without a scope id, the kernel's. A dual-stack
 * socket bound to [::] is usnet's; an IPv6-only one is usnet's if HAS6 is "has6" (usnet has IPv6 of
 * its own), else the kernel's. */
static int v6_where(char** a) {
  const char* tap = a[0];
  const int has6 = strcmp(a[4], "has6") == 0;
  struct in6_addr want;
  CHECK(inet_pton(AF_INET6, a[1], &want) == 1, "address");
  const unsigned idx = if_nametoindex(tap);
  CHECK(idx > 0, "if_nametoindex");
  struct ifaddrs* list;
  CHECK(getifaddrs(&list) == 0, "getifaddrs");
  int seen = 0;
  char ll[INET6_ADDRSTRLEN] = "";
  for (struct ifaddrs* i = list; i != NULL; i = i->ifa_next) {
    if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET6) continue;
    if (strcmp(i->ifa_name, tap) != 0) continue;
    struct sockaddr_in6* sin6 = (struct sockaddr_in6*)i->ifa_addr;
    if (memcmp(&sin6->sin6_addr, &want, 16) == 0) seen = 1;
    if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) {
      CHECK(sin6->sin6_scope_id == idx, "getifaddrs: link-local scope %u, not %u",
            sin6->sin6_scope_id, idx);
      inet_ntop(AF_INET6, &sin6->sin6_addr, ll, sizeof(ll));
    }
  }
  freeifaddrs(list);
  CHECK(seen == has6, "getifaddrs: %s %s under %s", a[1], seen ? "shown" : "missing", tap);
  CHECK(ll[0] != '\0', "getifaddrs: no link-local address under %s", tap);

  const char* w;
  if (has6) {
    w = where_sent6(a[2], 0, 9);
    CHECK(strcmp(w, "usnet") == 0, "to [%s] (on-link): %s", a[2], w);
  }
  w = where_sent6(a[3], 0, 9);
  CHECK(strcmp(w, "kernel") == 0, "to [%s] (off-link): %s", a[3], w);
  const char* lo =
      getenv("USNET_LOOPBACK") != NULL && strcmp(getenv("USNET_LOOPBACK"), "usnet") == 0 ? "usnet"
                                                                                         : "kernel";
  w = where_sent6("::1", 0, 9);
  CHECK(strcmp(w, lo) == 0, "to [::1]: %s, expected %s", w, lo);
  w = where_sent6(ll, idx, 9);
  CHECK(strcmp(w, "usnet") == 0, "to [%s%%%u]: %s", ll, idx, w);
  w = where_sent6(ll, 0, 9);
  CHECK(strcmp(w, "kernel") == 0, "to [%s] without a scope id: %s", ll, w);

  struct sockaddr_in6 any = addr6_of("::", 7040, 0);
  w = where_bound6(&any, 0);
  CHECK(strcmp(w, "usnet") == 0, "dual-stack bind [::]: %s", w);
  any.sin6_port = htons(7041);
  w = where_bound6(&any, 1);
  CHECK(strcmp(w, has6 ? "usnet" : "kernel") == 0, "IPv6-only bind [::]: %s", w);
  struct sockaddr_in6 own = addr6_of(ll, 7042, idx);
  w = where_bound6(&own, 1);
  CHECK(strcmp(w, "usnet") == 0, "bind [%s%%%u]: %s", ll, idx, w);
  if (has6) {
    own = addr6_of(a[1], 7043, 0);
    w = where_bound6(&own, 1);
    CHECK(strcmp(w, "usnet") == 0, "bind [%s]: %s", a[1], w);
  }
  printf("OK v6-where\n");
  return 0;
}

/* udp-echo-many IP PORT COUNT: answers COUNT datagrams. */
static int udp_echo_many(char** a) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(s >= 0, "socket");
  struct sockaddr_in me = addr_of(a[0], atoi(a[1]));
  CHECK(bind(s, (struct sockaddr*)&me, sizeof(me)) == 0, "bind");
  listening();
  for (int i = 0; i < atoi(a[2]); ++i) {
    char buf[2048];
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr*)&from, &len);
    CHECK(n > 0, "recvfrom");
    CHECK(sendto(s, buf, (size_t)n, 0, (struct sockaddr*)&from, len) == n, "sendto");
  }
  printf("OK udp echoed many\n");
  return 0;
}

/* mmsg IP PORT: three datagrams out with one sendmmsg, back with recvmmsg. */
static int mmsg(char** a) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(s >= 0, "socket");
  struct sockaddr_in to = addr_of(a[0], atoi(a[1]));
  char out[3][32];
  struct iovec ov[3];
  struct mmsghdr om[3];
  memset(om, 0, sizeof(om));
  for (int i = 0; i < 3; ++i) {
    snprintf(out[i], sizeof(out[i]), "datagram %d of three", i);
    ov[i].iov_base = out[i];
    ov[i].iov_len = strlen(out[i]);
    om[i].msg_hdr.msg_name = &to;
    om[i].msg_hdr.msg_namelen = sizeof(to);
    om[i].msg_hdr.msg_iov = &ov[i];
    om[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK(sendmmsg(s, om, 3, 0) == 3, "sendmmsg");
  expect_where(s, "usnet", "socket");
  for (int i = 0; i < 3; ++i)
    CHECK(om[i].msg_len == ov[i].iov_len, "sendmmsg msg_len %d", i);
  char in[3][64];
  struct iovec iv[3];
  struct mmsghdr im[3];
  int got = 0;
  while (got < 3) {
    memset(im, 0, sizeof(im));
    for (int i = 0; i < 3; ++i) {
      iv[i].iov_base = in[i];
      iv[i].iov_len = sizeof(in[i]);
      im[i].msg_hdr.msg_iov = &iv[i];
      im[i].msg_hdr.msg_iovlen = 1;
    }
    struct pollfd p = {s, POLLIN, 0};
    CHECK(poll(&p, 1, 5000) == 1, "no datagrams back");
    int n = recvmmsg(s, im, (unsigned)(3 - got), MSG_WAITFORONE, NULL);
    CHECK(n > 0, "recvmmsg");
    for (int i = 0; i < n; ++i) {
      CHECK(im[i].msg_len == ov[got + i].iov_len && memcmp(in[i], out[got + i], im[i].msg_len) == 0,
            "datagram %d differs", got + i);
    }
    got += n;
  }
  printf("OK mmsg\n");
  return 0;
}

/* splice IP PORT: pipe -> usnet socket, and the echo usnet socket -> pipe. */
static int splice_mode(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "socket");
  int in[2], out[2];
  CHECK(pipe(in) == 0 && pipe(out) == 0, "pipe");
  unsigned char msg[3000];
  for (size_t i = 0; i < sizeof(msg); ++i)
    msg[i] = pattern(i);
  write_all(in[1], msg, sizeof(msg));
  size_t moved = 0;
  while (moved < sizeof(msg)) {
    ssize_t n = splice(in[0], NULL, s, NULL, sizeof(msg) - moved, 0);
    CHECK(n > 0, "splice pipe -> socket");
    moved += (size_t)n;
  }
  moved = 0;
  unsigned char back[3000];
  while (moved < sizeof(msg)) {
    ssize_t n = splice(s, NULL, out[1], NULL, sizeof(msg) - moved, 0);
    CHECK(n > 0, "splice socket -> pipe");
    CHECK(read(out[0], back + moved, (size_t)n) == n, "read the pipe");
    moved += (size_t)n;
  }
  CHECK(memcmp(back, msg, sizeof(msg)) == 0, "spliced bytes differ");
  loff_t off = 0;
  CHECK(splice(s, &off, out[1], NULL, 1, 0) == -1 && errno == ESPIPE, "offset on a socket");
  printf("OK splice\n");
  return 0;
}

/* closerange IP PORT: close_range closes usnet sockets too, and the number a pipe then
 * gets is the kernel's again. */
static int closerange(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "socket");
  CHECK(close_range((unsigned)s, ~0U, 0) == 0, "close_range");
  CHECK(fcntl(s, F_GETFD) == -1 && errno == EBADF, "socket still open after close_range");
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  CHECK(p[0] == s || p[1] == s, "the pipe did not get the number back (%d, %d vs %d)", p[0], p[1],
        s);
  CHECK(write(p[1], "k", 1) == 1, "pipe write");
  char c;
  CHECK(read(p[0], &c, 1) == 1 && c == 'k', "pipe read on a former usnet number");
  printf("OK close_range\n");
  return 0;
}

static volatile sig_atomic_t got_usr1 = 0;
static void on_usr1(int sig) {
  (void)sig;
  got_usr1 = 1;
}

/* pmask IP PORT: ppoll and epoll_pwait set their signal mask atomically with the wait: a
 * signal blocked before the call and pending, which the call's mask lets in, ends the wait
 * at once with EINTR (not after the timeout, as it would if the mask were set first and the
 * signal handled before the wait began). */
static int pmask(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "socket");
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1; /* no SA_RESTART */
  CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  sigset_t usr1, none;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigemptyset(&none);
  for (int round = 0; round < 2; ++round) {
    CHECK(sigprocmask(SIG_BLOCK, &usr1, NULL) == 0, "block SIGUSR1");
    got_usr1 = 0;
    CHECK(raise(SIGUSR1) == 0 && !got_usr1, "SIGUSR1 pending, not handled");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r;
    if (round == 0) {
      struct pollfd p = {s, POLLIN, 0};
      struct timespec ts = {3, 0};
      r = ppoll(&p, 1, &ts, &none);
    } else {
      int ep = epoll_create1(0);
      struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
      CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "epoll");
      struct epoll_event out;
      r = epoll_pwait(ep, &out, 1, 3000, &none);
      close(ep);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(r == -1 && errno == EINTR, "%s: %d, expected EINTR", round ? "epoll_pwait" : "ppoll", r);
    CHECK(got_usr1, "handler did not run");
    CHECK(ms < 1000, "%s waited %.0f ms before EINTR", round ? "epoll_pwait" : "ppoll", ms);
    sigset_t now;
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0 && sigismember(&now, SIGUSR1),
          "the call's mask was not undone");
    CHECK(sigprocmask(SIG_UNBLOCK, &usr1, NULL) == 0, "unblock");
  }
  printf("OK pmask\n");
  return 0;
}

/* bind-any IP PORT LOPORT: a client that binds to 0.0.0.0 port 0 before it talks is decided
 * by where it then talks: a TCP connection to IP is usnet's (with the port bind chose), a
 * UDP datagram to the kernel's loopback (127.0.0.1:LOPORT) the kernel's. */
static int bind_any(char** a) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = addr_of("0.0.0.0", 0), me;
  socklen_t len = sizeof(me);
  CHECK(bind(s, (struct sockaddr*)&any, sizeof(any)) == 0, "bind");
  CHECK(getsockname(s, (struct sockaddr*)&me, &len) == 0 && me.sin_port != 0, "getsockname");
  struct sockaddr_in to = addr_of(a[0], atoi(a[1]));
  CHECK(connect(s, (struct sockaddr*)&to, sizeof(to)) == 0, "connect");
  expect_where(s, "usnet", "TCP client bound to 0.0.0.0:0");
  struct sockaddr_in after;
  len = sizeof(after);
  CHECK(getsockname(s, (struct sockaddr*)&after, &len) == 0 && after.sin_port == me.sin_port,
        "the port bind chose changed (%d -> %d)", ntohs(me.sin_port), ntohs(after.sin_port));
  echo_roundtrip(s, 10000);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(bind(u, (struct sockaddr*)&any, sizeof(any)) == 0, "bind udp");
  struct sockaddr_in lo = addr_of("127.0.0.1", atoi(a[2]));
  CHECK(sendto(u, "lo", 2, 0, (struct sockaddr*)&lo, sizeof(lo)) == 2, "sendto loopback");
  expect_where(u, "kernel", "UDP client bound to 0.0.0.0:0, talking to loopback");
  struct pollfd p = {u, POLLIN, 0};
  char buf[4];
  CHECK(poll(&p, 1, 5000) == 1 && recv(u, buf, sizeof(buf), 0) == 2, "loopback echo");
  printf("OK bind-any\n");
  return 0;
}

/* epoll-first IP PORT: a non-blocking socket added to epoll before its connect still
 * reports the connect's completion and the echo (the usnet socket took its place there). */
static int epoll_first(char** a) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  CHECK(s >= 0, "socket");
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLOUT, .data.fd = s};
  CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "epoll_ctl before connect");
  struct sockaddr_in to = addr_of(a[0], atoi(a[1]));
  int r = connect(s, (struct sockaddr*)&to, sizeof(to));
  CHECK(r == 0 || errno == EINPROGRESS, "connect");
  expect_where(s, "usnet", "socket");
  struct epoll_event out;
  CHECK(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.fd == s && (out.events & EPOLLOUT),
        "no EPOLLOUT for the connect");
  int err = -1;
  socklen_t len = sizeof(err);
  CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0, "SO_ERROR %d", err);
  ev.events = EPOLLIN;
  CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) == 0, "EPOLL_CTL_MOD");
  CHECK(write(s, "e", 1) == 1, "write");
  char c;
  CHECK(epoll_wait(ep, &out, 1, 5000) == 1 && (out.events & EPOLLIN), "no EPOLLIN for the echo");
  CHECK(read(s, &c, 1) == 1 && c == 'e', "read");
  printf("OK epoll-first\n");
  return 0;
}

/* fork-first IP PORT: a process that forks before its first socket (a server that
 * daemonizes): the child may start a stack of its own, and its socket is usnet's. */
static int fork_first(char** a) {
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    int s = tcp_connect(a[0], atoi(a[1]), 0);
    expect_where(s, "usnet", "socket of a child forked before any stack");
    echo_roundtrip(s, 20000);
    printf("OK fork-first child\n");
    fflush(stdout);
    exit(0); /* exit, not _exit: the connection is given time to deliver */
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "child failed");
  printf("OK fork-first\n");
  return 0;
}

/* exec IP PORT SELF: execs itself with an empty environment, holding a usnet socket with
 * FD_CLOEXEC clear; the new image must find the socket closed, the preload and USNET_*
 * back in its environment, and usnet serving its new socket (to PORT + 1). */
static int exec_mode(char** a) {
  int s = tcp_connect(a[0], atoi(a[1]), 0);
  expect_where(s, "usnet", "socket before exec");
  CHECK(fcntl(s, F_GETFD) == 0, "FD_CLOEXEC is clear");
  char fdnum[16];
  snprintf(fdnum, sizeof(fdnum), "%d", s);
  char* argv[] = {a[2], "exec-child", fdnum, a[0], a[1], NULL};
  char* envp[] = {NULL};
  fflush(stdout);
  execve(a[2], argv, envp);
  fail("execve");
  return 1;
}

static int exec_child(char** a) {
  int old = atoi(a[0]);
  CHECK(fcntl(old, F_GETFD) == -1 && errno == EBADF, "the usnet socket survived exec");
  CHECK(getenv("LD_PRELOAD") != NULL, "LD_PRELOAD not carried over");
  CHECK(getenv("USNET_TAP") != NULL, "USNET_TAP not carried over");
  int s = tcp_connect(a[1], atoi(a[2]) + 1, 0);
  expect_where(s, "usnet", "socket after exec");
  echo_roundtrip(s, 10000);
  printf("OK exec\n");
  return 0;
}

/* block-accept PORT: blocks in accept on usnet until a signal ends it. */
static int block_accept(char** a) {
  int l = tcp_listen("0.0.0.0", atoi(a[0]));
  expect_where(l, "usnet", "listener");
  listening();
  accept(l, NULL, NULL);
  printf("accept returned (errno %d)\n", errno);
  return 2;
}

/* passthrough: with no USNET_TAP every socket is the kernel's. */
static int passthrough(char** a) {
  (void)a;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in any = addr_of("0.0.0.0", 0);
  CHECK(bind(s, (struct sockaddr*)&any, sizeof(any)) == 0 && listen(s, 1) == 0, "listen");
  expect_where(s, "kernel", "listener");
  int ep = epoll_create1(0);
  CHECK(ep >= 0, "epoll_create1");
  char path[64], target[64] = {0};
  snprintf(path, sizeof(path), "/proc/self/fd/%d", ep);
  CHECK(readlink(path, target, sizeof(target) - 1) > 0 &&
            strcmp(target, "anon_inode:[eventpoll]") == 0,
        "epoll instance is %s", target);
  printf("OK passthrough\n");
  return 0;
}

int main(int argc, char** argv) {
  static const struct {
    const char* name;
    int args;
    int (*fn)(char**);
  } modes[] = {
      {"echo-server", 3, echo_server},
      {"echo-client", 4, echo_client},
      {"sink", 2, sink},
      {"digest", 1, digest},
      {"sendfile", 3, send_file},
      {"udp-echo-server", 3, udp_echo_server},
      {"udp-client", 3, udp_client},
      {"unix", 0, unix_mode},
      {"loopback-kernel", 1, loopback_kernel},
      {"loopback-usnet", 1, loopback_usnet},
      {"dupfcntl", 2, dupfcntl},
      {"readiness", 2, readiness},
      {"iov", 2, iov_mode},
      {"ifinfo", 4, ifinfo},
      {"fork", 2, fork_mode},
      {"fork-first", 2, fork_first},
      {"exec", 3, exec_mode},
      {"exec-child", 3, exec_child},
      {"block-accept", 1, block_accept},
      {"passthrough", 0, passthrough},
      {"v6-echo-server", 2, v6_echo_server},
      {"v6-client", 2, v6_client},
      {"v6-where", 5, v6_where},
      {"udp-echo-many", 3, udp_echo_many},
      {"mmsg", 2, mmsg},
      {"splice", 2, splice_mode},
      {"closerange", 2, closerange},
      {"pmask", 2, pmask},
      {"bind-any", 3, bind_any},
      {"epoll-first", 2, epoll_first},
  };
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 2) {
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); ++i) {
      if (strcmp(argv[1], modes[i].name) == 0 && argc - 2 == modes[i].args) {
        int rc = modes[i].fn(argv + 2);
        fflush(stdout);
        return rc;
      }
    }
  }
  fprintf(stderr, "usage: preload_probe MODE ARGS... (see the source)\n");
  return 64;
}
