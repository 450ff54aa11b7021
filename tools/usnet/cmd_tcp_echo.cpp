// `usnet tcp-echo`: a TCP echo server (RFC 862) on a usnet host, on the C API only.
// Connections are served one after another.
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "tcp_io.h"
#include "tool_common.h"

namespace usnet::tool {
namespace {

struct TcpEchoOptions {
  NetOptions net;
  std::string bind = "0.0.0.0";
  int port = 7;
  long count = 0;
  bool counters = false;
};

int run_tcp_echo(const TcpEchoOptions& o) {
  install_stop_handlers();
  Host host;
  if (!setup_host(o.net, host)) return 2;
  const int lfd = tcp_listen_on(o.bind, o.port, "usnet tcp-echo");
  if (lfd < 0) return 2;
  // The accept loop wakes every 200 ms to notice Ctrl-C; accepted sockets inherit the
  // timeout (as on Linux), so each one is given back a blocking receive.
  timeval tick{0, 200'000};
  usnet_setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
  std::cout << fmt::format("usnet tcp-echo: listening on {}:{}", o.bind, o.port) << std::endl;
  std::vector<char> buf(64 * 1024);
  long served = 0;
  std::uint64_t bytes = 0;
  while (!stop_requested() && (o.count == 0 || served < o.count)) {
    const int fd = usnet_accept(lfd, nullptr, nullptr);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        std::cerr << "usnet tcp-echo: accept: " << std::strerror(errno) << "\n";
      }
      continue;
    }
    timeval forever{0, 0};
    usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
    for (;;) {
      const ssize_t n = usnet_recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) break;  // end of stream or error (reset)
      if (!send_all(fd, buf.data(), static_cast<std::size_t>(n))) break;
      bytes += static_cast<std::uint64_t>(n);
    }
    usnet_close(fd);
    ++served;
  }
  std::cout << fmt::format("usnet tcp-echo: {} connections, {} bytes echoed", served, bytes)
            << std::endl;
  if (o.counters) usnet_stack_dump_counters(host.stack, 1);
  usnet_close(lfd);
  return 0;
}

}  // namespace

void register_tcp_echo(CLI::App& app) {
  auto opts = std::make_shared<TcpEchoOptions>();
  CLI::App* cmd = app.add_subcommand("tcp-echo", "Echo TCP streams back to their sender");
  cmd->add_option("--bind", opts->bind, "Address to bind (default: all)");
  cmd->add_option("-p,--port", opts->port, "TCP port")->check(CLI::Range(1, 65535));
  cmd->add_option("--count", opts->count, "Exit after this many connections (0: never)");
  cmd->add_flag("--counters", opts->counters, "Print the stack's counters on exit");
  add_net_options(*cmd, opts->net);
  cmd->callback([opts] { throw CLI::RuntimeError(run_tcp_echo(*opts)); });
}

}  // namespace usnet::tool
