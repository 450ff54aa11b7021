// Readiness and blocking, side by side with the Linux kernel: each scenario is written once
// against a table of socket calls, run with the kernel's own calls and then with usnet's, and
// the two traces of what it observed (return values, errno, revents and epoll event bits,
// event data, counts, whether a wait took about as long as it should) must agree entry by
// entry. A difference prints both traces side by side.
//
// The kernel's sockets live in a private network namespace (unshare(CLONE_NEWNET) with only
// `lo` up), as in tests/unit/errno_conformance_test.cpp; usnet's live on the default stack's
// loopback. Both use 127.0.0.1 and ephemeral ports. Nothing waits a fixed short time for
// something to happen: a scenario waits for the event itself with a generous bound, and a
// thread that must be blocked before the next step is watched in /proc until it sleeps.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/conformance.h"
#include "usnet/usnet.h"

namespace {

using namespace usnet::conformance;  // NOLINT(google-build-using-namespace)

// ---- the scenarios ----

// A byte count is the same on both sides only where the scenario chose it.
const char kHello[] = "hello";

void peer_rst(Env& e, int s) {
  linger lg{1, 0};
  e.t.ret("SO_LINGER 0 on the peer", e.a.setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  e.close("close the peer (reset)", s);
}

std::vector<Scenario> poll_scenarios() {
  return {
      {"tcp_fresh_socket_poll_bits",
       [](Env& e) {
         const int fd = e.tcp();
         if (!e.t.need(fd >= 0, "socket")) return;
         e.poll1("poll", fd, kAllBits, 0);
         e.t.err("SO_ERROR", e.so_error(fd));
       }},
      {"udp_fresh_socket_poll_bits",
       [](Env& e) {
         const int fd = e.udp();
         if (!e.t.need(fd >= 0, "socket")) return;
         e.poll1("poll", fd, kAllBits, 0);
       }},
      {"listener_without_connection_poll_bits",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         e.poll1("poll", l, kAllBits, 0);
       }},
      {"listener_with_pending_connection_poll_bits",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const int c = e.tcp();
         e.t.ret("connect", e.connect(c, e.port(l)));
         e.t.flag("listener readable", e.wait_for(l, POLLIN));
         e.snap("listener", l);
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         e.snap("listener after accept", l);
       }},
      {"nonblocking_connect_completes",
       [](Env& e) {
         const int l = e.listener();
         const int c = e.tcp(SOCK_NONBLOCK);
         if (l < 0 || !e.t.need(c >= 0, "socket")) return;
         e.t.ret("connect", e.connect(c, e.port(l)));
         e.t.flag("became writable", e.wait_for(c, POLLOUT));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
         e.t.ret("connect again", e.connect(c, e.port(l)));
       }},
      {"nonblocking_connect_refused",
       [](Env& e) {
         const std::uint16_t port = e.refusing_port();
         const int c = e.tcp(SOCK_NONBLOCK);
         if (port == 0 || !e.t.need(c >= 0, "socket")) return;
         e.t.ret("connect", e.connect(c, port));
         e.t.flag("error reported", e.wait_for(c, POLLERR));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
         e.t.err("SO_ERROR again", e.so_error(c));
         e.snap("client after SO_ERROR", c);
         char b[8];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), MSG_DONTWAIT));
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT));
         // A connect() after the failure reports it (the error is gone: ECONNABORTED) and
         // leaves the socket as a fresh one; the one after that starts over.
         e.t.ret("connect again", e.connect(c, port));
         e.snap("client after connect again", c);
         e.t.ret("connect a third time", e.connect(c, port));
         e.t.flag("refused again", e.wait_for(c, POLLERR));
         e.t.err("SO_ERROR", e.so_error(c));
       }},
      {"tcp_shutdown_of_unconnected_socket",
       [](Env& e) {
         const int a = e.tcp();
         const int b = e.tcp();
         if (!e.t.need(a >= 0 && b >= 0, "sockets")) return;
         e.t.ret("shutdown(SHUT_RDWR)", e.a.shutdown(a, SHUT_RDWR));
         e.snap("after SHUT_RDWR", a);
         e.t.ret("shutdown(SHUT_WR)", e.a.shutdown(b, SHUT_WR));
         e.snap("after SHUT_WR", b);
         e.t.ret("send", e.a.send(b, "x", 1, MSG_NOSIGNAL));
       }},
      {"blocking_connect_refused",
       [](Env& e) {
         const std::uint16_t port = e.refusing_port();
         const int c = e.tcp();
         if (port == 0 || !e.t.need(c >= 0, "socket")) return;
         e.t.ret("connect", e.connect(c, port));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
       }},
      {"established_pair_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.snap("client", c);
         e.snap("server", s);
       }},
      {"data_arrival_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, kHello, 5, 0));
         e.t.flag("readable", e.wait_bytes(s, 5));
         e.snap("server", s);
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.snap("server after recv", s);
       }},
      {"peer_fin_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.t.flag("FIN seen", e.wait_for(s, POLLRDHUP));
         e.snap("server", s);
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.snap("client", c);
         e.t.ret("send on client", e.a.send(c, "x", 1, MSG_NOSIGNAL));
         e.t.ret("send on server", e.a.send(s, "x", 1, MSG_NOSIGNAL));
       }},
      {"peer_fin_after_data",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, "abc", 3, 0));
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.t.flag("FIN seen", e.wait_for(s, POLLRDHUP));
         e.snap("server", s);
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.snap("server after the data", s);
         e.t.ret("recv at the end", e.a.recv(s, b, sizeof(b), 0));
       }},
      {"own_shut_wr_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.snap("client", c);
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
         e.t.ret("shutdown(SHUT_WR) again", e.a.shutdown(c, SHUT_WR));
         char b[4];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"own_shut_rd_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(s, SHUT_RD));
         e.snap("server", s);
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.t.ret("send", e.a.send(s, "x", 1, MSG_NOSIGNAL));
         e.snap("client", c);
       }},
      {"data_after_own_shut_rd",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(s, SHUT_RD));
         e.t.ret("peer send", e.a.send(c, "late", 4, 0));
         e.t.flag("data queued", e.wait_bytes(s, 4));
         char b[16];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), MSG_DONTWAIT));
         e.t.ret("recv at the end", e.a.recv(s, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"own_shut_rdwr_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(SHUT_RDWR)", e.a.shutdown(c, SHUT_RDWR));
         e.snap("client", c);
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
         char b[4];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), 0));
         e.t.flag("peer sees FIN", e.wait_for(s, POLLRDHUP));
         e.snap("server", s);
       }},
      {"both_directions_shut_down_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.t.flag("server sees FIN", e.wait_for(s, POLLRDHUP));
         e.t.ret("shutdown(s, SHUT_WR)", e.a.shutdown(s, SHUT_WR));
         e.t.flag("client sees FIN", e.wait_for(c, POLLRDHUP));
         e.t.flag("client reports HUP", e.wait_for(c, POLLHUP));
         e.snap("client", c);
         e.snap("server", s);
       }},
      {"peer_reset_poll_bits",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         peer_rst(e, s);
         e.t.flag("error reported", e.wait_for(c, POLLERR));
         e.snap("client", c);
         char b[4];
         e.t.ret("recv", e.a.recv(c, b, sizeof(b), 0));
         e.snap("client after recv", c);
         e.t.ret("recv again", e.a.recv(c, b, sizeof(b), 0));
         e.t.err("SO_ERROR", e.so_error(c));
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
       }},
      {"peer_close_with_unread_data_resets",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, "abc", 3, 0));
         e.t.flag("peer has the data", e.wait_bytes(s, 3));
         e.close("close the peer unread", s);
         e.t.flag("error reported", e.wait_for(c, POLLERR));
         e.snap("client", c);
         e.t.err("SO_ERROR", e.so_error(c));
         e.snap("client after SO_ERROR", c);
         e.t.ret("send", e.a.send(c, "x", 1, MSG_NOSIGNAL));
       }},
      {"udp_datagram_poll_bits",
       [](Env& e) {
         const int u1 = e.udp();
         const int u2 = e.udp();
         if (!e.t.need(u1 >= 0 && u2 >= 0 && e.bind_any_port(u1), "udp sockets")) return;
         const auto to = e.name(e.port(u1));
         e.t.ret("sendto", e.a.sendto(u2, "ping", 4, 0, to.get(), to.len));
         e.t.flag("readable", e.wait_for(u1, POLLIN));
         e.snap("receiver", u1);
         char b[16];
         e.t.ret("recv", e.a.recv(u1, b, sizeof(b), 0));
         e.snap("receiver after recv", u1);
       }},
      {"udp_icmp_error_on_connected_socket",
       [](Env& e) {
         const std::uint16_t port = e.closed_udp_port();
         const int u = e.udp();
         if (port == 0 || !e.t.need(u >= 0, "socket")) return;
         e.t.ret("connect", e.connect(u, port));
         e.t.ret("send", e.a.send(u, "x", 1, 0));
         e.t.flag("error reported", e.wait_for(u, POLLERR));
         e.snap("socket", u);
         char b[4];
         e.t.ret("recv", e.a.recv(u, b, sizeof(b), MSG_DONTWAIT));
         e.snap("socket after recv", u);
         e.t.ret("send again", e.a.send(u, "x", 1, 0));
         e.t.flag("error reported again", e.wait_for(u, POLLERR));
         e.t.err("SO_ERROR", e.so_error(u));
         e.snap("socket after SO_ERROR", u);
       }},
      {"udp_icmp_error_on_unconnected_socket_is_silent",
       [](Env& e) {
         const std::uint16_t port = e.closed_udp_port();
         const int u = e.udp();
         if (port == 0 || !e.t.need(u >= 0, "socket")) return;
         const auto to = e.name(port);
         e.t.ret("sendto", e.a.sendto(u, "x", 1, 0, to.get(), to.len));
         e.poll1("poll 200 ms", u, POLLIN, 200);
         e.t.err("SO_ERROR", e.so_error(u));
       }},
      {"udp_shutdown_poll_bits",
       [](Env& e) {
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(u >= 0 && v >= 0 && e.bind_any_port(v), "udp sockets")) return;
         e.t.ret("shutdown unconnected", e.a.shutdown(u, SHUT_RDWR));
         e.snap("unconnected", u);
         e.t.ret("connect", e.connect(v, e.port(v)));
         e.t.ret("shutdown(SHUT_WR) connected", e.a.shutdown(v, SHUT_WR));
         e.snap("connected after SHUT_WR", v);
         e.t.ret("send", e.a.send(v, "x", 1, MSG_NOSIGNAL));
       }},
      {"udp_datagram_after_shut_rd",
       [](Env& e) {
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(u >= 0 && v >= 0 && e.bind_any_port(u) && e.bind_any_port(v), "udp")) {
           return;
         }
         e.t.ret("connect", e.connect(u, e.port(v)));
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(u, SHUT_RD));
         e.snap("after SHUT_RD", u);
         char b[8];
         e.t.ret("recv, non-blocking", e.a.recv(u, b, sizeof(b), MSG_DONTWAIT));
         e.t.ret("recv, blocking", e.a.recv(u, b, sizeof(b), 0));
         const auto to = e.name(e.port(u));
         e.t.ret("peer sendto", e.a.sendto(v, "late", 4, 0, to.get(), to.len));
         e.poll1("poll 200 ms for a datagram", u, POLLRDNORM, 200);
         e.t.ret("recv", e.a.recv(u, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"poll_invalid_and_negative_descriptors",
       [](Env& e) {
         const int fd = e.a.socket(e.family, SOCK_STREAM, 0);
         if (!e.t.need(fd >= 0, "socket")) return;
         e.a.close(fd);
         pollfd p[2] = {{fd, POLLIN, 0}, {-1, POLLIN, 0}};
         e.t.ret("poll", e.a.poll(p, 2, 0));
         e.t.bits("closed descriptor", static_cast<std::uint16_t>(p[0].revents));
         e.t.bits("negative descriptor", static_cast<std::uint16_t>(p[1].revents));
       }},
  };
}

// Two epoll instances watch one listener with EPOLLEXCLUSIVE and a thread waits on one of
// them when a connection arrives: that instance takes the wake-up. When the waiter is on
// the second, the first had nobody waiting: the wake-up went on past it, and it keeps the
// event for a later epoll_wait.
void exclusive_wake_with_waiter(Env& e, bool waiter_on_first) {
  const int l = e.listener();
  const int ep1 = e.epoll();
  const int ep2 = e.epoll();
  if (l < 0 || !e.t.need(ep1 >= 0 && ep2 >= 0, "epoll_create1")) return;
  e.ctl("ADD to ep1", ep1, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 13);
  e.ctl("ADD to ep2", ep2, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 14);
  const int waited = waiter_on_first ? ep1 : ep2;
  const int other = waiter_on_first ? ep2 : ep1;
  int n = 0;
  epoll_event ev{};
  std::thread waiter =
      start_blocked(e, "waiter", [&] { n = e.a.epoll_wait(waited, &ev, 1, kWaitMs); });
  const int c = e.tcp();
  e.t.ret("connect", e.connect(c, e.port(l)));
  waiter.join();
  e.t.num("waiter got", n);
  e.t.bits("waiter events", n > 0 ? ev.events : 0);
  e.t.num("waiter data", n > 0 ? static_cast<long long>(ev.data.u64) : 0);
  e.ewait("the other instance", other, 8, 0);
}

std::vector<Scenario> epoll_scenarios() {
  return {
      {"epoll_level_triggered_two_writes",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN", ep, EPOLL_CTL_ADD, s, EPOLLIN, 1);
         e.ewait("wait, nothing yet", ep, 8, 0);
         e.t.ret("send 1", e.a.send(c, "a", 1, 0));
         e.ewait("wait for the first", ep, 8, kWaitMs);
         e.t.ret("send 2", e.a.send(c, "b", 1, 0));
         e.t.flag("both queued", e.wait_bytes(s, 2));
         e.ewait("wait again", ep, 8, 0);
         char b[4];
         e.t.ret("recv 1 byte", e.a.recv(s, b, 1, 0));
         e.ewait("wait, 1 byte left", ep, 8, 0);
         e.t.ret("recv the rest", e.a.recv(s, b, sizeof(b), 0));
         e.ewait("wait, drained", ep, 8, 0);
       }},
      {"epoll_edge_triggered_two_writes",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLET", ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLET, 2);
         e.ewait("wait, nothing yet", ep, 8, 0);
         e.t.ret("send 1", e.a.send(c, "a", 1, 0));
         e.ewait("wait for the first", ep, 8, kWaitMs);
         e.ewait("wait again, no new data", ep, 8, 0);
         e.t.ret("send 2", e.a.send(c, "b", 1, 0));
         e.ewait("wait for the second (re-report)", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
         char b[4];
         e.t.ret("recv 1 byte", e.a.recv(s, b, 1, 0));
         e.ewait("wait after a partial read", ep, 8, 0);
         e.t.ret("recv the rest", e.a.recv(s, b, sizeof(b), 0));
       }},
      {"epoll_edge_triggered_epollout_after_drain",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s, 16384, 16384) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLOUT|EPOLLET", ep, EPOLL_CTL_ADD, c, EPOLLOUT | EPOLLET, 3);
         e.ewait("wait, writable", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
         e.t.ret("O_NONBLOCK", e.set_nonblocking(c, true));
         std::vector<char> chunk(4096, 'x');
         std::size_t total = 0;
         ssize_t r = 0;
         for (int i = 0; i < 100000; ++i) {
           r = e.a.send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL);
           if (r <= 0) break;
           total += static_cast<std::size_t>(r);
         }
         e.t.ret("send until full", r);
         e.t.flag("queued something", total > 0);
         e.t.flag("peer read it all", e.recv_exact(s, total));
         e.ewait("wait, writable again", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
       }},
      {"epoll_oneshot_fires_once_and_mod_rearms",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLONESHOT", ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLONESHOT, 4);
         e.t.ret("send 1", e.a.send(c, "a", 1, 0));
         e.ewait("wait, fires", ep, 8, kWaitMs);
         e.ewait("wait, disabled", ep, 8, 0);
         e.t.ret("send 2", e.a.send(c, "b", 1, 0));
         e.t.flag("both queued", e.wait_bytes(s, 2));
         e.ewait("wait, still disabled", ep, 8, 0);
         e.ctl("MOD re-arm", ep, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLONESHOT, 5);
         e.ewait("wait, fires again", ep, 8, 0);
         e.ewait("wait, disabled again", ep, 8, 0);
         e.ctl("ADD again", ep, EPOLL_CTL_ADD, s, EPOLLIN, 6);
         e.ctl("DEL", ep, EPOLL_CTL_DEL, s, 0);
         e.ewait("wait, deleted", ep, 8, 0);
       }},
      {"epoll_rdhup_on_peer_fin",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLRDHUP|EPOLLET", ep, EPOLL_CTL_ADD, s,
               EPOLLIN | EPOLLRDHUP | EPOLLET, 7);
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.ewait("wait", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
       }},
      {"epoll_hup_after_shut_rdwr",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD IN|OUT|RDHUP", ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 8);
         e.ewait("wait, writable", ep, 8, kWaitMs);
         e.t.ret("shutdown(SHUT_RDWR)", e.a.shutdown(s, SHUT_RDWR));
         e.ewait("wait", ep, 8, kWaitMs);
       }},
      {"epoll_hup_after_own_shut_wr_and_peer_fin",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN|EPOLLRDHUP", ep, EPOLL_CTL_ADD, c, EPOLLIN | EPOLLRDHUP, 9);
         e.t.ret("shutdown(c, SHUT_WR)", e.a.shutdown(c, SHUT_WR));
         e.ewait("wait after own SHUT_WR", ep, 8, 0);
         e.t.flag("server sees FIN", e.wait_for(s, POLLRDHUP));
         e.t.ret("shutdown(s, SHUT_WR)", e.a.shutdown(s, SHUT_WR));
         e.t.flag("client sees FIN", e.wait_for(c, POLLRDHUP));
         e.t.flag("client reports HUP", e.wait_for(c, POLLHUP));
         e.ewait("wait", ep, 8, 0);
       }},
      {"epoll_err_hup_on_reset_with_no_events_asked",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD events 0", ep, EPOLL_CTL_ADD, c, 0, 10);
         e.ewait("wait, nothing", ep, 8, 0);
         peer_rst(e, s);
         e.ewait("wait", ep, 8, kWaitMs);
         e.t.err("SO_ERROR", e.so_error(c));
         e.ewait("wait after SO_ERROR", ep, 8, 0);
       }},
      {"epoll_exclusive_two_instances_no_waiter",
       [](Env& e) {
         const int l = e.listener();
         const int ep1 = e.epoll();
         const int ep2 = e.epoll();
         if (l < 0 || !e.t.need(ep1 >= 0 && ep2 >= 0, "epoll_create1")) return;
         e.ctl("ADD to ep1", ep1, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 11);
         e.ctl("ADD to ep2", ep2, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLEXCLUSIVE, 12);
         const int c = e.tcp();
         e.t.ret("connect", e.connect(c, e.port(l)));
         e.t.flag("listener readable", e.wait_for(l, POLLIN));
         e.ewait("ep1", ep1, 8, 0);
         e.ewait("ep2", ep2, 8, 0);
       }},
      {"epoll_exclusive_waiter_on_first_instance",
       [](Env& e) { exclusive_wake_with_waiter(e, true); }},
      {"epoll_exclusive_waiter_on_second_instance",
       [](Env& e) { exclusive_wake_with_waiter(e, false); }},
      {"epoll_wait_in_another_thread_woken_by_data",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLIN", ep, EPOLL_CTL_ADD, s, EPOLLIN, 17);
         int n = 0;
         epoll_event ev{};
         std::thread waiter =
             start_blocked(e, "waiter", [&] { n = e.a.epoll_wait(ep, &ev, 1, kWaitMs); });
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         waiter.join();
         e.t.num("waiter got", n);
         e.t.bits("waiter events", n > 0 ? ev.events : 0);
         e.t.num("waiter data", n > 0 ? static_cast<long long>(ev.data.u64) : 0);
       }},
      {"epoll_nested_in_epoll",
       [](Env& e) {
         int c = -1, s = -1;
         const int inner = e.epoll();
         const int outer = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(inner >= 0 && outer >= 0, "epoll_create1")) return;
         e.ctl("ADD socket to inner", inner, EPOLL_CTL_ADD, s, EPOLLIN, 18);
         e.ctl("ADD inner to outer", outer, EPOLL_CTL_ADD, inner, EPOLLIN, 19);
         e.ctl("ADD outer to inner (loop)", inner, EPOLL_CTL_ADD, outer, EPOLLIN, 20);
         e.ewait("outer, nothing yet", outer, 8, 0);
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.ewait("outer", outer, 8, kWaitMs);
         e.ewait("inner", inner, 8, 0);
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.ewait("outer after the read", outer, 8, 0);
         e.ewait("inner after the read", inner, 8, 0);
         e.poll1("poll on inner", inner, POLLIN | POLLOUT, 0);
         e.t.ret("send again", e.a.send(c, "y", 1, 0));
         e.poll1("poll on inner, data", inner, POLLIN | POLLOUT, kWaitMs);
         e.ewait("outer, data", outer, 8, 0);
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.poll1("poll on inner, drained", inner, POLLIN, 0);
         e.poll1("poll on outer, drained", outer, POLLIN, 0);
       }},
      {"epoll_close_removes_socket_from_set",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, s, EPOLLIN, 21);
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.t.flag("queued", e.wait_bytes(s, 1));
         e.ewait("wait, ready", ep, 8, 0);
         e.close("close the socket", s);
         e.ewait("wait after close", ep, 8, 0);
         epoll_event ev{};
         e.t.ret("DEL of the closed descriptor", e.a.epoll_ctl(ep, EPOLL_CTL_DEL, s, &ev));
       }},
      {"epoll_maxevents_one_round_robin",
       [](Env& e) {
         int c1 = -1, s1 = -1, c2 = -1, s2 = -1;
         const int ep = e.epoll();
         if (!e.pair(&c1, &s1) || !e.pair(&c2, &s2) || !e.t.need(ep >= 0, "epoll_create1")) {
           return;
         }
         e.t.ret("send 1", e.a.send(c1, "x", 1, 0));
         e.t.ret("send 2", e.a.send(c2, "y", 1, 0));
         e.t.flag("queued", e.wait_bytes(s1, 1) && e.wait_bytes(s2, 1));
         e.ctl("ADD 1", ep, EPOLL_CTL_ADD, s1, EPOLLIN, 22);
         e.ctl("ADD 2", ep, EPOLL_CTL_ADD, s2, EPOLLIN, 23);
         e.ewait("wait 1", ep, 1, 0);
         e.ewait("wait 2", ep, 1, 0);
         e.ewait("wait 3", ep, 1, 0);
         e.ewait("wait all", ep, 8, 0);
       }},
      {"epoll_mod_changes_interest",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD EPOLLOUT", ep, EPOLL_CTL_ADD, s, EPOLLOUT, 24);
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.t.flag("queued", e.wait_bytes(s, 1));
         e.ewait("wait", ep, 8, 0);
         e.ctl("MOD EPOLLIN", ep, EPOLL_CTL_MOD, s, EPOLLIN, 25);
         e.ewait("wait after MOD", ep, 8, 0);
         e.ctl("MOD EPOLLRDHUP", ep, EPOLL_CTL_MOD, s, EPOLLRDHUP, 26);
         e.ewait("wait after MOD to RDHUP", ep, 8, 0);
       }},
      {"epoll_wait_timeout",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.epoll();
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, s, EPOLLIN, 27);
         const auto t0 = Clock::now();
         e.ewait("wait 150 ms", ep, 8, 150);
         const auto ms = ms_since(t0);
         e.t.flag("took about 150 ms", ms >= 140 && ms < 150 + 3000);
       }},
      {"epoll_level_triggered_listener",
       [](Env& e) {
         const int l = e.listener();
         const int ep = e.epoll();
         if (l < 0 || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, l, EPOLLIN | EPOLLOUT, 28);
         e.ewait("wait, no connection", ep, 8, 0);
         const int c = e.tcp();
         e.t.ret("connect", e.connect(c, e.port(l)));
         e.ewait("wait", ep, 8, kWaitMs);
         e.ewait("wait again", ep, 8, 0);
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         e.ewait("wait after accept", ep, 8, 0);
       }},
      {"epoll_fresh_and_connecting_socket",
       [](Env& e) {
         const int l = e.listener();
         const int ep = e.epoll();
         const int fresh = e.tcp();
         const int c = e.tcp(SOCK_NONBLOCK);
         if (l < 0 || !e.t.need(ep >= 0 && fresh >= 0 && c >= 0, "sockets")) return;
         e.ctl("ADD fresh socket", ep, EPOLL_CTL_ADD, fresh, EPOLLIN | EPOLLOUT, 29);
         e.ewait("wait", ep, 8, 0);
         e.ctl("DEL fresh socket", ep, EPOLL_CTL_DEL, fresh, 0);
         e.t.ret("connect", e.connect(c, e.port(l)));
         e.ctl("ADD connecting socket", ep, EPOLL_CTL_ADD, c, EPOLLOUT | EPOLLET, 30);
         e.ewait("wait for the connection", ep, 8, kWaitMs);
         e.t.err("SO_ERROR", e.so_error(c));
       }},
  };
}

std::vector<Scenario> epoll_errno_scenarios() {
  return {
      {"epoll_ctl_add_twice_eexist",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("ADD again", ep, EPOLL_CTL_ADD, u, EPOLLIN);
       }},
      {"epoll_ctl_mod_and_del_unknown_enoent",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("MOD", ep, EPOLL_CTL_MOD, u, EPOLLIN);
         e.ctl("DEL", ep, EPOLL_CTL_DEL, u, 0);
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("DEL", ep, EPOLL_CTL_DEL, u, 0);
         e.ctl("DEL again", ep, EPOLL_CTL_DEL, u, 0);
       }},
      {"epoll_ctl_bad_descriptors_ebadf",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         const int gone = e.a.socket(e.family, SOCK_DGRAM, 0);
         const int gone_ep = e.a.epoll_create1(0);
         if (!e.t.need(ep >= 0 && u >= 0 && gone >= 0 && gone_ep >= 0, "setup")) return;
         e.a.close(gone);
         e.a.close(gone_ep);
         e.ctl("ADD fd -1", ep, EPOLL_CTL_ADD, -1, EPOLLIN);
         e.ctl("ADD a closed socket", ep, EPOLL_CTL_ADD, gone, EPOLLIN);
         e.ctl("ADD on a closed epoll", gone_ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("ADD on epfd -1", -1, EPOLL_CTL_ADD, u, EPOLLIN);
       }},
      {"epoll_ctl_epfd_is_fd_einval",
       [](Env& e) {
         const int ep = e.epoll();
         if (!e.t.need(ep >= 0, "setup")) return;
         e.ctl("ADD epfd to itself", ep, EPOLL_CTL_ADD, ep, EPOLLIN);
       }},
      {"epoll_ctl_socket_as_epfd_einval",
       [](Env& e) {
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(u >= 0 && v >= 0, "setup")) return;
         e.ctl("ADD with a socket as epfd", u, EPOLL_CTL_ADD, v, EPOLLIN);
       }},
      {"epoll_ctl_exclusive_with_mod_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         const int v = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0 && v >= 0, "setup")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.ctl("MOD with EPOLLEXCLUSIVE", ep, EPOLL_CTL_MOD, u, EPOLLIN | EPOLLEXCLUSIVE);
         e.ctl("ADD exclusive", ep, EPOLL_CTL_ADD, v, EPOLLIN | EPOLLEXCLUSIVE);
         e.ctl("MOD of the exclusive item", ep, EPOLL_CTL_MOD, v, EPOLLIN);
         e.ctl("DEL of the exclusive item", ep, EPOLL_CTL_DEL, v, 0);
       }},
      {"epoll_ctl_exclusive_with_oneshot_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("ADD EXCLUSIVE|ONESHOT", ep, EPOLL_CTL_ADD, u,
               EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT);
         e.ctl("ADD EXCLUSIVE|RDHUP", ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP);
         e.ctl("ADD EXCLUSIVE|ET", ep, EPOLL_CTL_ADD, u, EPOLLIN | EPOLLEXCLUSIVE | EPOLLET);
       }},
      {"epoll_ctl_exclusive_on_epoll_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int inner = e.epoll();
         if (!e.t.need(ep >= 0 && inner >= 0, "setup")) return;
         e.ctl("ADD an epoll exclusively", ep, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE);
         e.ctl("ADD an epoll", ep, EPOLL_CTL_ADD, inner, EPOLLIN);
       }},
      {"epoll_ctl_null_event_efault",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.t.ret("ADD null", e.a.epoll_ctl(ep, EPOLL_CTL_ADD, u, nullptr));
         e.ctl("ADD", ep, EPOLL_CTL_ADD, u, EPOLLIN);
         e.t.ret("MOD null", e.a.epoll_ctl(ep, EPOLL_CTL_MOD, u, nullptr));
         e.t.ret("DEL null", e.a.epoll_ctl(ep, EPOLL_CTL_DEL, u, nullptr));
       }},
      {"epoll_ctl_unknown_op_einval",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         if (!e.t.need(ep >= 0 && u >= 0, "setup")) return;
         e.ctl("op 99", ep, 99, u, EPOLLIN);
       }},
      {"epoll_create1_bad_flags_einval",
       [](Env& e) {
         e.keep(e.t.fd("epoll_create1(1)", e.a.epoll_create1(1)));
         e.keep(e.t.fd("epoll_create1(O_NONBLOCK)", e.a.epoll_create1(O_NONBLOCK)));
         e.keep(e.t.fd("epoll_create1(EPOLL_CLOEXEC)", e.a.epoll_create1(EPOLL_CLOEXEC)));
       }},
      {"epoll_wait_bad_arguments",
       [](Env& e) {
         const int ep = e.epoll();
         const int u = e.udp();
         const int gone = e.a.epoll_create1(0);
         if (!e.t.need(ep >= 0 && u >= 0 && gone >= 0, "setup")) return;
         e.a.close(gone);
         epoll_event ev[2];
         e.t.ret("maxevents 0", e.a.epoll_wait(ep, ev, 0, 0));
         e.t.ret("maxevents -1", e.a.epoll_wait(ep, ev, -1, 0));
         e.t.ret("a socket as epfd", e.a.epoll_wait(u, ev, 2, 0));
         e.t.ret("a closed epfd", e.a.epoll_wait(gone, ev, 2, 0));
       }},
  };
}

std::vector<Scenario> select_scenarios() {
  return {
      {"select_timeout_expires_and_is_zeroed",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         fd_set r;
         FD_ZERO(&r);
         FD_SET(s, &r);
         timeval tv{0, 150'000};
         const auto t0 = Clock::now();
         e.t.ret("select", e.a.select(s + 1, &r, nullptr, nullptr, &tv));
         const auto ms = ms_since(t0);
         e.t.flag("took about 150 ms", ms >= 140 && ms < 150 + 3000);
         e.t.flag("still in the read set", FD_ISSET(s, &r));
         e.t.num("timeval left, s", tv.tv_sec);
         e.t.num("timeval left, us", tv.tv_usec);
       }},
      {"select_read_and_write_sets",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         e.t.flag("queued", e.wait_bytes(s, 1));
         fd_set r, w;
         FD_ZERO(&r);
         FD_ZERO(&w);
         FD_SET(s, &r);
         FD_SET(s, &w);
         FD_SET(c, &r);
         timeval tv{5, 0};
         e.t.ret("select", e.a.select(std::max(c, s) + 1, &r, &w, nullptr, &tv));
         e.t.flag("server readable", FD_ISSET(s, &r));
         e.t.flag("server writable", FD_ISSET(s, &w));
         e.t.flag("client readable", FD_ISSET(c, &r));
         e.t.flag("time left is most of 5 s", tv.tv_sec >= 4 && tv.tv_sec <= 5);
       }},
      {"select_listener_and_closed_descriptor",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const int c = e.tcp();
         e.t.ret("connect", e.connect(c, e.port(l)));
         fd_set r, w;
         FD_ZERO(&r);
         FD_ZERO(&w);
         FD_SET(l, &r);
         FD_SET(l, &w);
         timeval tv{5, 0};
         e.t.ret("select", e.a.select(l + 1, &r, &w, nullptr, &tv));
         e.t.flag("listener readable", FD_ISSET(l, &r));
         e.t.flag("listener writable", FD_ISSET(l, &w));
         const int gone = e.a.socket(e.family, SOCK_DGRAM, 0);
         e.a.close(gone);
         FD_ZERO(&r);
         FD_SET(gone, &r);
         tv = {0, 0};
         e.t.ret("select on a closed descriptor", e.a.select(gone + 1, &r, nullptr, nullptr, &tv));
       }},
  };
}

std::vector<Scenario> blocking_scenarios() {
  return {
      {"so_rcvtimeo_recv_eagain",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 200 ms", e.set_timeout(s, SO_RCVTIMEO, 200));
         timeval tv{};
         socklen_t len = sizeof(tv);
         e.t.ret("getsockopt", e.a.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
         e.t.num("SO_RCVTIMEO us", tv.tv_sec * 1'000'000LL + tv.tv_usec);
         const auto t0 = Clock::now();
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         const auto ms = ms_since(t0);
         e.t.flag("took about 200 ms", ms >= 190 && ms < 200 + 3000);
       }},
      {"so_rcvtimeo_accept_and_udp_eagain",
       [](Env& e) {
         const int l = e.listener();
         const int u = e.udp();
         if (l < 0 || !e.t.need(u >= 0, "socket")) return;
         e.t.ret("SO_RCVTIMEO on the listener", e.set_timeout(l, SO_RCVTIMEO, 150));
         e.t.ret("SO_RCVTIMEO on udp", e.set_timeout(u, SO_RCVTIMEO, 150));
         auto t0 = Clock::now();
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         auto ms = ms_since(t0);
         e.t.flag("accept took about 150 ms", ms >= 140 && ms < 150 + 3000);
         e.t.flag("udp bound", e.bind_any_port(u));
         t0 = Clock::now();
         char b[4];
         e.t.ret("udp recv", e.a.recv(u, b, sizeof(b), 0));
         ms = ms_since(t0);
         e.t.flag("udp recv took about 150 ms", ms >= 140 && ms < 150 + 3000);
       }},
      {"so_sndtimeo_send_eagain_when_full",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s, 16384, 16384)) return;
         e.t.ret("SO_SNDTIMEO 200 ms", e.set_timeout(c, SO_SNDTIMEO, 200));
         std::vector<char> big(1 << 20, 'x');
         auto t0 = Clock::now();
         const ssize_t first = e.a.send(c, big.data(), big.size(), MSG_NOSIGNAL);
         auto ms = ms_since(t0);
         e.t.flag("first send queued part of it", first > 0 && first < (1 << 20));
         e.t.flag("first send waited about 200 ms", ms >= 190 && ms < 200 + 3000);
         t0 = Clock::now();
         e.t.ret("second send", e.a.send(c, big.data(), 4096, MSG_NOSIGNAL));
         ms = ms_since(t0);
         e.t.flag("second send waited about 200 ms", ms >= 190 && ms < 200 + 3000);
         e.t.flag("peer reads it all", e.recv_exact(s, static_cast<std::size_t>(first)));
       }},
      {"blocked_recv_ended_by_shut_rd_from_another_thread",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(s, SO_RCVTIMEO, kWaitMs));
         ssize_t r = 0;
         int err = 0;
         std::thread reader = start_blocked(e, "reader", [&] {
           char b[8];
           r = e.a.recv(s, b, sizeof(b), 0);
           err = r < 0 ? errno : 0;
         });
         const auto t0 = Clock::now();
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(s, SHUT_RD));
         reader.join();
         e.t.ret_of("recv returned", r, err);
         e.t.flag("ended at once", ms_since(t0) < 2000);
       }},
      {"blocked_recv_ended_by_peer_reset",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(s, SO_RCVTIMEO, kWaitMs));
         ssize_t r = 0;
         int err = 0;
         std::thread reader = start_blocked(e, "reader", [&] {
           char b[8];
           r = e.a.recv(s, b, sizeof(b), 0);
           err = r < 0 ? errno : 0;
         });
         const auto t0 = Clock::now();
         peer_rst(e, c);
         reader.join();
         e.t.ret_of("recv returned", r, err);
         e.t.flag("ended at once", ms_since(t0) < 2000);
       }},
      {"close_of_socket_blocked_in_recv_in_another_thread",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.t.ret("SO_RCVTIMEO 1 s", e.set_timeout(s, SO_RCVTIMEO, 1000));
         ssize_t r = 0;
         int err = 0;
         long long took = 0;
         std::thread reader = start_blocked(e, "reader", [&] {
           char b[8];
           const auto t0 = Clock::now();
           r = blocked_call(e.a, [&] { return e.a.recv(s, b, sizeof(b), 0); });
           err = r < 0 ? errno : 0;
           took = ms_since(t0);
         });
         e.close("close", s);
         // The blocked call holds the socket: it is not woken, and the connection does not
         // end (no FIN) until the call returns.
         e.t.bits("peer right after the close", e.bits_now(c) & POLLRDHUP);
         reader.join();
         e.t.ret_of("recv returned", r, err);
         e.t.flag("recv ran to its timeout", took >= 950);
         e.t.flag("peer sees FIN after the call returned", e.wait_for(c, POLLRDHUP));
         char b[4];
         e.t.ret("recv on the closed descriptor", e.a.recv(s, b, sizeof(b), MSG_DONTWAIT));
       }},
      {"close_of_listener_blocked_in_accept_in_another_thread",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         const std::uint16_t port = e.port(l);
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(l, SO_RCVTIMEO, kWaitMs));
         int r = 0;
         int err = 0;
         std::thread acceptor = start_blocked(e, "acceptor", [&] {
           r = blocked_call(e.a, [&] { return e.a.accept4(l, nullptr, nullptr, 0); });
           err = r < 0 ? errno : 0;
         });
         e.close("close the listener", l);
         // The blocked accept holds the listener: it still listens, and takes this one.
         const int c = e.tcp();
         e.t.ret("connect", e.connect(c, port));
         acceptor.join();
         e.t.fd_of("accept returned", e.keep(r), err);
         const int c2 = e.tcp();
         e.t.ret("connect after the accept returned", e.connect(c2, port));
       }},
      {"close_of_epoll_another_thread_waits_on",
       [](Env& e) {
         int c = -1, s = -1;
         const int ep = e.a.epoll_create1(0);
         if (!e.pair(&c, &s) || !e.t.need(ep >= 0, "epoll_create1")) return;
         e.ctl("ADD", ep, EPOLL_CTL_ADD, s, EPOLLIN, 31);
         int n = 0;
         epoll_event ev{};
         std::thread waiter = start_blocked(e, "waiter", [&] {
           n = blocked_call(e.a, [&] { return e.a.epoll_wait(ep, &ev, 1, kWaitMs); });
         });
         e.t.ret("close the epoll", e.a.close(ep));
         // The wait in progress holds the instance, with what it watches, until it returns.
         const auto t0 = Clock::now();
         e.t.ret("send", e.a.send(c, "x", 1, 0));
         waiter.join();
         e.t.num("waiter got", n);
         e.t.bits("waiter events", n > 0 ? ev.events : 0);
         e.t.num("waiter data", n > 0 ? static_cast<long long>(ev.data.u64) : 0);
         e.t.flag("woken at once", ms_since(t0) < 2000);
       }},
      {"blocked_send_completes_when_peer_reads",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s, 16384, 16384)) return;
         constexpr std::size_t kBig = 1 << 20;
         ssize_t r = 0;
         std::thread writer = start_blocked(e, "writer", [&] {
           std::vector<char> big(kBig, 'y');
           r = e.a.send(c, big.data(), big.size(), MSG_NOSIGNAL);
         });
         e.t.flag("peer reads it all", e.recv_exact(s, kBig));
         writer.join();
         e.t.num("send returned", r);
       }},
      {"blocked_accept_woken_by_connection",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(l, SO_RCVTIMEO, kWaitMs));
         int r = 0;
         int err = 0;
         std::thread acceptor = start_blocked(e, "acceptor", [&] {
           r = e.a.accept4(l, nullptr, nullptr, 0);
           err = r < 0 ? errno : 0;
         });
         const int c = e.tcp();
         e.t.ret("connect", e.connect(c, e.port(l)));
         acceptor.join();
         e.t.fd_of("accept returned", e.keep(r), err);
         if (r >= 0) e.t.ret("send on the accepted", e.a.send(r, "x", 1, 0));
         e.t.flag("client gets it", e.wait_bytes(c, 1));
       }},
      {"blocked_accept_ended_by_listener_shutdown",
       [](Env& e) {
         const int l = e.listener();
         if (l < 0) return;
         e.t.ret("SO_RCVTIMEO 5 s (a bound)", e.set_timeout(l, SO_RCVTIMEO, kWaitMs));
         int r = 0;
         int err = 0;
         std::thread acceptor = start_blocked(e, "acceptor", [&] {
           r = e.a.accept4(l, nullptr, nullptr, 0);
           err = r < 0 ? errno : 0;
         });
         const auto t0 = Clock::now();
         e.t.ret("shutdown(SHUT_RD)", e.a.shutdown(l, SHUT_RD));
         acceptor.join();
         e.t.fd_of("accept returned", e.keep(r), err);
         e.t.flag("ended at once", ms_since(t0) < 2000);
         e.snap("listener", l);
       }},
      {"poll_timeout_zero_then_infinite_with_data_from_another_thread",
       [](Env& e) {
         int c = -1, s = -1;
         if (!e.pair(&c, &s)) return;
         e.poll1("poll timeout 0", s, POLLIN, 0);
         const pid_t me = ::gettid();
         bool asleep = false;
         ssize_t sent = 0;
         std::thread writer([&] {
           asleep = wait_until_asleep(me);
           sent = e.a.send(c, "x", 1, 0);
         });
         e.poll1("poll timeout -1", s, POLLIN, -1);
         writer.join();
         e.t.flag("poller was asleep", asleep);
         e.t.num("sent", sent);
       }},
      {"o_nonblock_via_fcntl",
       [](Env& e) {
         int c = -1, s = -1;
         const int l = e.listener();
         if (l < 0 || !e.pair(&c, &s)) return;
         e.t.num("F_GETFL", e.a.fcntl(s, F_GETFL, 0));
         e.t.ret("F_SETFL O_NONBLOCK", e.set_nonblocking(s, true));
         e.t.num("F_GETFL after", e.a.fcntl(s, F_GETFL, 0));
         char b[4];
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
         e.t.ret("F_SETFL O_NONBLOCK on the listener", e.set_nonblocking(l, true));
         e.keep(e.t.fd("accept", e.a.accept4(l, nullptr, nullptr, 0)));
         e.t.ret("F_SETFL blocking again", e.set_nonblocking(s, false));
         e.t.num("F_GETFL blocking", e.a.fcntl(s, F_GETFL, 0));
         e.t.ret("peer send", e.a.send(c, "ab", 2, 0));
         e.t.flag("queued", e.wait_bytes(s, 2));
         e.t.ret("recv", e.a.recv(s, b, sizeof(b), 0));
       }},
  };
}

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> kAll = [] {
    std::vector<Scenario> all;
    for (auto group : {poll_scenarios, epoll_scenarios, epoll_errno_scenarios, select_scenarios,
                       blocking_scenarios}) {
      auto v = group();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  }();
  return kAll;
}

// A row of the table: a scenario and the family it runs in. Every scenario runs in both:
// readiness does not depend on the family on Linux, so it must not on usnet either.
struct Row {
  std::size_t scenario;
  int family;
};

const std::vector<Row>& rows() {
  static const std::vector<Row> kRows = [] {
    std::vector<Row> r;
    for (int family : {AF_INET, AF_INET6}) {
      for (std::size_t i = 0; i < scenarios().size(); ++i)
        r.push_back({i, family});
    }
    return r;
  }();
  return kRows;
}

class ReadinessConformance : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() { enter_kernel_namespace_once("readiness conformance"); }
};

TEST_P(ReadinessConformance, KernelAndUsnetAgree) {
  const Row& row = rows()[GetParam()];
  const Scenario& sc = scenarios()[row.scenario];
  usnet_stack_use(nullptr);
  const Trace kernel = run(kKernel, sc, row.family);
  const Trace us = run(kUsnet, sc, row.family);
  EXPECT_TRUE(kernel.problems.empty())
      << sc.name << ": the kernel run broke: " << kernel.problems.front();
  EXPECT_TRUE(us.problems.empty()) << sc.name << ": the usnet run broke: " << us.problems.front();
  EXPECT_FALSE(kernel.entries.empty()) << sc.name << " observed nothing";
  EXPECT_TRUE(same(kernel, us)) << sc.name << "\n" << side_by_side(kernel, us);
}

std::string scenario_name(const ::testing::TestParamInfo<std::size_t>& info) {
  const Row& row = rows()[info.param];
  return std::string(scenarios()[row.scenario].name) + (row.family == AF_INET6 ? "_v6" : "");
}

INSTANTIATE_TEST_SUITE_P(Table, ReadinessConformance,
                         ::testing::Range<std::size_t>(0, rows().size()), scenario_name);

TEST(ReadinessConformanceTable, HasAtLeastFortyScenarios) {
  EXPECT_GE(scenarios().size(), 40u);
}

}  // namespace
