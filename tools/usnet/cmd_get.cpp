// `usnet get URL`: an HTTP/1.1 client (RFC 9112) on a usnet host, on the C API only. Saves
// the body (Content-Length, chunked, or to end of stream) and prints its size and digest.
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "tcp_io.h"
#include "tool_common.h"

namespace usnet::tool {
namespace {

struct GetOptions {
  NetOptions net;
  std::string url;
  std::string output;
  int timeout_s = 30;
  bool counters = false;
  bool sockets = false;
};

struct Url {
  std::string host;
  int port = 80;
  std::string path = "/";
};

std::optional<Url> parse_url(const std::string& s) {
  const std::string scheme = "http://";
  if (s.rfind(scheme, 0) != 0) return std::nullopt;
  Url u;
  const std::string rest = s.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.path = rest.substr(slash);
  // RFC 3986 3.2.2: an IPv6 literal is in brackets, and the port follows them.
  const std::size_t close = authority.rfind(']');
  const std::size_t colon = authority.find(':', close == std::string::npos ? 0 : close);
  if (colon != std::string::npos) {
    const std::string p = authority.substr(colon + 1);
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit))
      return std::nullopt;
    u.port = std::stoi(p);
    if (u.port < 1 || u.port > 65535) return std::nullopt;
    authority = authority.substr(0, colon);
  }
  u.host = authority;
  if (u.host.empty()) return std::nullopt;
  return u;
}

// Reads from fd into `in` until it holds at least `want` bytes or the stream ends.
bool fill(int fd, std::string& in, std::size_t want) {
  std::vector<char> buf(64 * 1024);
  while (in.size() < want) {
    const ssize_t n = usnet_recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) return false;
    if (n == 0) return in.size() >= want;
    in.append(buf.data(), static_cast<std::size_t>(n));
  }
  return true;
}

struct Sink {
  int out = -1;
  std::uint64_t bytes = 0;
  Fnv64 digest;
  bool write(const char* p, std::size_t n) {
    bytes += n;
    digest.add(p, n);
    while (n > 0) {
      const ssize_t w = ::write(out, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
};

int run_get(const GetOptions& o) {
  install_stop_handlers();
  auto url = parse_url(o.url);
  NetAddr addr;
  if (!url || !make_addr(url->host, url->port, addr)) {
    std::cerr << "usnet get: need http://IPv4[:port]/path or http://[IPv6][:port]/path, got "
              << o.url << "\n";
    return 2;
  }
  Host host;
  if (!setup_host(o.net, host)) return 2;
  const int fd = usnet_socket(addr.family(), SOCK_STREAM, 0);
  if (fd < 0) {
    std::cerr << "usnet get: socket: " << std::strerror(errno) << "\n";
    return 2;
  }
  timeval tv{o.timeout_s, 0};
  usnet_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  usnet_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  auto fail_net = [&](const char* what) {
    std::cerr << "usnet get: " << what << ": " << std::strerror(errno) << "\n";
    usnet_close(fd);
    return 2;
  };
  if (usnet_connect(fd, addr.sa(), addr.len) < 0) {
    return fail_net("connect");
  }
  const std::string req = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: usnet-get\r\nConnection: close\r\n\r\n",
      url->path, url->host);
  if (!send_all(fd, req.data(), req.size())) return fail_net("send");

  std::string in;
  std::size_t end = std::string::npos;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    const std::size_t before = in.size();
    if (!fill(fd, in, before + 1) || in.size() == before) return fail_net("reading the response");
    if (in.size() > 64 * 1024) {
      std::cerr << "usnet get: response header too large\n";
      usnet_close(fd);
      return 2;
    }
  }
  std::string head = in.substr(0, end);
  in.erase(0, end + 4);
  int status = 0;
  if (std::sscanf(head.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    std::cerr << "usnet get: not an HTTP response\n";
    usnet_close(fd);
    return 2;
  }
  std::string lower_head = head;
  std::transform(lower_head.begin(), lower_head.end(), lower_head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::optional<std::uint64_t> length;
  if (auto p = lower_head.find("\r\ncontent-length:"); p != std::string::npos) {
    length = std::strtoull(lower_head.c_str() + p + 17, nullptr, 10);
  }
  const bool chunked = lower_head.find("\r\ntransfer-encoding: chunked") != std::string::npos;

  std::string out_name = o.output;
  if (out_name.empty()) {
    const std::size_t slash = url->path.rfind('/');
    out_name = url->path.substr(slash + 1);
    if (out_name.empty()) out_name = "index.html";
  }
  Sink sink;
  sink.out = out_name == "-"
                 ? 1
                 : ::open(out_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (sink.out < 0) {
    std::cerr << "usnet get: cannot write " << out_name << ": " << std::strerror(errno) << "\n";
    usnet_close(fd);
    return 2;
  }
  bool ok = true;
  if (chunked) {
    for (;;) {
      std::size_t eol;
      while ((eol = in.find("\r\n")) == std::string::npos) {
        if (!fill(fd, in, in.size() + 1)) return fail_net("reading a chunk");
      }
      const std::uint64_t n = std::strtoull(in.c_str(), nullptr, 16);
      in.erase(0, eol + 2);
      if (n == 0) break;
      if (!fill(fd, in, n + 2)) return fail_net("reading a chunk");
      ok = ok && sink.write(in.data(), n);
      in.erase(0, n + 2);
    }
  } else {
    std::vector<char> buf(64 * 1024);
    std::uint64_t left = length.value_or(UINT64_MAX);
    const std::size_t first = static_cast<std::size_t>(std::min<std::uint64_t>(in.size(), left));
    ok = sink.write(in.data(), first);
    left -= first;
    while (ok && left > 0) {
      const ssize_t n = usnet_recv(
          fd, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), left)), 0);
      if (n < 0) return fail_net("reading the body");
      if (n == 0) break;
      ok = sink.write(buf.data(), static_cast<std::size_t>(n));
      left -= static_cast<std::uint64_t>(n);
    }
    if (length && sink.bytes != *length) {
      std::cerr << fmt::format("usnet get: body ended after {} of {} bytes\n", sink.bytes, *length);
      ok = false;
    }
  }
  if (sink.out != 1) ::close(sink.out);
  std::cerr << fmt::format("usnet get: {} {} bytes fnv64 {:016x} -> {}\n", status, sink.bytes,
                           sink.digest.h, out_name);
  if (o.sockets) usnet_stack_dump_sockets(host.stack, 2);
  if (o.counters) usnet_stack_dump_counters(host.stack, 2);
  usnet_close(fd);
  drain_closed_connections(host);
  if (!ok) return 2;
  return status >= 200 && status < 300 ? 0 : 1;
}

}  // namespace

void register_get(CLI::App& app) {
  auto opts = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand("get", "Download a URL over HTTP/1.1 and save the body");
  cmd->add_option("url", opts->url, "http://IPv4[:port]/path")->required();
  cmd->add_option("-o,--output", opts->output,
                  "File to write (- for stdout; default: the path's last part)");
  cmd->add_option("--timeout", opts->timeout_s, "Seconds a connect, send or receive may wait")
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--counters", opts->counters, "Print the stack's counters (stderr)");
  cmd->add_flag("--sockets", opts->sockets, "Print the stack's TCP sockets (stderr)");
  add_net_options(*cmd, opts->net);
  cmd->callback([opts] { throw CLI::RuntimeError(run_get(*opts)); });
}

}  // namespace usnet::tool
