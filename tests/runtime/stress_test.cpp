// Stress of the threaded runtime: one runtime, two stacks joined by a memory wire
// (198.18.0.1 and 198.18.0.2), an echo server on one stack and 32 client threads on the
// other making 2,000 connections between them, each sending seeded messages of random sizes
// and checking every byte of the echo. The server comes in two kinds: 32 threads blocking in
// accept/recv/send on one listener, and one thread driving non-blocking sockets with
// edge-triggered epoll. Sanitizer builds run fewer connections and say so.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/rng.h"
#include "usnet/usnet.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kClientThreads = 32;
#ifdef USNET_SANITIZED
constexpr int kConnections = 500;  // sanitizers run 5-15x slower
#else
constexpr int kConnections = 2000;
#endif
constexpr int kServerThreads = 32;
constexpr std::uint16_t kPort = 7000;
constexpr int kCallTimeoutMs = 20000;  // a stalled call fails the test instead of hanging it
constexpr std::uint64_t kSeed = 0x5eed'2024'0001ULL;
// The server's send buffers are small, so that its sends fill them (blocking threads wait
// for acknowledgements; the epoll server gets EAGAIN and waits for EPOLLOUT).
constexpr int kServerSndbuf = 4096;

sockaddr_in addr(const char* ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  usnet_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// What went wrong first, from any thread; the test fails on it after the threads are joined.
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard lock(mu_);
    if (count_++ == 0) first_ = std::move(what);
  }
  int count() const {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::string first() const {
    std::lock_guard lock(mu_);
    return first_;
  }

 private:
  mutable std::mutex mu_;
  int count_ = 0;
  std::string first_;
};

std::string errno_text(const char* call, int conn) {
  return std::string(call) + " failed on connection " + std::to_string(conn) + ": " +
         std::strerror(errno);
}

struct Totals {
  std::atomic<int> connections{0};
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes{0};  // echoed back and checked, per direction
};

// One connection of a client: 1..6 messages of random sizes (mostly small, one in four up to
// 32 KiB), each sent whole and read back, every byte compared.
bool run_connection(int conn, Totals& totals, Failures& failures) {
  usnet::Rng rng{kSeed ^ (static_cast<std::uint64_t>(conn) * 0x100000001b3ULL)};
  const int fd = usnet_socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    failures.add(errno_text("socket", conn));
    return false;
  }
  set_timeouts(fd, kCallTimeoutMs);
  // One connection in four of each: default buffers; a small send buffer (the client's
  // sends block and are woken by acknowledgements); a small receive buffer (a small window:
  // the server's echo waits for window updates); both.
  const int small = 4096;
  if (conn % 4 == 1 || conn % 4 == 3) {
    usnet_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  }
  if (conn % 4 >= 2) usnet_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  const auto server = addr("198.18.0.2", kPort);
  if (usnet_connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) != 0) {
    failures.add(errno_text("connect", conn));
    usnet_close(fd);
    return false;
  }
  const std::size_t messages = 1 + rng.below(6);
  std::vector<unsigned char> out;
  std::vector<unsigned char> in;
  bool ok = true;
  for (std::size_t m = 0; m < messages && ok; ++m) {
    const std::size_t len = 1 + rng.below(rng.below(4) == 0 ? 32768 : 2048);
    out.resize(len);
    for (auto& b : out)
      b = static_cast<unsigned char>(rng.next());
    const ssize_t sent = usnet_send(fd, out.data(), len, MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(len)) {
      failures.add(errno_text("send", conn) + " (" + std::to_string(sent) + " of " +
                   std::to_string(len) + ")");
      ok = false;
      break;
    }
    in.assign(len, 0);
    std::size_t got = 0;
    while (got < len) {
      // Every other connection reads with MSG_WAITALL, the rest piece by piece.
      const int flags = (conn % 2 == 0) ? MSG_WAITALL : 0;
      const ssize_t r = usnet_recv(fd, in.data() + got, len - got, flags);
      if (r <= 0) {
        failures.add(r == 0 ? "early end of stream on connection " + std::to_string(conn)
                            : errno_text("recv", conn));
        ok = false;
        break;
      }
      got += static_cast<std::size_t>(r);
    }
    if (!ok) break;
    if (std::memcmp(in.data(), out.data(), len) != 0) {
      std::size_t at = 0;
      while (in[at] == out[at])
        ++at;
      failures.add("connection " + std::to_string(conn) + " message " + std::to_string(m) +
                   ": echo differs at byte " + std::to_string(at) + " of " + std::to_string(len));
      ok = false;
      break;
    }
    totals.messages++;
    totals.bytes += len;
  }
  if (ok) {
    // The server closes when it sees our FIN: the stream must then end cleanly.
    usnet_shutdown(fd, SHUT_WR);
    unsigned char b;
    const ssize_t r = usnet_recv(fd, &b, 1, 0);
    if (r != 0) {
      failures.add(r < 0 ? errno_text("recv of the end", conn)
                         : "data after the echo on connection " + std::to_string(conn));
      ok = false;
    }
  }
  usnet_close(fd);
  if (ok) totals.connections++;
  return ok;
}

void run_clients(usnet_stack* stack, Totals& totals, Failures& failures) {
  std::atomic<int> next{0};
  std::vector<std::thread> clients;
  clients.reserve(kClientThreads);
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&] {
      usnet_stack_use(stack);
      for (int conn = next++; conn < kConnections; conn = next++) {
        if (!run_connection(conn, totals, failures)) break;
      }
    });
  }
  for (auto& c : clients)
    c.join();
}

// One runtime with a client and a server stack joined by a perfect memory wire.
class Stress : public ::testing::Test {
 protected:
  void SetUp() override {
    rt_ = usnet_runtime_new();
    ASSERT_NE(rt_, nullptr);
    client_ = usnet_stack_new(rt_, "client", 1);
    server_ = usnet_stack_new(rt_, "server", 2);
    ASSERT_NE(client_, nullptr);
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(
        usnet_wire_connect(client_, "198.18.0.1/24", server_, "198.18.0.2/24", nullptr, nullptr), 0)
        << std::strerror(errno);
#ifdef USNET_SANITIZED
    std::printf(
        "NOTE: sanitizer build: %d connections instead of 2000 (the debug preset runs "
        "2000)\n",
        kConnections);
#endif
  }
  void TearDown() override {
    usnet_stack_use(nullptr);
    usnet_runtime_free(rt_);
  }

  // A listener on the server stack, from the calling thread.
  int listen_on_server(bool nonblocking) {
    usnet_stack_use(server_);
    const int l = usnet_socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    const auto a = addr("198.18.0.2", kPort);
    if (l < 0 || usnet_bind(l, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 ||
        usnet_listen(l, 256) != 0) {
      return -1;
    }
    return l;
  }

  void report(const char* kind, const Totals& totals, const Failures& failures,
              Clock::time_point t0, std::uint64_t server_bytes) {
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf(
        "%s: %d/%d connections from %d threads, %llu messages, %.1f MiB echoed and "
        "checked each way, %.2f s\n",
        kind, totals.connections.load(), kConnections, kClientThreads,
        static_cast<unsigned long long>(totals.messages.load()),
        static_cast<double>(totals.bytes.load()) / (1 << 20), secs);
    EXPECT_EQ(failures.count(), 0) << failures.first();
    EXPECT_EQ(totals.connections.load(), kConnections);
    EXPECT_GT(totals.bytes.load(), 0U);
    EXPECT_EQ(server_bytes, totals.bytes.load()) << "the server echoed a different byte count";
  }

  usnet_runtime* rt_ = nullptr;
  usnet_stack* client_ = nullptr;
  usnet_stack* server_ = nullptr;
};

// 32 server threads each loop: accept (blocking, all on one listener), echo until the
// client's FIN, close. The listener's shutdown ends the accepts at the end.
TEST_F(Stress, BlockingThreadsEchoServer) {
  const int l = listen_on_server(false);
  ASSERT_GE(l, 0) << std::strerror(errno);
  Failures failures;
  std::atomic<std::uint64_t> server_bytes{0};
  std::vector<std::thread> servers;
  servers.reserve(kServerThreads);
  for (int t = 0; t < kServerThreads; ++t) {
    servers.emplace_back([&] {
      usnet_stack_use(server_);
      std::vector<unsigned char> buf(16384);
      for (;;) {
        const int c = usnet_accept(l, nullptr, nullptr);
        if (c < 0) {
          if (errno != EINVAL) failures.add(errno_text("server accept", -1));
          return;  // EINVAL: the listener was shut down, the run is over
        }
        set_timeouts(c, kCallTimeoutMs);
        usnet_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &kServerSndbuf, sizeof(kServerSndbuf));
        for (;;) {
          const ssize_t r = usnet_recv(c, buf.data(), buf.size(), 0);
          if (r == 0) break;
          if (r < 0) {
            failures.add(errno_text("server recv", -1));
            break;
          }
          if (usnet_send(c, buf.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL) != r) {
            failures.add(errno_text("server send", -1));
            break;
          }
          server_bytes += static_cast<std::uint64_t>(r);
        }
        usnet_close(c);
      }
    });
  }
  Totals totals;
  const auto t0 = Clock::now();
  run_clients(client_, totals, failures);
  // Every accept still blocked ends with EINVAL (Linux does the same on a listener's
  // shutdown(SHUT_RD); the conformance table checks it).
  EXPECT_EQ(usnet_shutdown(l, SHUT_RD), 0);
  for (auto& s : servers)
    s.join();
  usnet_close(l);
  report("blocking threads server", totals, failures, t0, server_bytes.load());
}

// One server thread: edge-triggered epoll over non-blocking sockets, a level-triggered
// listener, and a kernel eventfd in the same epoll set to stop it.
TEST_F(Stress, EdgeTriggeredEpollEchoServer) {
  const int l = listen_on_server(true);
  ASSERT_GE(l, 0) << std::strerror(errno);
  const int ep = usnet_epoll_create1(EPOLL_CLOEXEC);
  const int stop = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(ep, 0);
  ASSERT_GE(stop, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l;
  ASSERT_EQ(usnet_epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
  ev.data.fd = stop;
  ASSERT_EQ(usnet_epoll_ctl(ep, EPOLL_CTL_ADD, stop, &ev), 0);

  Failures failures;
  std::uint64_t server_bytes = 0;
  int peak_open = 0;
  std::uint64_t full_sends = 0;  // sends that found the buffer full (EAGAIN)
  std::thread server([&] {
    usnet_stack_use(server_);
    struct Conn {
      std::vector<unsigned char> pending;  // read, not yet echoed
      bool eof = false;
    };
    std::unordered_map<int, Conn> conns;
    std::vector<unsigned char> buf(16384);
    std::vector<epoll_event> events(64);
    const auto close_conn = [&](int fd) {
      usnet_close(fd);  // leaves the epoll set by itself
      conns.erase(fd);
    };
    // Echoes what is pending; reads while there is room. Returns false once closed.
    const auto serve = [&](int fd) {
      Conn& c = conns[fd];
      for (;;) {
        while (!c.pending.empty()) {
          const ssize_t w = usnet_send(fd, c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
          if (w < 0) {
            if (errno == EAGAIN) {
              ++full_sends;
              return true;  // EPOLLOUT (edge) brings us back
            }
            failures.add(errno_text("epoll server send", -1));
            close_conn(fd);
            return false;
          }
          server_bytes += static_cast<std::uint64_t>(w);
          c.pending.erase(c.pending.begin(), c.pending.begin() + w);
        }
        if (c.eof) {
          close_conn(fd);
          return false;
        }
        const ssize_t r = usnet_recv(fd, buf.data(), buf.size(), 0);
        if (r == 0) {
          c.eof = true;
          continue;
        }
        if (r < 0) {
          if (errno == EAGAIN) return true;  // EPOLLIN (edge) brings us back
          failures.add(errno_text("epoll server recv", -1));
          close_conn(fd);
          return false;
        }
        c.pending.insert(c.pending.end(), buf.begin(), buf.begin() + r);
      }
    };
    for (;;) {
      const int n = usnet_epoll_wait(ep, events.data(), static_cast<int>(events.size()), 5000);
      if (n < 0) {
        failures.add(errno_text("epoll_wait", -1));
        return;
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == stop) return;
        if (fd == l) {
          for (;;) {
            const int c = usnet_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
            if (c < 0) {
              if (errno != EAGAIN) failures.add(errno_text("epoll server accept", -1));
              break;
            }
            usnet_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &kServerSndbuf, sizeof(kServerSndbuf));
            conns[c] = Conn{};
            peak_open = std::max(peak_open, static_cast<int>(conns.size()));
            epoll_event cev{};
            cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
            cev.data.fd = c;
            if (usnet_epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) != 0) {
              failures.add(errno_text("epoll_ctl ADD", -1));
              close_conn(c);
              continue;
            }
            serve(c);  // data may have come with the connection: edge-triggered
          }
          continue;
        }
        if (conns.count(fd) != 0) serve(fd);
      }
    }
  });
  Totals totals;
  const auto t0 = Clock::now();
  run_clients(client_, totals, failures);
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(stop, &one, sizeof(one)), 8);
  server.join();
  usnet_close(ep);
  usnet_close(l);
  ::close(stop);
  report("edge-triggered epoll server", totals, failures, t0, server_bytes);
  std::printf(
      "epoll server: at most %d connections open at once, %llu sends found the send "
      "buffer full and resumed on EPOLLOUT\n",
      peak_open, static_cast<unsigned long long>(full_sends));
  EXPECT_GT(peak_open, 1) << "the server never had two connections open at once";
  EXPECT_GT(full_sends, 0U) << "the EAGAIN/EPOLLOUT path was never taken";
}

}  // namespace
