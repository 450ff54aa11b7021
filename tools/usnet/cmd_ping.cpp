// `usnet ping HOST`: ICMP echo through a usnet ping socket (SOCK_DGRAM, IPPROTO_ICMP, or
// IPPROTO_ICMPV6 for an IPv6 HOST, link-local ones as fe80::1%IFACE), on the C API only,
// reporting like ping(8) of iputils.
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
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

// The destination: an IPv4 address, or an IPv6 one with an optional %IFACE (the TAP's
// name, "lo", or an interface number) that becomes sin6_scope_id, as ping(8) takes it.
struct Destination {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_UNSPEC;
};

std::optional<Destination> parse_destination(const std::string& text, const PingOptions& o,
                                             const Host& host) {
  Destination d;
  sockaddr_in sin{};
  if (inet_pton(AF_INET, text.c_str(), &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    std::memcpy(&d.ss, &sin, sizeof(sin));
    d.len = sizeof(sin);
    d.family = AF_INET;
    return d;
  }
  const auto pct = text.find('%');
  const std::string addr = text.substr(0, pct);
  sockaddr_in6 sin6{};
  if (inet_pton(AF_INET6, addr.c_str(), &sin6.sin6_addr) != 1) {
    std::cerr << "usnet ping: " << text << ": not an IPv4 or IPv6 address\n";
    return std::nullopt;
  }
  sin6.sin6_family = AF_INET6;
  if (pct != std::string::npos) {
    const std::string ifc = text.substr(pct + 1);
    if (ifc == "lo") {
      sin6.sin6_scope_id = 1;
    } else if (!ifc.empty() && host.ifindex != 0 &&
               (ifc == o.net.tap || ifc == usnet_stack_tap_name(host.stack, host.ifindex))) {
      sin6.sin6_scope_id = static_cast<std::uint32_t>(host.ifindex);
    } else if (!ifc.empty() && ifc.find_first_not_of("0123456789") == std::string::npos) {
      sin6.sin6_scope_id = static_cast<std::uint32_t>(std::stoul(ifc));
    } else {
      std::cerr << "usnet ping: " << text << ": no interface " << ifc << "\n";
      return std::nullopt;
    }
  }
  std::memcpy(&d.ss, &sin6, sizeof(sin6));
  d.len = sizeof(sin6);
  d.family = AF_INET6;
  return d;
}

// An address as ping(8) prints it: a link-local IPv6 one with its %IFACE.
std::string address_text(const sockaddr_storage& ss, const std::string& scope_name) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &ss, sizeof(sin6));
    inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof(buf));
    std::string out = buf;
    if (sin6.sin6_scope_id != 0) out += "%" + scope_name;
    return out;
  }
  sockaddr_in sin{};
  std::memcpy(&sin, &ss, sizeof(sin));
  inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof(buf));
  return buf;
}

int run_ping(const PingOptions& o) {
  install_stop_handlers();
  Host host;
  if (!setup_host(o.net, host)) return 2;
  const auto dst = parse_destination(o.host, o, host);
  if (!dst) return 2;
  const bool v6 = dst->family == AF_INET6;
  const auto pct = o.host.find('%');
  const std::string scope_name = pct == std::string::npos ? "" : o.host.substr(pct + 1);
  const int fd =
      usnet_socket(dst->family, SOCK_DGRAM, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
  if (fd < 0) {
    std::cerr << "usnet ping: socket: " << std::strerror(errno) << "\n";
    return 2;
  }
  if (v6) {
    std::cout << fmt::format("PING {} ({}) {} data bytes\n", o.host,
                             address_text(dst->ss, scope_name), o.size);
  } else {
    std::cout << fmt::format("PING {} ({}) {}({}) bytes of data.\n", o.host, o.host, o.size,
                             o.size + 28);
  }
  std::vector<unsigned char> req(8 + static_cast<std::size_t>(o.size));
  std::vector<unsigned char> rep(65536);
  int sent = 0;
  int received = 0;
  double rtt_min = 1e9, rtt_max = 0, rtt_sum = 0;
  const auto interval = std::chrono::duration<double>(o.interval);
  for (int seq = 1; seq <= o.count && !stop_requested(); ++seq) {
    const auto t0 = std::chrono::steady_clock::now();
    std::fill(req.begin(), req.end(), 0);
    req[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
    req[6] = static_cast<unsigned char>(seq >> 8);
    req[7] = static_cast<unsigned char>(seq & 0xff);
    for (std::size_t i = 8; i < req.size(); ++i)
      req[i] = static_cast<unsigned char>(i);
    if (usnet_sendto(fd, req.data(), req.size(), 0, reinterpret_cast<const sockaddr*>(&dst->ss),
                     dst->len) < 0) {
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
      sockaddr_storage from{};
      socklen_t flen = sizeof(from);
      const ssize_t n =
          usnet_recvfrom(fd, rep.data(), rep.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 8) continue;
      const int rseq = (rep[6] << 8) | rep[7];
      if (rep[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) || rseq != seq) continue;
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      const std::string addr = address_text(from, scope_name);
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
  cmd->add_option("host", opts->host, "IPv4 or IPv6 address to ping (link-local: fe80::1%IFACE)")
      ->required();
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
