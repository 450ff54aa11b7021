#include "preload/resolver_files.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "preload/dns_message.h"

namespace usnet::dns {
namespace {

// The line without its comment (hosts(5): '#'; resolv.conf(5): '#' or ';' in column 1).
std::string_view strip_comment(std::string_view line, bool semicolon) {
  std::size_t cut = line.find('#');
  if (semicolon && !line.empty() && line.front() == ';') cut = 0;
  return line.substr(0, cut);
}

std::vector<std::string> words_of(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;)
    words.push_back(std::move(w));
  return words;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    fn(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

int bounded(const std::string& value, int lo, int hi, int fallback) {
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\0') return fallback;
  return static_cast<int>(std::clamp<long>(v, lo, hi));
}

// The scope of `fe80::1%SCOPE`: an interface name (if_nametoindex, which shows usnet's
// interfaces under the preload) or a number, as glibc's resolver reads it; 0 if neither.
std::uint32_t scope_of(const std::string& scope) {
  if (const unsigned idx = if_nametoindex(scope.c_str()); idx != 0) return idx;
  char* end = nullptr;
  const unsigned long v = std::strtoul(scope.c_str(), &end, 10);
  return end != scope.c_str() && *end == '\0' ? static_cast<std::uint32_t>(v) : 0;
}

}  // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf conf;
  std::size_t listed = 0;
  for_each_line(text, [&](std::string_view raw) {
    const auto w = words_of(strip_comment(raw, true));
    if (w.empty()) return;
    if (w[0] == "nameserver" && w.size() >= 2) {
      // glibc uses the first MAXNS (3) `nameserver` lines, of either family.
      if (listed++ >= 3) return;
      NameServer ns;
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(53);
      sockaddr_in6 sa6{};
      sa6.sin6_family = AF_INET6;
      sa6.sin6_port = htons(53);
      const std::size_t pct = w[1].find('%');
      if (inet_pton(AF_INET, w[1].c_str(), &sa.sin_addr) == 1) {
        std::memcpy(&ns.ss, &sa, sizeof(sa));
      } else if (inet_pton(AF_INET6, w[1].substr(0, pct).c_str(), &sa6.sin6_addr) == 1) {
        if (pct != std::string::npos) sa6.sin6_scope_id = scope_of(w[1].substr(pct + 1));
        std::memcpy(&ns.ss, &sa6, sizeof(sa6));
      } else {
        return;  // not an address: glibc skips the line
      }
      conf.servers.push_back(ns);
    } else if ((w[0] == "search" || w[0] == "domain") && w.size() >= 2) {
      // The last of them wins (resolv.conf(5)); `domain` names one.
      conf.search.clear();
      for (std::size_t i = 1; i < w.size() && (w[0] == "search" || i == 1); ++i)
        conf.search.push_back(normalize_name(w[i]));
    } else if (w[0] == "options") {
      for (std::size_t i = 1; i < w.size(); ++i) {
        const std::string& o = w[i];
        if (o.starts_with("timeout:")) {
          conf.timeout_s = bounded(o.substr(8), 1, 30, conf.timeout_s);
        } else if (o.starts_with("attempts:")) {
          conf.attempts = bounded(o.substr(9), 1, 5, conf.attempts);
        } else if (o.starts_with("ndots:")) {
          conf.ndots = bounded(o.substr(6), 0, 15, conf.ndots);
        } else if (o == "rotate") {
          conf.rotate = true;
        }
      }
    }
  });
  if (listed == 0) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(53);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    NameServer ns;
    std::memcpy(&ns.ss, &sa, sizeof(sa));
    conf.servers.push_back(ns);
  }
  return conf;
}

HostsMatch hosts_lookup(std::string_view text, std::string_view name) {
  HostsMatch m;
  const std::string want = normalize_name(name);
  if (want.empty()) return m;
  for_each_line(text, [&](std::string_view raw) {
    const auto w = words_of(strip_comment(raw, false));
    if (w.size() < 2) return;
    const bool hit = std::any_of(w.begin() + 1, w.end(),
                                 [&](const std::string& n) { return normalize_name(n) == want; });
    if (!hit) return;
    std::array<std::uint8_t, 4> a4{};
    std::array<std::uint8_t, 16> a6{};
    if (inet_pton(AF_INET, w[0].c_str(), a4.data()) == 1) {
      m.v4.push_back(a4);
    } else if (inet_pton(AF_INET6, w[0].c_str(), a6.data()) == 1) {
      m.v6.push_back(a6);
    } else {
      return;
    }
    if (m.canonical.empty()) m.canonical = w[1];
  });
  return m;
}

std::string hosts_reverse(std::string_view text, int family, const std::uint8_t* addr) {
  std::string found;
  const std::size_t len = family == AF_INET ? 4 : 16;
  for_each_line(text, [&](std::string_view raw) {
    if (!found.empty()) return;
    const auto w = words_of(strip_comment(raw, false));
    if (w.size() < 2) return;
    std::array<std::uint8_t, 16> a{};
    if (inet_pton(family, w[0].c_str(), a.data()) == 1 && std::memcmp(a.data(), addr, len) == 0)
      found = w[1];
  });
  return found;
}

bool nsswitch_hosts_uses_dns(std::string_view text) {
  bool found = false;
  bool dns = true;
  for_each_line(text, [&](std::string_view raw) {
    auto w = words_of(strip_comment(raw, false));
    if (w.empty() || w[0] != "hosts:") return;
    found = true;
    dns = std::find(w.begin() + 1, w.end(), "dns") != w.end();
  });
  return !found || dns;
}

std::vector<std::string> search_candidates(std::string_view name, const ResolvConf& conf) {
  std::vector<std::string> out;
  if (name.empty()) return out;
  if (name.back() == '.') {
    out.push_back(normalize_name(name));
    return out;
  }
  const std::string base = normalize_name(name);
  const auto dots = std::count(base.begin(), base.end(), '.');
  if (dots >= conf.ndots) out.push_back(base);
  for (const std::string& d : conf.search) {
    if (d.empty()) continue;
    std::string full = base;
    full.append(1, '.').append(d);
    out.push_back(std::move(full));
  }
  if (dots < conf.ndots) out.push_back(base);
  return out;
}

}  // namespace usnet::dns
