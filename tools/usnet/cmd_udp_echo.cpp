// `usnet udp-echo`: a UDP echo server (RFC 862) on a usnet host, on the C API only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "tool_common.h"

namespace usnet::tool {
namespace {

struct EchoOptions {
  NetOptions net;
  std::string bind = "0.0.0.0";
  int port = 7;
  long count = 0;
  bool counters = false;
};

int run_udp_echo(const EchoOptions& o) {
  install_stop_handlers();
  Host host;
  if (!setup_host(o.net, host)) return 2;
  const int fd = usnet_socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::cerr << "usnet udp-echo: socket: " << std::strerror(errno) << "\n";
    return 2;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.bind.c_str(), &addr.sin_addr) != 1) {
    std::cerr << "usnet udp-echo: bad --bind address " << o.bind << "\n";
    return 2;
  }
  if (usnet_bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
    std::cerr << "usnet udp-echo: bind: " << std::strerror(errno) << "\n";
    return 2;
  }
  // A short receive timeout so a signal is noticed promptly.
  timeval tv{0, 200'000};
  usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::cout << fmt::format("usnet udp-echo: listening on {}:{}", o.bind, o.port) << std::endl;
  std::vector<char> buf(65536);
  long echoed = 0;
  while (!stop_requested() && (o.count == 0 || echoed < o.count)) {
    sockaddr_in from{};
    socklen_t flen = sizeof(from);
    const ssize_t n =
        usnet_recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      std::cerr << "usnet udp-echo: recvfrom: " << std::strerror(errno) << "\n";
      continue;
    }
    if (usnet_sendto(fd, buf.data(), static_cast<std::size_t>(n), 0,
                     reinterpret_cast<sockaddr*>(&from), flen) < 0) {
      std::cerr << "usnet udp-echo: sendto: " << std::strerror(errno) << "\n";
      continue;
    }
    ++echoed;
  }
  std::cout << fmt::format("usnet udp-echo: echoed {} datagrams", echoed) << std::endl;
  if (o.counters) usnet_stack_dump_counters(host.stack, 1);
  usnet_close(fd);
  return 0;
}

}  // namespace

void register_udp_echo(CLI::App& app) {
  auto opts = std::make_shared<EchoOptions>();
  CLI::App* cmd = app.add_subcommand("udp-echo", "Echo UDP datagrams back to their sender");
  cmd->add_option("--bind", opts->bind, "Address to bind (default: all)");
  cmd->add_option("-p,--port", opts->port, "UDP port")->check(CLI::Range(1, 65535));
  cmd->add_option("--count", opts->count, "Exit after echoing this many datagrams (0: never)");
  cmd->add_flag("--counters", opts->counters, "Print the stack's counters on exit");
  add_net_options(*cmd, opts->net);
  cmd->callback([opts] { throw CLI::RuntimeError(run_udp_echo(*opts)); });
}

}  // namespace usnet::tool
