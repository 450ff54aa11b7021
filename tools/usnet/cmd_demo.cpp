// `usnet demo`: the main job of the README.
//   1. Two usnet hosts in this process, joined by a memory wire: ping, UDP and a TCP
//      exchange between them over IPv4, then the same over IPv6, with the trace of every
//      call and packet and a pcap of the wire.
//   2. As root with /dev/net/tun: a usnet host on a TAP inside a network namespace the demo
//      creates, answering the Linux kernel's own `ping`, `nc -u` and `curl`; everything it
//      created is removed at the end, also on Ctrl-C.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "tool_common.h"

namespace usnet::tool {
namespace {

struct DemoOptions {
  std::string pcap = "usnet-demo.pcap";
  bool quiet = false;
  bool no_tap = false;
};

sockaddr_in inet(const char* a, std::uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  inet_pton(AF_INET, a, &s.sin_addr);
  return s;
}
const sockaddr* sa(const sockaddr_in& a) {
  return reinterpret_cast<const sockaddr*>(&a);
}

// An address of either family, with the text the demo prints for it.
struct DemoAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  std::string text;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

DemoAddr demo_addr(const char* a, std::uint16_t port) {
  DemoAddr d;
  d.text = a;
  sockaddr_in6 s6{};
  if (inet_pton(AF_INET6, a, &s6.sin6_addr) == 1) {
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons(port);
    std::memcpy(&d.ss, &s6, sizeof(s6));
    d.len = sizeof(s6);
    d.family = AF_INET6;
    return d;
  }
  const sockaddr_in s4 = inet(a, port);
  std::memcpy(&d.ss, &s4, sizeof(s4));
  d.len = sizeof(s4);
  return d;
}

std::string addr_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof(buf));
    return fmt::format("[{}]:{}", buf,
                       ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port));
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  return fmt::format("{}:{}", buf, ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port));
}

void set_timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void banner(const std::string& s) {
  std::cout << "\n=== " << s << " ===\n" << std::flush;
}

bool tcp_exchange(usnet_stack* alice, usnet_stack* bob, const char* bob_ip) {
  usnet_stack_use(bob);
  const DemoAddr bob_http = demo_addr(bob_ip, 8080);
  const int l = usnet_socket(bob_http.family, SOCK_STREAM, 0);
  if (usnet_bind(l, bob_http.get(), bob_http.len) < 0 || usnet_listen(l, 16) < 0) {
    std::cout << "bob cannot listen: " << std::strerror(errno) << "\n";
    return false;
  }
  set_timeout(l, 2000);
  usnet_stack_use(alice);
  const int c = usnet_socket(bob_http.family, SOCK_STREAM, 0);
  set_timeout(c, 2000);
  // A blocking connect runs both stacks until the handshake is done.
  if (usnet_connect(c, bob_http.get(), bob_http.len) < 0) {
    std::cout << "alice cannot connect: " << std::strerror(errno) << "\n";
    return false;
  }
  const int s = usnet_accept(l, nullptr, nullptr);
  if (s < 0) {
    std::cout << "bob accepted nothing: " << std::strerror(errno) << "\n";
    return false;
  }
  const std::string_view req = "GET /hello HTTP/1.1\r\nHost: bob\r\n\r\n";
  usnet_send(c, req.data(), req.size(), 0);
  char buf[512] = {};
  ssize_t n = usnet_recv(s, buf, sizeof(buf), 0);
  std::cout << fmt::format(
      "bob read {} bytes: {}\n", n,
      n > 0 ? std::string(buf, static_cast<std::size_t>(n)).substr(0, 16) : "");
  const std::string_view rep = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello alice\n";
  usnet_send(s, rep.data(), rep.size(), 0);
  usnet_shutdown(s, SHUT_WR);
  std::string got;
  while ((n = usnet_recv(c, buf, sizeof(buf), 0)) > 0)
    got.append(buf, static_cast<std::size_t>(n));
  std::cout << fmt::format("alice read {} bytes, then end of stream\n", got.size());
  usnet_close(c);  // alice closes second: bob's end goes through TIME_WAIT
  usnet_close(s);
  usnet_close(l);
  return got == rep;
}

// Ping: alice's ping socket (ICMP, or ICMPv6 for an IPv6 address) to bob.
bool ping_bob(usnet_stack* alice, const char* bob_ip) {
  const DemoAddr bob_addr = demo_addr(bob_ip, 0);
  const bool v6 = bob_addr.family == AF_INET6;
  std::cout << fmt::format("\n--- alice pings bob ({}) ---\n", bob_ip) << std::flush;
  usnet_stack_use(alice);
  const int p =
      usnet_socket(bob_addr.family, SOCK_DGRAM, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
  set_timeout(p, 2000);
  bool ok = true;
  // ICMPv6 echo request / reply are types 128 / 129 (RFC 4443 4.1, 4.2).
  const unsigned char request = v6 ? 128 : ICMP_ECHO;
  const unsigned char reply = v6 ? 129 : ICMP_ECHOREPLY;
  for (int seq = 1; seq <= 3; ++seq) {
    unsigned char req[8 + 16] = {request, 0, 0, 0, 0, 0, 0, static_cast<unsigned char>(seq)};
    const std::string_view text = "usnet demo ping!";
    std::copy(text.begin(), text.end(), req + 8);
    usnet_sendto(p, req, sizeof(req), 0, bob_addr.get(), bob_addr.len);
    unsigned char rep[64];
    const ssize_t n = usnet_recv(p, rep, sizeof(rep), 0);
    if (n >= 8 && rep[0] == reply && rep[7] == seq) {
      std::cout << fmt::format("reply from {}: icmp_seq={} ({} bytes)\n", bob_ip, seq, n);
    } else {
      std::cout << fmt::format("no reply for icmp_seq={}\n", seq);
      ok = false;
    }
  }
  usnet_close(p);
  return ok;
}

// UDP: bob echoes what alice sends.
bool udp_echo(usnet_stack* alice, usnet_stack* bob, const char* bob_ip) {
  const DemoAddr bob_echo = demo_addr(bob_ip, 7);
  std::cout << fmt::format("\n--- UDP: alice -> {} -> alice ---\n", addr_text(bob_echo.ss))
            << std::flush;
  usnet_stack_use(bob);
  const int b = usnet_socket(bob_echo.family, SOCK_DGRAM, 0);
  usnet_bind(b, bob_echo.get(), bob_echo.len);
  set_timeout(b, 2000);
  usnet_stack_use(alice);
  const int a = usnet_socket(bob_echo.family, SOCK_DGRAM, 0);
  set_timeout(a, 2000);
  const char msg[] = "hello from alice";
  usnet_sendto(a, msg, sizeof(msg) - 1, 0, bob_echo.get(), bob_echo.len);
  char buf[256] = {};
  sockaddr_storage from{};
  socklen_t flen = sizeof(from);
  ssize_t n = usnet_recvfrom(b, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
  if (n > 0) {
    std::cout << fmt::format("bob got \"{}\" from {}; echoing\n",
                             std::string(buf, static_cast<std::size_t>(n)), addr_text(from));
    usnet_sendto(b, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), flen);
  }
  char back[256] = {};
  n = usnet_recv(a, back, sizeof(back), 0);
  bool ok = true;
  if (n == static_cast<ssize_t>(sizeof(msg) - 1) && std::memcmp(back, msg, sizeof(msg) - 1) == 0) {
    std::cout << fmt::format("alice got her echo back: \"{}\"\n",
                             std::string(back, static_cast<std::size_t>(n)));
  } else {
    std::cout << "alice got no echo\n";
    ok = false;
  }
  usnet_close(a);
  usnet_close(b);
  return ok;
}

bool in_process(const DemoOptions& o) {
  banner("Two usnet hosts in one process over a memory wire");
  usnet_runtime* rt = usnet_runtime_new();
  usnet_stack* alice = usnet_stack_new(rt, "alice", 1);
  usnet_stack* bob = usnet_stack_new(rt, "bob", 2);
  if (!o.quiet) {
    usnet_trace(alice, 1);
    usnet_trace(bob, 1);
  }
  usnet_impairments wire{};
  wire.delay_us = 500;  // half a millisecond each way
  if (usnet_wire_connect(alice, "198.18.0.1/24", bob, "198.18.0.2/24", &wire,
                         o.pcap.empty() ? nullptr : o.pcap.c_str()) < 0) {
    std::cerr << "usnet demo: wire: " << std::strerror(errno) << "\n";
    usnet_runtime_free(rt);
    return false;
  }
  std::cout << "alice 198.18.0.1/24 <-- memory wire, 0.5 ms --> bob 198.18.0.2/24\n";
  bool ok = true;

  ok = ping_bob(alice, "198.18.0.2") && ok;
  ok = udp_echo(alice, bob, "198.18.0.2") && ok;
  // TCP: bob listens, alice connects, a request and a reply, then both close.
  std::cout << "\n--- TCP: alice -> bob:8080, request and reply ---\n" << std::flush;
  ok = tcp_exchange(alice, bob, "198.18.0.2") && ok;

  // The same over IPv6 on the same wire: bob is found by neighbour discovery (RFC 4861),
  // the ping goes out of an ICMPv6 ping socket, UDP and TCP over AF_INET6 sockets.
  banner("The same over IPv6");
  if (usnet_stack_add_address(alice, 2, "2001:db8::1/64") < 0 ||
      usnet_stack_add_address(bob, 2, "2001:db8::2/64") < 0) {
    std::cout << "cannot add the IPv6 addresses: " << std::strerror(errno) << "\n";
    ok = false;
  } else {
    std::cout << "alice 2001:db8::1/64 <-- the same wire --> bob 2001:db8::2/64\n";
    ok = ping_bob(alice, "2001:db8::2") && ok;
    ok = udp_echo(alice, bob, "2001:db8::2") && ok;
    std::cout << "\n--- TCP: alice -> [2001:db8::2]:8080, request and reply ---\n" << std::flush;
    ok = tcp_exchange(alice, bob, "2001:db8::2") && ok;
  }
  std::cout << "\n--- alice's TCP sockets (as ss -tni) ---\n" << std::flush;
  usnet_stack_dump_sockets(alice, STDOUT_FILENO);
  std::cout << "\n--- alice's counters (nstat names) ---\n" << std::flush;
  usnet_stack_dump_counters(alice, STDOUT_FILENO);
  if (!o.pcap.empty()) std::cout << "\nEvery frame on the wire is in " << o.pcap << "\n";
  usnet_runtime_free(rt);
  return ok;
}

// Serves one HTTP request from the kernel's curl, without blocking, while waiting for it.
bool serve_curl(Host& host, const std::string& ns_name) {
  const int l = usnet_socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in me = inet("198.18.1.2", 80);
  if (usnet_bind(l, sa(me), sizeof(me)) < 0 || usnet_listen(l, 16) < 0) {
    std::cout << "cannot listen: " << std::strerror(errno) << "\n";
    return false;
  }
  usnet_fcntl(l, F_SETFL, O_NONBLOCK);
  Child curl = spawn({"ip", "netns", "exec", ns_name, "curl", "-s", "-S", "--max-time", "5",
                      "http://198.18.1.2/hello"},
                     true);
  int conn = -1;
  std::string req;
  bool answered = false;
  std::string out;
  wait_child(
      host.rt, curl, std::chrono::seconds(10),
      [&] {
        if (answered) return;
        if (conn < 0) conn = usnet_accept4(l, nullptr, nullptr, SOCK_NONBLOCK);
        if (conn < 0) return;
        char buf[2048];
        const ssize_t n = usnet_recv(conn, buf, sizeof(buf), 0);
        if (n > 0) req.append(buf, static_cast<std::size_t>(n));
        if (req.find("\r\n\r\n") == std::string::npos) return;
        const std::string_view rep =
            "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close\r\n\r\n"
            "hello from usnet over TCP\n";
        usnet_send(conn, rep.data(), rep.size(), 0);
        usnet_close(conn);  // the FIN follows the reply
        answered = true;
      },
      &out);
  std::cout << "curl printed: " << out;
  usnet_close(l);
  return out.find("hello from usnet over TCP") != std::string::npos;
}

bool with_kernel(const DemoOptions& o) {
  banner("A usnet host on a TAP, talking to the Linux kernel");
  std::string why;
  if (!have_tap_privileges(&why)) {
    std::cout << "SKIPPED: " << why << " (run as root with /dev/net/tun for this part)\n";
    return true;
  }
  const std::string ns_name = fmt::format("usnet-demo-{}", ::getpid());
  auto ns = Netns::create(ns_name);
  if (!ns) {
    std::cerr << "usnet demo: cannot create network namespace " << ns_name << "\n";
    return false;
  }
  std::cout << "created network namespace " << ns_name << "\n";
  bool ok = true;
  {
    NetOptions net;
    net.tap = "usnet0";
    net.netns = ns_name;
    net.addr = "198.18.1.2/24";
    net.peer_addr = "198.18.1.1/24";
    net.trace = !o.quiet;
    Host host;
    if (!setup_host(net, host)) return false;
    std::cout << "kernel 198.18.1.1/24 (tap usnet0 in " << ns_name
              << ") <--> usnet 198.18.1.2/24\n";

    std::cout << "\n--- the kernel's ping -> usnet ---\n" << std::flush;
    Child ping = spawn(
        {"ip", "netns", "exec", ns_name, "ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.1.2"},
        true);
    std::string out;
    const int rc = wait_child(host.rt, ping, std::chrono::seconds(15), {}, &out);
    std::cout << out;
    ok = ok && rc == 0;

    if (stop_requested()) return false;
    std::cout << "\n--- the kernel's nc -u -> usnet udp echo ---\n" << std::flush;
    const int fd = usnet_socket(AF_INET, SOCK_DGRAM, 0);
    const sockaddr_in me = inet("198.18.1.2", 7);
    usnet_bind(fd, sa(me), sizeof(me));
    const int fl = usnet_fcntl(fd, F_GETFL);
    usnet_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    Child nc = spawn({"ip", "netns", "exec", ns_name, "sh", "-c",
                      "(echo 'hello from the kernel'; sleep 1) | nc -u -w 1 198.18.1.2 7"},
                     true);
    out.clear();
    int echoed = 0;
    wait_child(
        host.rt, nc, std::chrono::seconds(10),
        [&] {
          char buf[2048];
          sockaddr_in from{};
          socklen_t flen = sizeof(from);
          const ssize_t n =
              usnet_recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
          if (n > 0) {
            usnet_sendto(fd, buf, static_cast<std::size_t>(n), 0, sa(from), flen);
            ++echoed;
          }
        },
        &out);
    std::cout << "nc printed: " << out;
    if (out.find("hello from the kernel") == std::string::npos) ok = false;
    usnet_close(fd);
    std::cout << fmt::format("usnet echoed {} datagram(s)\n", echoed);

    if (stop_requested()) return false;
    std::cout << "\n--- the kernel's curl -> usnet HTTP on port 80 ---\n" << std::flush;
    ok = serve_curl(host, ns_name) && ok;
  }
  std::cout << "removed network namespace " << ns_name << " and its TAP\n";
  return ok;
}

int run_demo(const DemoOptions& o) {
  install_stop_handlers();
  bool ok = in_process(o);
  if (!o.no_tap && !stop_requested()) ok = with_kernel(o) && ok;
  if (stop_requested()) {
    std::cout << "\ndemo interrupted; everything it created has been removed\n";
    return 130;  // 128 + SIGINT, as a shell reports it
  }
  std::cout << (ok ? "\ndemo finished: everything answered\n" : "\ndemo finished with failures\n");
  return ok ? 0 : 1;
}

}  // namespace

void register_demo(CLI::App& app) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Show usnet at work: two hosts in one process, then (as root) the Linux kernel");
  cmd->add_option("--pcap", opts->pcap,
                  "Where to write the in-process wire's frames ('' for none)");
  cmd->add_flag("-q,--quiet", opts->quiet, "Do not print the trace of calls and packets");
  cmd->add_flag("--no-tap", opts->no_tap, "Skip the part with a TAP device and the kernel");
  cmd->callback([opts] { throw CLI::RuntimeError(run_demo(*opts)); });
}

}  // namespace usnet::tool
