// resolv.conf(5) and hosts(5) as the preload's resolver reads them
// (src/preload/resolver_files.h), checked against what glibc does with the same text.
#include "preload/resolver_files.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace usnet::dns {
namespace {

std::string addr(const NameServer& ns) {
  char buf[INET6_ADDRSTRLEN];
  if (ns.family() == AF_INET6) {
    return inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ns.ss)->sin6_addr, buf,
                     sizeof(buf));
  }
  return inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ns.ss)->sin_addr, buf,
                   sizeof(buf));
}

std::uint16_t port(const NameServer& ns) {
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ns.ss)->sin_port);  // same offset in both
}

TEST(ResolvConf, ServersOptionsAndSearch) {
  const auto c = parse_resolv_conf(
      "# comment\n; also a comment\nnameserver 198.18.5.1\nnameserver 2001:db8::53\n"
      "nameserver 198.18.5.2 # trailing\nnameserver 198.18.5.3\n"
      "domain one.test\nsearch a.test B.test\noptions timeout:2 attempts:9 ndots:3 rotate\n");
  ASSERT_EQ(c.servers.size(), 3U);  // the fourth line is past MAXNS
  EXPECT_EQ(addr(c.servers[0]), "198.18.5.1");
  EXPECT_EQ(c.servers[1].family(), AF_INET6);
  EXPECT_EQ(c.servers[1].len(), sizeof(sockaddr_in6));
  EXPECT_EQ(addr(c.servers[1]), "2001:db8::53");
  EXPECT_EQ(addr(c.servers[2]), "198.18.5.2");
  EXPECT_EQ(port(c.servers[0]), 53);
  EXPECT_EQ(port(c.servers[1]), 53);
  EXPECT_EQ(c.search, (std::vector<std::string>{"a.test", "b.test"}));
  EXPECT_EQ(c.timeout_s, 2);
  EXPECT_EQ(c.attempts, 5);  // capped as glibc caps it (RES_MAXRETRY)
  EXPECT_EQ(c.ndots, 3);
  EXPECT_TRUE(c.rotate);
}

TEST(ResolvConf, Ipv6ServersKeepTheirScope) {
  const auto c = parse_resolv_conf("nameserver fe80::53%7\nnameserver not-an-address\n");
  ASSERT_EQ(c.servers.size(), 1U);
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&c.servers[0].ss);
  EXPECT_EQ(addr(c.servers[0]), "fe80::53");
  EXPECT_EQ(sin6->sin6_scope_id, 7U);
}

TEST(ResolvConf, NoServerMeansLocalhost) {
  const auto c = parse_resolv_conf("search x.test\n");
  ASSERT_EQ(c.servers.size(), 1U);
  EXPECT_EQ(addr(c.servers[0]), "127.0.0.1");
  EXPECT_EQ(c.timeout_s, 5);
  EXPECT_EQ(c.attempts, 2);
}

TEST(ResolvConf, SearchCandidatesFollowNdots) {
  ResolvConf c;
  c.search = {"a.test", "b.test"};
  EXPECT_EQ(search_candidates("host", c),
            (std::vector<std::string>{"host.a.test", "host.b.test", "host"}));
  EXPECT_EQ(search_candidates("host.x", c),
            (std::vector<std::string>{"host.x", "host.x.a.test", "host.x.b.test"}));
  EXPECT_EQ(search_candidates("Host.", c), (std::vector<std::string>{"host"}));
}

TEST(Hosts, ForwardAndReverse) {
  const std::string hosts =
      "127.0.0.1\tlocalhost\n# 198.18.0.9 commented.test\n198.18.0.7 web.test web # x\n"
      "2001:db8::7 web.test\n198.18.0.8 WEB.test\nbogus-address other.test\n";
  const auto m = hosts_lookup(hosts, "Web.Test");
  ASSERT_EQ(m.v4.size(), 2U);
  EXPECT_EQ(m.v4[0], (std::array<std::uint8_t, 4>{198, 18, 0, 7}));
  EXPECT_EQ(m.v4[1], (std::array<std::uint8_t, 4>{198, 18, 0, 8}));
  ASSERT_EQ(m.v6.size(), 1U);
  EXPECT_EQ(m.canonical, "web.test");
  EXPECT_EQ(hosts_lookup(hosts, "web").v4.size(), 1U);
  EXPECT_TRUE(hosts_lookup(hosts, "commented.test").v4.empty());
  EXPECT_TRUE(hosts_lookup(hosts, "other.test").v4.empty());
  const std::uint8_t a[4] = {198, 18, 0, 8};
  EXPECT_EQ(hosts_reverse(hosts, AF_INET, a), "WEB.test");
  const std::uint8_t none[4] = {198, 18, 0, 99};
  EXPECT_EQ(hosts_reverse(hosts, AF_INET, none), "");
}

}  // namespace
}  // namespace usnet::dns

namespace usnet::dns {
namespace {

TEST(Nsswitch, HostsLineDecidesDns) {
  EXPECT_TRUE(nsswitch_hosts_uses_dns("passwd: files\nhosts:          files dns\n"));
  EXPECT_FALSE(nsswitch_hosts_uses_dns("hosts: files myhostname # dns\n"));
  EXPECT_TRUE(nsswitch_hosts_uses_dns("passwd: files\n"));  // glibc's default has dns
}

}  // namespace
}  // namespace usnet::dns
