#include "net/route.h"

#include <gtest/gtest.h>

namespace usnet {
namespace {

Ipv4Address ip(const char* s) {
  return *Ipv4Address::parse(s);
}
Ipv4Cidr cidr(const char* s) {
  return *Ipv4Cidr::parse(s);
}
Route route(const char* dst, Ipv4Address gw, std::uint32_t ifindex, std::uint32_t metric = 0) {
  Route r;
  r.dst = cidr(dst);
  r.gateway = gw;
  r.ifindex = ifindex;
  r.metric = metric;
  return r;
}

TEST(RouteTable, LongestPrefixWins) {
  RouteTable t;
  ASSERT_TRUE(t.add(route("0.0.0.0/0", ip("198.18.0.1"), 2)));
  ASSERT_TRUE(t.add(route("198.18.0.0/16", Ipv4Address{}, 3)));
  ASSERT_TRUE(t.add(route("198.18.5.0/24", Ipv4Address{}, 4)));
  auto r = t.lookup(ip("198.18.5.9"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ifindex, 4u);
  EXPECT_EQ(r->next_hop, ip("198.18.5.9"));  // on-link: the destination itself
  r = t.lookup(ip("198.18.6.1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ifindex, 3u);
  r = t.lookup(ip("203.0.113.7"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ifindex, 2u);
  EXPECT_EQ(r->next_hop, ip("198.18.0.1"));  // via the gateway
}

TEST(RouteTable, NoRouteWithoutDefault) {
  RouteTable t;
  ASSERT_TRUE(t.add(route("198.18.0.0/24", Ipv4Address{}, 2)));
  EXPECT_FALSE(t.lookup(ip("198.19.0.1")));
}

TEST(RouteTable, LowerMetricWinsAtEqualPrefix) {
  RouteTable t;
  ASSERT_TRUE(t.add(route("198.18.0.0/24", Ipv4Address{}, 2, 100)));
  ASSERT_TRUE(t.add(route("198.18.0.0/24", Ipv4Address{}, 3, 10)));
  EXPECT_EQ(t.lookup(ip("198.18.0.5"))->ifindex, 3u);
}

TEST(RouteTable, DuplicateRefusedAndRemove) {
  RouteTable t;
  ASSERT_TRUE(t.add(route("198.18.0.7/24", Ipv4Address{}, 2)));  // host bits are cleared
  auto dup = t.add(route("198.18.0.0/24", Ipv4Address{}, 5));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), Error::kAddressInUse);
  ASSERT_TRUE(t.remove(cidr("198.18.0.0/24")));
  EXPECT_FALSE(t.lookup(ip("198.18.0.1")));
  EXPECT_FALSE(t.remove(cidr("198.18.0.0/24")));
}

}  // namespace
}  // namespace usnet
