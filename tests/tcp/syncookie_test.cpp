// Scripted tests of SYN cookies that keep the SYN's options (Linux cookie_init_timestamp,
// cookie_timestamp_decode, cookie_ecn_ok): window scale, SACK-permitted and ECN travel in
// the low 6 bits of the SYN,ACK's TSval, so a cookie connection keeps them; without
// timestamps, or with the sysctls off, they are not offered.
#include <netinet/tcp.h>

#include <cstring>

#include "stack/sysctl.h"
#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpCwr;
using wire::kTcpEce;
using wire::kTcpPsh;
using wire::kTcpSyn;

class SynCookie : public TcpScript {
 protected:
  SynCookie() { set("net.ipv4.tcp_syncookies", "2"); }  // every SYN gets a cookie
  void set(const char* name, const char* value) {
    ASSERT_TRUE(sysctl_set(stack->sysctl(), name, value)) << name << "=" << value;
  }
  std::uint32_t ts_offset() { return tcp_ts_offset(stack->tcp(), kUs, kPeer); }
};

TEST_F(SynCookie, ConnectionKeepsWindowScaleSackTimestampsAndEcn) {
  Socket* l = listener();
  inject({.flags = kTcpSyn | kTcpEce | kTcpCwr,
          .seq = kPeerIsn,
          .ack = 0,
          .options = syn_options(true, 500)});
  auto synack = next_sent();
  ASSERT_TRUE(synack);
  ASSERT_EQ(synack->flags, kTcpSyn | kTcpAck | kTcpEce);
  EXPECT_EQ(stack->mib().TcpExtSyncookiesSent, 1U);
  EXPECT_TRUE(tcp_sk(*l).syn_queue.empty());
  ASSERT_TRUE(synack->options.ts_val);
  EXPECT_EQ(synack->options.ts_ecr, 500U);
  ASSERT_TRUE(synack->options.window_scale);
  EXPECT_TRUE(synack->options.sack_permitted);
  // Peer's wscale 7 | SACK (bit 4) | ECN (bit 5), and never ahead of the clock.
  const std::uint32_t ts = *synack->options.ts_val - ts_offset();
  EXPECT_EQ(ts & 0x3f, 7U | 0x10U | 0x20U);
  const auto clock_ms = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  EXPECT_LE(ts, clock_ms);
  EXPECT_GT(ts + 64, clock_ms);
  const std::uint32_t iss = synack->seq;
  wire::TcpOptions o;
  o.ts_val = 501;
  o.ts_ecr = *synack->options.ts_val;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1, .window = 512, .options = o});
  EXPECT_EQ(stack->mib().TcpExtSyncookiesRecv, 1U);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  TcpSock& c = tsk(*a);
  EXPECT_TRUE(c.ts_ok);
  EXPECT_TRUE(c.sack_ok);
  EXPECT_TRUE(c.wscale_ok);
  EXPECT_EQ(c.snd_wscale, 7);
  EXPECT_EQ(c.rcv_wscale, synack->options.window_scale.value_or(0));
  EXPECT_EQ(c.snd_wnd, 512U << 7);  // the ACK's window is scaled
  EXPECT_EQ(c.mss, 1460 - 12);      // timestamps on every segment
  // Data both ways keeps the options: TS on our segments, ECT(0) on our data, SACK blocks.
  c.nodelay = true;
  EXPECT_EQ(send(*a, "hi"), 2U);
  auto d = next_sent();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->flags, kTcpAck | kTcpPsh);
  EXPECT_TRUE(d->options.ts_val);
  EXPECT_EQ(d->options.ts_ecr, 501U);
  EXPECT_EQ(last_ip.tos & 3, 2);
  o.ts_val = 502;
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 1 + 100,
          .ack = iss + 3,
          .window = 512,
          .data = bytes("later"),
          .options = o});
  auto sack = next_sent();
  ASSERT_TRUE(sack);
  EXPECT_EQ(sack->ack, kPeerIsn + 1);
  ASSERT_EQ(sack->options.sack_count, 1U);
  EXPECT_EQ(sack->options.sack[0].left, kPeerIsn + 101);
}

// A SYN without timestamps: nothing can be remembered, so no scale, no SACK, no ECN
// (Linux tcp_conn_request: tcp_clear_options, ecn_ok = 0).
TEST_F(SynCookie, WithoutTimestampsNoOptionsAreKept) {
  listener();
  inject({.flags = kTcpSyn | kTcpEce | kTcpCwr,
          .seq = kPeerIsn,
          .ack = 0,
          .options = syn_options(false)});
  auto synack = next_sent();
  ASSERT_TRUE(synack);
  EXPECT_EQ(synack->flags, kTcpSyn | kTcpAck);
  EXPECT_FALSE(synack->options.ts_val);
  EXPECT_FALSE(synack->options.window_scale);
  EXPECT_FALSE(synack->options.sack_permitted);
}

// The sysctls hold on the cookie path too: tcp_timestamps=0 gives a cookie SYN,ACK without
// timestamps (and so without scale and SACK); tcp_sack=0 or tcp_window_scaling=0 remove
// just theirs, and the encoded bits say so.
TEST_F(SynCookie, SysctlsOffHoldOnTheCookiePath) {
  listener();
  set("net.ipv4.tcp_timestamps", "0");
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(true)});
  auto a = next_sent();
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->options.ts_val);
  EXPECT_FALSE(a->options.window_scale);
  EXPECT_FALSE(a->options.sack_permitted);

  set("net.ipv4.tcp_timestamps", "1");
  set("net.ipv4.tcp_sack", "0");
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn,
          .ack = 0,
          .options = syn_options(true),
          .sport = kPeerPort + 1});
  auto b = next_sent();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->options.ts_val);
  EXPECT_FALSE(b->options.sack_permitted);
  EXPECT_TRUE(b->options.window_scale);
  const std::uint32_t off_b = tcp_ts_offset(stack->tcp(), kUs, kPeer);
  EXPECT_EQ((*b->options.ts_val - off_b) & 0x3f, 7U);

  set("net.ipv4.tcp_sack", "1");
  set("net.ipv4.tcp_window_scaling", "0");
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn,
          .ack = 0,
          .options = syn_options(true),
          .sport = kPeerPort + 2});
  auto c = next_sent();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->options.ts_val);
  EXPECT_FALSE(c->options.window_scale);
  EXPECT_TRUE(c->options.sack_permitted);
  const std::uint32_t off_c = tcp_ts_offset(stack->tcp(), kUs, kPeer);
  EXPECT_EQ((*c->options.ts_val - off_c) & 0x3f, 0xfU | 0x10U);  // 0xf: no window scaling
}

// An ACK whose echoed options need a sysctl turned off since the SYN,ACK is refused
// (cookie_timestamp_decode).
TEST_F(SynCookie, EchoNeedingAnOptionTurnedOffIsRefused) {
  Socket* l = listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(true)});
  auto synack = next_sent();
  ASSERT_TRUE(synack && synack->options.ts_val);
  set("net.ipv4.tcp_window_scaling", "0");
  wire::TcpOptions o;
  o.ts_val = 501;
  o.ts_ecr = *synack->options.ts_val;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = synack->seq + 1, .options = o});
  EXPECT_EQ(stack->mib().TcpExtSyncookiesFailed, 1U);
  EXPECT_FALSE(sock_accept(*l, 0));
}

}  // namespace
}  // namespace usnet::script
