// The files the preload's resolver reads, as glibc's resolver reads them: resolv.conf(5)
// (name servers, search list, options timeout/attempts/ndots/rotate) and hosts(5). Parsers
// over text only, so the unit tests give them any content.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace usnet::dns {

// A name server: an IPv4 or IPv6 socket address, port 53.
struct NameServer {
  sockaddr_storage ss{};
  int family() const noexcept { return ss.ss_family; }
  const sockaddr* addr() const noexcept {
    return reinterpret_cast<const sockaddr*>(&ss);  // NOLINT: the sockaddr convention
  }
  socklen_t len() const noexcept {
    return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
};

struct ResolvConf {
  std::vector<NameServer> servers;  // in file order, at most MAXNS = 3, of either family
  std::vector<std::string> search;  // search list (the last `search` or `domain` line)
  int timeout_s = 5;                // RES_TIMEOUT, per server per attempt (max 30)
  int attempts = 2;                 // RES_DFLRETRY (max 5)
  int ndots = 1;                    // (max 15)
  bool rotate = false;
};
// Parses resolv.conf text. An IPv6 server may carry a scope (`fe80::1%eth0`, or a number
// after the %) as glibc's resolver takes it. No `nameserver` line: 127.0.0.1, as glibc
// assumes.
ResolvConf parse_resolv_conf(std::string_view text);

// The addresses hosts(5) gives `name` (compared case-insensitively with each canonical
// name and alias), in file order, and the canonical name of the first line that matched.
struct HostsMatch {
  std::string canonical;
  std::vector<std::array<std::uint8_t, 4>> v4;
  std::vector<std::array<std::uint8_t, 16>> v6;
};
HostsMatch hosts_lookup(std::string_view text, std::string_view name);

// The first name hosts(5) gives an address (`family` AF_INET or AF_INET6, `addr` 4 or 16
// bytes); empty if none.
std::string hosts_reverse(std::string_view text, int family, const std::uint8_t* addr);

// Whether the `hosts:` line of nsswitch.conf(5) text names the dns service (no such line:
// glibc's default, "dns [!UNAVAIL=return] files", does).
bool nsswitch_hosts_uses_dns(std::string_view text);

// The names to ask for `name`, in order (resolv.conf(5) "search", "ndots"): a name with a
// final dot only as given; one with at least ndots dots as given first, then with each
// search domain; others with each search domain first.
std::vector<std::string> search_candidates(std::string_view name, const ResolvConf& conf);

}  // namespace usnet::dns
