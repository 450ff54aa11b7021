// Echo workload: 1,000 concurrent connections, 64-byte messages, each connection sending
// its next message when the echo of the last is back (closed loop). Run side by side in
// one process: the Linux kernel with epoll over loopback, and usnet with epoll (and with
// with a completion-ring server) between two usnet hosts joined by a memory wire; the
// client side is the same epoll client in every run. Prints requests per second and p50/p99
// round-trip latency for each, and the ratios to the kernel.
//
//   cmake --preset release && cmake --build --preset release --target bench_echo
//   build/release/bench/bench_echo [--connections N] [--seconds S]
//
// What differs: the kernel's run has two threads (client, server) and the kernel's softirq
// work on the same two cores; usnet's has the same two plus its network thread, which
// moves frames between the hosts. Machines here are shared and noisy: compare ratios from
// the same run, not absolute numbers across runs.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_echo_calls.h"
#include "usnet/ring.h"
#include "usnet/usnet.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMsg = 64;

struct Options {
  int connections = 1000;
  double seconds = 3.0;
};

struct Result {
  double rps = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::uint64_t requests = 0;
};

// One epoll thread echoing everything on every connection of a listener.
void epoll_server(const EchoCalls& k, int listener, const std::atomic<bool>& stop) {
  const int ep = k.epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  k.epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  std::vector<epoll_event> events(256);
  char buf[4096];
  while (!stop.load(std::memory_order_relaxed)) {
    const int n = k.epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == listener) {
        int c;
        while ((c = k.accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          const int one = 1;
          k.setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          ev.events = EPOLLIN;
          ev.data.fd = c;
          k.epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      const ssize_t r = k.recv(fd, buf, sizeof(buf), 0);
      if (r <= 0) {
        if (r == 0 || errno != EAGAIN) k.close(fd);
        continue;
      }
      // 64-byte messages always fit the send buffer in this closed loop.
      (void)k.send(fd, buf, static_cast<std::size_t>(r), MSG_NOSIGNAL);
    }
  }
  k.close(ep);
}

// The same server on a completion ring: a multishot accept, then per connection a recv
// and a send of what it received, in turn (the shape of a liburing server).
void ring_server(const EchoCalls& /*k*/, int listener, const std::atomic<bool>& stop) {
  struct Conn {
    int fd = -1;
    bool sending = false;
    char buf[512];
  };
  usnet_ring ring{};
  if (usnet_ring_queue_init(4096, &ring, 0) != 0) {
    std::fprintf(stderr, "usnet_ring_queue_init failed\n");
    std::exit(1);
  }
  auto sqe_for = [&ring] {
    usnet_sqe* sqe = usnet_ring_get_sqe(&ring);
    if (sqe == nullptr) {
      usnet_ring_submit(&ring);
      sqe = usnet_ring_get_sqe(&ring);
    }
    return sqe;
  };
  auto accept = [&] {
    usnet_sqe* sqe = sqe_for();
    usnet_prep_multishot_accept(sqe, listener, nullptr, nullptr, 0);
    usnet_sqe_set_data(sqe, nullptr);
  };
  auto recv = [&](Conn* c) {
    usnet_sqe* sqe = sqe_for();
    c->sending = false;
    usnet_prep_recv(sqe, c->fd, c->buf, sizeof(c->buf), 0);
    usnet_sqe_set_data(sqe, c);
  };
  accept();
  std::vector<std::unique_ptr<Conn>> conns;
  while (!stop.load(std::memory_order_relaxed)) {
    usnet_ring_submit(&ring);
    usnet_cqe* first = nullptr;
    usnet_timespec ts{0, 50'000'000};
    if (usnet_ring_wait_cqe_timeout(&ring, &first, &ts) != 0) continue;
    unsigned head = 0;
    unsigned seen = 0;
    usnet_cqe* cqe = nullptr;
    usnet_ring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      auto* c = static_cast<Conn*>(usnet_cqe_get_data(cqe));
      if (c == nullptr) {
        if (cqe->res >= 0) {
          conns.push_back(std::make_unique<Conn>());
          conns.back()->fd = cqe->res;
          const int one = 1;
          usnet_setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          recv(conns.back().get());
        }
        if ((cqe->flags & USNET_CQE_F_MORE) == 0) accept();
      } else if (cqe->res <= 0) {
        usnet_close(c->fd);
      } else if (c->sending) {
        recv(c);
      } else {
        usnet_sqe* sqe = sqe_for();
        c->sending = true;
        usnet_prep_send(sqe, c->fd, c->buf, static_cast<std::size_t>(cqe->res), MSG_WAITALL);
        usnet_sqe_set_data(sqe, c);
      }
    }
    usnet_ring_cq_advance(&ring, seen);
  }
  usnet_ring_queue_exit(&ring);
  for (auto& c : conns)
    usnet_close(c->fd);
}

// The client: `n` connections from one epoll thread, each with one message in flight.
Result run_clients(const EchoCalls& k, const sockaddr_in& to, const Options& o) {
  struct Conn {
    int fd = -1;
    std::size_t got = 0;
    Clock::time_point sent;
  };
  std::vector<Conn> conns(static_cast<std::size_t>(o.connections));
  const int ep = k.epoll_create1(0);
  char msg[kMsg];
  std::memset(msg, 'x', sizeof(msg));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    const int fd = k.socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || k.connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
      std::fprintf(stderr, "connect %zu: %s\n", i, std::strerror(errno));
      std::exit(1);
    }
    const int one = 1;
    k.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    k.fcntl(fd, F_SETFL, O_NONBLOCK);
    conns[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    k.epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  std::vector<double> lat;
  lat.reserve(1 << 22);
  std::uint64_t done = 0;
  const auto warm_end = Clock::now() + std::chrono::milliseconds(500);
  const auto end = warm_end + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o.seconds));
  for (auto& c : conns) {
    c.sent = Clock::now();
    (void)k.send(c.fd, msg, kMsg, MSG_NOSIGNAL);
  }
  std::vector<epoll_event> events(512);
  char buf[4096];
  for (;;) {
    const auto now0 = Clock::now();
    if (now0 >= end) break;
    const int n = k.epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    const auto now = Clock::now();
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[events[static_cast<std::size_t>(i)].data.u64];
      const ssize_t r = k.recv(c.fd, buf, sizeof(buf), 0);
      if (r <= 0) continue;
      c.got += static_cast<std::size_t>(r);
      if (c.got < kMsg) continue;
      c.got -= kMsg;
      if (now >= warm_end) {
        ++done;
        lat.push_back(std::chrono::duration<double, std::micro>(now - c.sent).count());
      }
      c.sent = now;
      (void)k.send(c.fd, msg, kMsg, MSG_NOSIGNAL);
    }
  }
  for (auto& c : conns)
    k.close(c.fd);
  k.close(ep);
  Result r;
  r.requests = done;
  r.rps = static_cast<double>(done) / o.seconds;
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    r.p50_us = lat[lat.size() / 2];
    r.p99_us = lat[lat.size() * 99 / 100];
  }
  return r;
}

int listen_on(const EchoCalls& k, sockaddr_in* addr) {
  const int l = k.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  k.setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (k.bind(l, reinterpret_cast<const sockaddr*>(addr), sizeof(*addr)) != 0 ||
      k.listen(l, 4096) != 0) {
    std::fprintf(stderr, "listen: %s\n", std::strerror(errno));
    std::exit(1);
  }
  socklen_t len = sizeof(*addr);
  k.getsockname(l, reinterpret_cast<sockaddr*>(addr), &len);
  return l;
}

Result run_kernel(const Options& o) {
  const EchoCalls k = kernel_calls();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int l = listen_on(k, &a);
  std::atomic<bool> stop{false};
  std::thread server([&] { epoll_server(k, l, stop); });
  Result r = run_clients(k, a, o);
  stop = true;
  server.join();
  k.close(l);
  return r;
}

template <typename Server>
Result run_usnet(const Options& o, Server serve) {
  const EchoCalls k = usnet_calls();
  usnet_runtime* rt = usnet_runtime_new();
  usnet_stack* srv = usnet_stack_new(rt, "server", 1);
  usnet_stack* cli = usnet_stack_new(rt, "client", 2);
  if (usnet_wire_connect(srv, "198.18.0.1/24", cli, "198.18.0.2/24", nullptr, nullptr) != 0) {
    std::perror("usnet_wire_connect");
    std::exit(1);
  }
  usnet_stack_use(srv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "198.18.0.1", &a.sin_addr);
  const int l = listen_on(k, &a);
  std::atomic<bool> stop{false};
  std::thread server([&] {
    usnet_stack_use(srv);
    serve(k, l, stop);
  });
  usnet_stack_use(cli);
  Result r = run_clients(k, a, o);
  stop = true;
  server.join();
  usnet_runtime_free(rt);
  usnet_stack_use(nullptr);
  return r;
}

void print(const char* name, const Result& r, const Result& base) {
  std::printf("%-28s %12.0f %10.1f %10.1f %10.2fx %10.2fx\n", name, r.rps, r.p50_us, r.p99_us,
              base.rps > 0 ? r.rps / base.rps : 0.0,
              base.p99_us > 0 ? r.p99_us / base.p99_us : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--connections") o.connections = std::atoi(argv[i + 1]);
    if (flag == "--seconds") o.seconds = std::atof(argv[i + 1]);
  }
  std::string cmd;
  for (int i = 0; i < argc; ++i)
    cmd += std::string(i ? " " : "") + argv[i];
  std::printf(
      "command: %s\n%d connections, %zu-byte messages, %.1f s each (after 0.5 s warm-up)\n\n",
      cmd.c_str(), o.connections, kMsg, o.seconds);
  const Result kernel = run_kernel(o);
  const Result ue = run_usnet(o, epoll_server);
  std::printf("%-28s %12s %10s %10s %11s %11s\n", "", "requests/s", "p50 us", "p99 us", "rps ratio",
              "p99 ratio");
  print("linux kernel, epoll", kernel, kernel);
  print("usnet, epoll", ue, kernel);
  const Result ur = run_usnet(o, ring_server);
  print("usnet, completion ring", ur, kernel);
  return 0;
}
