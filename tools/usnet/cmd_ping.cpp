// `usnet ping HOST`: ICMP echo through a usnet ping socket (SOCK_DGRAM, IPPROTO_ICMP), on
// the C API only, reporting like ping(8).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "tool_common.h"

namespace usnet::tool {
namespace {

struct PingOptions {
  NetOptions net;
  std::string host;
  int count = 4;
  double interval = 1.0;
  int size = 56;
  double timeout = 2.0;
};

int run_ping(const PingOptions& o) {
  install_stop_handlers();
  Host host;
  if (!setup_host(o.net, host)) return 2;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  if (inet_pton(AF_INET, o.host.c_str(), &dst.sin_addr) != 1) {
    std::cerr << "usnet ping: " << o.host << ": not an IPv4 address\n";
    return 2;
  }
  const int fd = usnet_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (fd < 0) {
    std::cerr << "usnet ping: socket: " << std::strerror(errno) << "\n";
    return 2;
  }
  std::cout << fmt::format("PING {} {}({}) bytes of data.\n", o.host, o.size, o.size + 28);
  std::vector<unsigned char> req(8 + static_cast<std::size_t>(o.size));
  std::vector<unsigned char> rep(65536);
  int sent = 0;
  int received = 0;
  double rtt_min = 1e9, rtt_max = 0, rtt_sum = 0;
  const auto interval = std::chrono::duration<double>(o.interval);
  for (int seq = 1; seq <= o.count && !stop_requested(); ++seq) {
    const auto t0 = std::chrono::steady_clock::now();
    std::fill(req.begin(), req.end(), 0);
    req[0] = ICMP_ECHO;
    req[6] = static_cast<unsigned char>(seq >> 8);
    req[7] = static_cast<unsigned char>(seq & 0xff);
    for (std::size_t i = 8; i < req.size(); ++i)
      req[i] = static_cast<unsigned char>(i);
    if (usnet_sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                     sizeof(dst)) < 0) {
      std::cerr << "usnet ping: sendto: " << std::strerror(errno) << "\n";
    } else {
      ++sent;
    }
    // Wait for this sequence's reply until the timeout; ignore stray older replies.
    const auto wait_until = t0 + std::chrono::duration<double>(o.timeout);
    while (!stop_requested()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= wait_until) break;
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(wait_until - now);
      timeval tv{static_cast<time_t>(left.count() / 1000000),
                 static_cast<suseconds_t>(left.count() % 1000000)};
      if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;
      usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      sockaddr_in from{};
      socklen_t flen = sizeof(from);
      const ssize_t n =
          usnet_recvfrom(fd, rep.data(), rep.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 8) continue;
      const int rseq = (rep[6] << 8) | rep[7];
      if (rep[0] != ICMP_ECHOREPLY || rseq != seq) continue;
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      char addr[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
      std::cout << fmt::format("{} bytes from {}: icmp_seq={} time={:.3f} ms\n", n, addr, seq, ms)
                << std::flush;
      ++received;
      rtt_min = std::min(rtt_min, ms);
      rtt_max = std::max(rtt_max, ms);
      rtt_sum += ms;
      break;
    }
    if (seq < o.count) {
      const auto next =
          t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval);
      while (!stop_requested() && std::chrono::steady_clock::now() < next) {
        if (host.rt != nullptr) {
          usnet_runtime_poll(host.rt, 10);
        } else {
          usnet_runtime_poll(usnet_stack_runtime(usnet_stack_current()), 10);
        }
      }
    }
  }
  usnet_close(fd);
  const int loss = sent == 0 ? 100 : (sent - received) * 100 / sent;
  std::cout << fmt::format("\n--- {} ping statistics ---\n", o.host)
            << fmt::format("{} packets transmitted, {} received, {}% packet loss\n", sent, received,
                           loss);
  if (received > 0) {
    std::cout << fmt::format("rtt min/avg/max = {:.3f}/{:.3f}/{:.3f} ms\n", rtt_min,
                             rtt_sum / received, rtt_max);
  }
  return received > 0 ? 0 : 1;
}

}  // namespace

void register_ping(CLI::App& app) {
  auto opts = std::make_shared<PingOptions>();
  CLI::App* cmd = app.add_subcommand("ping", "Send ICMP echo requests from a usnet host");
  cmd->add_option("host", opts->host, "IPv4 address to ping")->required();
  cmd->add_option("-c,--count", opts->count, "Number of requests")->check(CLI::Range(1, 1000000));
  cmd->add_option("-i,--interval", opts->interval, "Seconds between requests")
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("-s,--size", opts->size, "Data bytes per request")->check(CLI::Range(0, 65499));
  cmd->add_option("-W,--timeout", opts->timeout, "Seconds to wait for each reply")
      ->check(CLI::Range(0.001, 3600.0));
  add_net_options(*cmd, opts->net);
  cmd->callback([opts] { throw CLI::RuntimeError(run_ping(*opts)); });
}

}  // namespace usnet::tool
