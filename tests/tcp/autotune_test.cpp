// Scripted tests of receive-buffer autotuning (Linux dynamic right-sizing:
// tcp_rcv_space_adjust, tcp_grow_window, tcp_rcv_rtt_measure_ts): the buffer starts at
// tcp_rmem[1] and the window at half of it; reading fast grows the buffer towards
// tcp_rmem[2] and the window follows; SO_RCVBUF and tcp_moderate_rcvbuf=0 keep it put.
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>

#include "stack/sysctl.h"
#include "support/script.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;

class Autotune : public TcpScript {
 protected:
  void set(const char* name, const char* value) {
    ASSERT_TRUE(sysctl_set(stack->sysctl(), name, value)) << name << "=" << value;
  }
  struct Peer {
    std::uint32_t seq = kPeerIsn + 1;
    std::uint32_t right = 0;    // the right edge of the window we last advertised
    std::uint32_t ts_ecr = 0;   // echoed this round: our TSval of a round trip ago
    std::uint32_t ts_next = 0;  // our latest TSval, echoed from the next round on
    std::uint32_t ts_val = 1000;
    std::uint32_t max_wnd = 0;
  };
  void take_acks(Peer& peer, const TcpSock& sk) {
    while (auto h = next_sent()) {
      const std::uint32_t wnd = std::uint32_t{h->window} << sk.rcv_wscale;
      peer.right = std::max(peer.right, h->ack + wnd);
      peer.max_wnd = std::max(peer.max_wnd, wnd);
      if (h->options.ts_val) peer.ts_next = *h->options.ts_val;
    }
  }
  // `rounds` round trips of 10 ms: the peer fills the window we offer (up to `cap`
  // segments), the application reads everything at once.
  void run(Socket* s, Peer& peer, int rounds, std::uint32_t cap = 400) {
    TcpSock& sk = tsk(s);
    const std::uint32_t payload = sk.advmss - 12;  // timestamps on
    for (int r = 0; r < rounds; ++r) {
      advance(10ms);
      take_acks(peer, sk);
      peer.ts_ecr = peer.ts_next;
      for (std::uint32_t n = 0; n < cap && peer.seq + payload <= peer.right; ++n) {
        wire::TcpOptions o;
        o.ts_val = peer.ts_val++;
        o.ts_ecr = peer.ts_ecr;
        inject({.flags = kTcpAck,
                .seq = peer.seq,
                .ack = sk.snd_nxt.raw(),
                .window = 512,
                .data = std::vector<std::byte>(payload, std::byte{'d'}),
                .options = o});
        peer.seq += payload;
        take_acks(peer, sk);
      }
      (void)recv_all(s);
      take_acks(peer, sk);
    }
  }
  Peer open(Passive& p) {
    p = open_passive(true, true);
    Peer peer;
    peer.right = kPeerIsn + 1 + tsk(p.sock).rcv_wnd_init;
    take_acks(peer, tsk(p.sock));
    return peer;
  }
};

TEST_F(Autotune, WindowGrowsAsTheApplicationReads) {
  Passive p;
  Peer peer = open(p);
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  const int rmem1 = stack->sysctl().tcp_rmem[1];
  EXPECT_EQ(sk.opt.rcvbuf, rmem1);
  run(p.sock, peer, 1);
  // The first round: the window is the initial one (65160: 45 segments of 1448).
  EXPECT_LE(peer.max_wnd, 65536U);
  run(p.sock, peer, 8);
  EXPECT_GT(sk.rcv_rtt_us >> 3, 9000U);  // the receiver's RTT estimate, about 10 ms
  EXPECT_LT(sk.rcv_rtt_us >> 3, 12000U);
  EXPECT_GT(sk.opt.rcvbuf, 4 * rmem1);  // the buffer grew...
  EXPECT_LE(sk.opt.rcvbuf, stack->sysctl().tcp_rmem[2]);
  EXPECT_GT(peer.max_wnd, 4U * 65536U);  // ...and the window with it
  EXPECT_LE(peer.max_wnd, static_cast<std::uint32_t>(sk.opt.rcvbuf) / 2 + (1U << sk.rcv_wscale));
  // getsockopt(SO_RCVBUF) reports the grown buffer, as Linux's sk_rcvbuf.
  auto v = sock_getsockopt(*p.sock, SOL_SOCKET, SO_RCVBUF);
  ASSERT_TRUE(v);
  int rcvbuf = 0;
  std::memcpy(&rcvbuf, v->bytes.data(), sizeof(rcvbuf));
  EXPECT_EQ(rcvbuf, sk.opt.rcvbuf);
}

TEST_F(Autotune, NoGrowthWithoutReading) {
  Passive p;
  Peer peer = open(p);
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  // The peer fills the window; nobody reads: the buffer stays at tcp_rmem[1] and the
  // window closes instead of growing.
  for (int r = 0; r < 5; ++r) {
    advance(10ms);
    take_acks(peer, sk);
    peer.ts_ecr = peer.ts_next;
    while (peer.seq + 1448 <= peer.right) {
      wire::TcpOptions o;
      o.ts_val = peer.ts_val++;
      o.ts_ecr = peer.ts_ecr;
      inject({.flags = kTcpAck,
              .seq = peer.seq,
              .ack = sk.snd_nxt.raw(),
              .window = 512,
              .data = std::vector<std::byte>(1448, std::byte{'n'}),
              .options = o});
      peer.seq += 1448;
      take_acks(peer, sk);
    }
  }
  EXPECT_EQ(sk.opt.rcvbuf, stack->sysctl().tcp_rmem[1]);
  EXPECT_LE(sk.rcvq.size(), 65536U + (1U << sk.rcv_wscale));  // the buffer's half, bounded
}

TEST_F(Autotune, SoRcvbufLocksTheBuffer) {
  Passive p;
  Peer peer = open(p);
  ASSERT_NE(p.sock, nullptr);
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_RCVBUF, 65536));
  TcpSock& sk = tsk(p.sock);
  ASSERT_EQ(sk.opt.rcvbuf, 131072);  // doubled, as Linux
  run(p.sock, peer, 10);
  EXPECT_EQ(sk.opt.rcvbuf, 131072);
  EXPECT_LE(peer.max_wnd, 65536U + (1U << sk.rcv_wscale));
}

TEST_F(Autotune, ModerateRcvbufZeroKeepsTheBuffer) {
  set("net.ipv4.tcp_moderate_rcvbuf", "0");
  Passive p;
  Peer peer = open(p);
  ASSERT_NE(p.sock, nullptr);
  TcpSock& sk = tsk(p.sock);
  run(p.sock, peer, 10);
  EXPECT_EQ(sk.opt.rcvbuf, stack->sysctl().tcp_rmem[1]);
  EXPECT_LE(peer.max_wnd, 65536U + (1U << sk.rcv_wscale));
  EXPECT_GT(sk.rcv_rtt_us, 0U);  // measured all the same, as Linux
}

}  // namespace
}  // namespace usnet::script
