// `usnet demo`: the main job of the README.
//   1. Two usnet hosts in this process, joined by a memory wire: ping, UDP and a TCP
//      exchange between them, with the trace of every call and packet and a pcap of the wire.
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

void set_timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void banner(const std::string& s) {
  std::cout << "\n=== " << s << " ===\n" << std::flush;
}

bool tcp_exchange(usnet_stack* alice, usnet_stack* bob) {
  usnet_stack_use(bob);
  const int l = usnet_socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in bob_http = inet("198.18.0.2", 8080);
  if (usnet_bind(l, sa(bob_http), sizeof(bob_http)) < 0 || usnet_listen(l, 16) < 0) {
    std::cout << "bob cannot listen: " << std::strerror(errno) << "\n";
    return false;
  }
  set_timeout(l, 2000);
  usnet_stack_use(alice);
  const int c = usnet_socket(AF_INET, SOCK_STREAM, 0);
  set_timeout(c, 2000);
  // A blocking connect runs both stacks until the handshake is done.
  if (usnet_connect(c, sa(bob_http), sizeof(bob_http)) < 0) {
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

  // Ping: alice's ping socket to bob.
  std::cout << "\n--- alice pings bob ---\n" << std::flush;
  usnet_stack_use(alice);
  const int p = usnet_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  set_timeout(p, 2000);
  const sockaddr_in bob_addr = inet("198.18.0.2", 0);
  for (int seq = 1; seq <= 3; ++seq) {
    unsigned char req[8 + 16] = {ICMP_ECHO, 0, 0, 0, 0, 0, 0, static_cast<unsigned char>(seq)};
    const std::string_view text = "usnet demo ping!";
    std::copy(text.begin(), text.end(), req + 8);
    usnet_sendto(p, req, sizeof(req), 0, sa(bob_addr), sizeof(bob_addr));
    unsigned char rep[64];
    const ssize_t n = usnet_recv(p, rep, sizeof(rep), 0);
    if (n >= 8 && rep[0] == ICMP_ECHOREPLY && rep[7] == seq) {
      std::cout << fmt::format("reply from 198.18.0.2: icmp_seq={} ({} bytes)\n", seq, n);
    } else {
      std::cout << fmt::format("no reply for icmp_seq={}\n", seq);
      ok = false;
    }
  }
  usnet_close(p);

  // UDP: bob echoes what alice sends.
  std::cout << "\n--- UDP: alice -> bob:7 -> alice ---\n" << std::flush;
  usnet_stack_use(bob);
  const int b = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  const sockaddr_in bob_echo = inet("198.18.0.2", 7);
  usnet_bind(b, sa(bob_echo), sizeof(bob_echo));
  set_timeout(b, 2000);
  usnet_stack_use(alice);
  const int a = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  set_timeout(a, 2000);
  const char msg[] = "hello from alice";
  usnet_sendto(a, msg, sizeof(msg) - 1, 0, sa(bob_echo), sizeof(bob_echo));
  char buf[256] = {};
  sockaddr_in from{};
  socklen_t flen = sizeof(from);
  ssize_t n = usnet_recvfrom(b, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
  if (n > 0) {
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
    std::cout << fmt::format("bob got \"{}\" from {}:{}; echoing\n",
                             std::string(buf, static_cast<std::size_t>(n)), addr,
                             ntohs(from.sin_port));
    usnet_sendto(b, buf, static_cast<std::size_t>(n), 0, sa(from), flen);
  }
  char back[256] = {};
  n = usnet_recv(a, back, sizeof(back), 0);
  if (n == static_cast<ssize_t>(sizeof(msg) - 1) && std::memcmp(back, msg, sizeof(msg) - 1) == 0) {
    std::cout << fmt::format("alice got her echo back: \"{}\"\n",
                             std::string(back, static_cast<std::size_t>(n)));
  } else {
    std::cout << "alice got no echo\n";
    ok = false;
  }
  usnet_close(a);
  usnet_close(b);

  // TCP: bob listens, alice connects, a request and a reply, then both close.
  std::cout << "\n--- TCP: alice -> bob:8080, request and reply ---\n" << std::flush;
  ok = tcp_exchange(alice, bob) && ok;
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
