// Scripted tests of traffic a server meets from hostile or broken peers, held to what Linux
// does with it: martian source addresses (ip_route_input_slow).
#include <netinet/in.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpSyn;

class Hostile : public TcpScript {};

// ip_route_input_slow: a source that is multicast, limited broadcast, in 0.0.0.0/8, in
// 127.0.0.0/8 (on a device that is not loopback), one of our own addresses or the broadcast
// address of one of our subnets (fib_validate_source: not RTN_UNICAST) is a martian. Linux
// drops the packet before any protocol sees it; a SYN from one is never answered.
TEST_F(Hostile, SynsFromMartianSourcesAreDroppedBeforeTcp) {
  listener();
  const Ipv4Address martians[] = {
      kUs,                                        // our own address
      Ipv4Address::from_octets(198, 18, 0, 255),  // our subnet's broadcast
      Ipv4Address::from_octets(255, 255, 255, 255),
      Ipv4Address::from_octets(127, 0, 0, 1),
      Ipv4Address::from_octets(224, 0, 0, 9),
      Ipv4Address::from_octets(0, 0, 0, 0),
      Ipv4Address::from_octets(0, 1, 2, 3),
  };
  std::uint16_t sport = 30000;
  for (const Ipv4Address src : martians) {
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .sport = sport++, .src = src});
    advance(1ms);
    expect_nothing();
    EXPECT_FALSE(next_icmp()) << src.to_string();
    EXPECT_EQ(stack->tcp().connections(), 0U) << src.to_string();
  }
  EXPECT_EQ(stack->mib().TcpInSegs, 0U);
  EXPECT_EQ(stack->mib().TcpOutSegs, 0U);
  EXPECT_EQ(stack->mib().UsnetIpInMartianSrc, 7U);
  EXPECT_EQ(stack->mib().IpInAddrErrors, 7U);
  // A SYN from a real peer still works.
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .sport = sport});
  expect(kTcpSyn | kTcpAck, isn_for(kPort, sport), kPeerIsn + 1);
}

}  // namespace
}  // namespace usnet::script
