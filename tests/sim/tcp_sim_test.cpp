// TCP between two stacks over the memory wire, in virtual time.
#include <gtest/gtest.h>

#include "support/sim_net.h"
#include "support/tcp_helpers.h"

namespace usnet::sim {
namespace {

struct Conn {
  Socket* client = nullptr;
  Socket* server = nullptr;
};

// a connects to a listener on b:port; returns both ends once accepted.
Conn connect_pair(SimNet& net, std::uint16_t port) {
  Conn c;
  Socket* l = tcp_listener(*net.b, port);
  c.client = tcp_socket(*net.a);
  auto st = sock_connect(*c.client, SockAddr::inet(kAddrB, port), 0);
  EXPECT_FALSE(st);
  EXPECT_EQ(st.error(), Error::kInProgress);
  EXPECT_TRUE(net.run_until([&] { return state_of(*c.client) == TcpState::kEstablished; },
                            std::chrono::seconds(10)));
  Socket* accepted = nullptr;
  EXPECT_TRUE(net.run_until([&] {
    auto r = sock_accept(*l, 0);
    if (r) accepted = *r;
    return accepted != nullptr;
  }));
  c.server = accepted;
  return c;
}

TEST(TcpSim, HandshakeTransferAndClose) {
  SimNet net(Impairments{}, 1, "tcp_handshake.pcap");
  Conn c = connect_pair(net, 80);
  ASSERT_NE(c.server, nullptr);
  EXPECT_EQ(state_of(*c.server), TcpState::kEstablished);
  EXPECT_EQ(net.a->mib().TcpActiveOpens, 1U);
  EXPECT_EQ(net.b->mib().TcpPassiveOpens, 1U);

  Transfer t;
  t.tx = c.client;
  t.rx = c.server;
  t.total = 1 << 20;
  t.seed = 7;
  ASSERT_TRUE(net.run_until([&] { return t.step(); }, std::chrono::seconds(60)));
  EXPECT_EQ(t.received, t.total);
  EXPECT_FALSE(t.mismatch);
  EXPECT_EQ(t.rx_digest.h, t.tx_digest.h);
  // The server closes too; the client (first to close) ends in TIME_WAIT, the server CLOSED.
  EXPECT_TRUE(sock_shutdown(*c.server, SHUT_WR));
  ASSERT_TRUE(net.run_until([&] {
    return state_of(*c.client) == TcpState::kTimeWait && state_of(*c.server) == TcpState::kClosed;
  })) << tcp_state_name(state_of(*c.client)) << " " << tcp_state_name(state_of(*c.server));
  net.run_for(std::chrono::seconds(61));
  EXPECT_EQ(state_of(*c.client), TcpState::kClosed);
  EXPECT_EQ(net.a->mib().TcpRetransSegs, 0U);
}

}  // namespace
}  // namespace usnet::sim
