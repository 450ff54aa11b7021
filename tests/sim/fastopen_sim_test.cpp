// TCP Fast Open (RFC 7413) between two usnet stacks in virtual time: the first connection
// asks for a cookie, every later one carries its request on the SYN; over a lossy link
// (SYNs with data lost, SYN,ACKs lost, retried SYNs without data) every request still
// arrives once and whole, and the server's queue of pending children comes back to zero.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <string>

#include "stack/sysctl.h"
#include "support/sim_net.h"
#include "support/tcp_helpers.h"

namespace usnet::sim {
namespace {

struct Outcome {
  int served = 0;     // requests the server read whole
  int on_syn = 0;     // ... of which the client's first call put on the SYN
  bool clean = true;  // no request arrived twice or cut
};

// `n` connections from a to b, one after another, each sending a request by MSG_FASTOPEN
// (again by a plain send if none went on the SYN) and reading the server's reply.
Outcome run_connections(SimNet& net, int n) {
  EXPECT_TRUE(sysctl_set(net.b->sysctl(), "net.ipv4.tcp_fastopen", "3"));
  Socket* l = tcp_listener(*net.b, 80);
  const int qlen = 16;
  EXPECT_TRUE(sock_setsockopt(*l, IPPROTO_TCP, TCP_FASTOPEN,
                              ByteSpan(reinterpret_cast<const std::byte*>(&qlen), sizeof(qlen))));
  Outcome o;
  for (int i = 0; i < n; ++i) {
    Socket* c = tcp_socket(*net.a);
    const std::string req = "request " + std::to_string(i) + std::string(300, 'r');
    const ByteSpan iov[] = {as_bytes(req)};
    const SockAddr to = SockAddr::inet(kAddrB, 80);
    auto r = sock_sendmsg(*c, SendMsg{iov, &to}, MSG_DONTWAIT | MSG_FASTOPEN);
    bool sent = static_cast<bool>(r);
    if (sent) {
      EXPECT_EQ(*r, req.size());
      ++o.on_syn;
    } else {
      EXPECT_EQ(r.error(), Error::kInProgress);
    }
    Socket* a = nullptr;
    std::string got;
    const bool done = net.run_until(
        [&] {
          if (!sent && state_of(*c) == TcpState::kEstablished) {
            auto w = sock_sendmsg(*c, SendMsg{iov, nullptr}, MSG_DONTWAIT);
            sent = w && *w == req.size();
          }
          if (a == nullptr) {
            auto acc = sock_accept(*l, 0);
            if (acc) a = *acc;
          }
          if (a != nullptr) {
            std::string buf(4096, '\0');
            const MutableByteSpan rio[] = {
                MutableByteSpan(reinterpret_cast<std::byte*>(buf.data()), buf.size())};
            if (auto rr = sock_recvmsg(*a, RecvMsg{rio}, MSG_DONTWAIT); rr && rr->copied > 0) {
              got.append(buf.data(), rr->copied);
            }
          }
          // Done when the request is in and the client has heard it was (its SYN,ACK).
          const auto& tc = static_cast<const TcpSock&>(*c);
          return got.size() >= req.size() && state_of(*c) == TcpState::kEstablished &&
                 tc.sndq.empty();
        },
        std::chrono::seconds(120));
    EXPECT_TRUE(done) << "connection " << i << ": " << got.size() << " of " << req.size();
    if (got == req) {
      ++o.served;
    } else {
      o.clean = false;
    }
    if (a != nullptr) {
      EXPECT_TRUE(sock_close(*net.b, a->fd));
    }
    EXPECT_TRUE(sock_close(*net.a, c->fd));
    net.run_for(std::chrono::seconds(2));
  }
  net.run_for(std::chrono::seconds(200));
  EXPECT_EQ(*static_cast<TcpSock&>(*l).tfo.qlen, 0);
  return o;
}

TEST(FastopenSim, CookieOnceThenEveryRequestOnTheSyn) {
  SimNet net(Impairments{}, 5);
  const Outcome o = run_connections(net, 10);
  EXPECT_EQ(o.served, 10);
  EXPECT_TRUE(o.clean);
  EXPECT_EQ(o.on_syn, 9);
  EXPECT_EQ(net.b->mib().TcpExtTCPFastOpenCookieReqd, 1U);
  EXPECT_EQ(net.b->mib().TcpExtTCPFastOpenPassive, 9U);
  EXPECT_EQ(net.a->mib().TcpExtTCPFastOpenActive, 9U);
  EXPECT_EQ(net.a->mib().TcpExtTCPFastOpenActiveFail, 0U);
  EXPECT_EQ(net.a->mib().TcpRetransSegs, 0U);
}

TEST(FastopenSim, LossyLinkDeliversEveryRequestOnce) {
  Impairments imp;
  imp.loss = 0.2;
  imp.delay = std::chrono::milliseconds(10);
  std::uint64_t active_fail = 0;
  std::uint64_t passive = 0;
  for (std::uint64_t seed : {11, 12, 13}) {
    SimNet net(imp, seed);
    const Outcome o = run_connections(net, 20);
    EXPECT_EQ(o.served, 20) << "seed " << seed;
    EXPECT_TRUE(o.clean) << "seed " << seed;
    EXPECT_GT(o.on_syn, 0) << "seed " << seed;
    active_fail += net.a->mib().TcpExtTCPFastOpenActiveFail;
    passive += net.b->mib().TcpExtTCPFastOpenPassive;
  }
  // Some SYNs with data were lost: their retries went as plain SYNs and the data after the
  // handshake (ActiveFail); most went through on the SYN.
  EXPECT_GT(active_fail, 0U);
  EXPECT_GT(passive, 30U);
}

}  // namespace
}  // namespace usnet::sim
