// Name lookups for programs on usnet (issue 8 item 6). glibc's resolver sends its queries
// from inside libc, with calls LD_PRELOAD cannot interpose, so a name server that only usnet
// reaches would never answer. When that is so (resolver_client.h: any_server_on_usnet),
// the interposed getaddrinfo, gethostbyname* and getnameinfo (resolver.cpp) answer from
// hosts(5) and then from the name servers over usnet; otherwise they call libc's own.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "preload/resolver_client.h"

namespace usnet::dns {

// What the names gave: addresses of both families (IPv4 first), the canonical name.
struct Resolved {
  Lookup status = Lookup::kNoName;
  std::string canonical;
  std::vector<std::array<std::uint8_t, 4>> v4;
  std::vector<std::array<std::uint8_t, 16>> v6;
};

// The files the resolver reads: $USNET_RESOLV_CONF or /etc/resolv.conf, $USNET_HOSTS or
// /etc/hosts, /etc/nsswitch.conf. Read on every lookup (they are small, and glibc too
// notices a changed resolv.conf).
struct Files {
  ResolvConf conf;
  std::string hosts;
  bool dns = true;  // nsswitch.conf's hosts line names dns
};
Files read_files();

// True if this lookup is usnet's to answer: the process runs on usnet and a name server of
// `files` is reached through it.
bool lookups_on_usnet(const Files& files);

// hosts(5), then DNS with the search list: A records if want_v4, AAAA if want_v6.
Resolved resolve(const Files& files, const std::string& name, bool want_v4, bool want_v6);

}  // namespace usnet::dns
