#include "wire/addresses.h"

#include <gtest/gtest.h>

namespace usnet {
namespace {

TEST(Addresses, Ipv4ParseAndPrint) {
  auto a = Ipv4Address::parse("198.18.0.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 0xc6120001u);
  EXPECT_EQ(a->to_string(), "198.18.0.1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ",
                          "+1.2.3.4", "0001.2.3.4"}) {
    EXPECT_FALSE(Ipv4Address::parse(bad)) << bad;
  }
}

TEST(Addresses, CidrMaskNetworkBroadcast) {
  auto c = Ipv4Cidr::parse("198.18.5.77/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->network().to_string(), "198.18.5.0");
  EXPECT_EQ(c->directed_broadcast().to_string(), "198.18.5.255");
  EXPECT_TRUE(c->contains(*Ipv4Address::parse("198.18.5.1")));
  EXPECT_FALSE(c->contains(*Ipv4Address::parse("198.18.6.1")));
  EXPECT_EQ(Ipv4Cidr::parse("0.0.0.0/0")->mask(), 0u);
  EXPECT_EQ(Ipv4Cidr::parse("1.2.3.4")->prefix_len, 32);
  EXPECT_FALSE(Ipv4Cidr::parse("1.2.3.4/33"));
  EXPECT_FALSE(Ipv4Cidr::parse("1.2.3.4/"));
}

TEST(Addresses, MacParseAndPrint) {
  auto m = MacAddress::parse("02:00:5e:10:0a:ff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:5e:10:0a:ff");
  EXPECT_FALSE(m->is_multicast());
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  for (const char* bad :
       {"", "02:00:5e:10:0a", "02:00:5e:10:0a:ff:01", "0g:00:00:00:00:00", "02-00-5e-10-0a-ff"}) {
    EXPECT_FALSE(MacAddress::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace usnet
