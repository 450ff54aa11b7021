// Scripted tests of what socket options do (tcp(7), socket(7)), as Linux does it; the
// errno and value rules are in tests/unit/errno_conformance_test.cpp, side by side with the
// kernel.
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
// After <time.h>: it uses struct timespec.
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <cstring>

#include "support/script.h"

namespace usnet::script {
namespace {

using wire::kTcpAck;
using wire::kTcpFin;
using wire::kTcpPsh;
using wire::kTcpRst;
using wire::kTcpSyn;

class Sockopt : public TcpScript {
 protected:
  // A listener with `save` as TCP_SAVE_SYN, one connection from the peer (SYN with
  // Linux's options), accepted.
  Socket* accept_with_save_syn(int save) {
    Socket* l = listener();
    EXPECT_TRUE(set_int(l, IPPROTO_TCP, TCP_SAVE_SYN, save));
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
    const std::uint32_t iss = isn_for();
    expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
    inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1, .window = 512});
    auto a = sock_accept(*l, 0);
    EXPECT_TRUE(a);
    return a ? *a : nullptr;
  }
  Result<OptValue> saved_syn(Socket* s, std::size_t optlen = 256) {
    return sock_getsockopt(*s, IPPROTO_TCP, TCP_SAVED_SYN, optlen);
  }
};

// --- TCP_SAVE_SYN / TCP_SAVED_SYN ---

TEST_F(Sockopt, SavedSynIsTheSynsIpAndTcpHeadersReadOnce) {
  Socket* s = accept_with_save_syn(1);
  ASSERT_NE(s, nullptr);
  auto v = saved_syn(s);
  ASSERT_TRUE(v);
  // IPv4 header (20) and TCP header with MSS, SACK-permitted, window scale (20 + 12).
  ASSERT_EQ(v->len, 20U + 32U);
  const ByteSpan b(v->bytes.data(), v->len);
  auto ip = wire::Ipv4Header::parse(b);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->protocol, 6);
  EXPECT_EQ(ip->src, kPeer);
  EXPECT_EQ(ip->dst, kUs);
  EXPECT_EQ(ip->total_length, 52);
  auto tcp = wire::TcpHeader::parse(b.subspan(20), kPeer, kUs);
  ASSERT_TRUE(tcp) << "the TCP header, checksum and all, as it came";
  EXPECT_EQ(tcp->flags, kTcpSyn);
  EXPECT_EQ(tcp->seq, kPeerIsn);
  EXPECT_EQ(tcp->src_port, kPeerPort);
  EXPECT_EQ(tcp->options.mss, 1460);
  EXPECT_EQ(tcp->options.window_scale, 7);
  // Once read, it is gone: Linux then succeeds with optlen 0.
  auto again = saved_syn(s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->len, 0U);
  EXPECT_FALSE(again->too_short);
}

TEST_F(Sockopt, SavedSynShortBufferIsEinvalWithTheLengthAndKeepsIt) {
  Socket* s = accept_with_save_syn(1);
  ASSERT_NE(s, nullptr);
  auto v = saved_syn(s, 10);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->too_short);
  EXPECT_EQ(v->len, 52U);
  auto full = saved_syn(s, 52);
  ASSERT_TRUE(full);
  EXPECT_FALSE(full->too_short);
  EXPECT_EQ(full->len, 52U);
}

TEST_F(Sockopt, SaveSyn2KeepsTheEthernetHeaderToo) {
  Socket* s = accept_with_save_syn(2);
  ASSERT_NE(s, nullptr);
  auto v = saved_syn(s);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->len, 14U + 52U);
  EXPECT_EQ(std::memcmp(v->bytes.data(), kUsMac.octets.data(), 6), 0) << "destination MAC";
  EXPECT_EQ(std::memcmp(v->bytes.data() + 6, kPeerMac.octets.data(), 6), 0) << "source MAC";
  EXPECT_EQ(v->bytes[12], std::byte{0x08});
  EXPECT_EQ(v->bytes[14], std::byte{0x45});
}

TEST_F(Sockopt, NoSaveSynKeepsNothing) {
  Socket* s = accept_with_save_syn(0);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(tsk(s).saved_syn.empty());
  EXPECT_EQ(tsk(s).saved_syn.capacity(), 0U) << "no allocation when not asked";
  auto v = saved_syn(s);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->len, 0U);
}

TEST_F(Sockopt, SavedSynAbsentOnTheListener) {
  Socket* l = listener();
  ASSERT_TRUE(set_int(l, IPPROTO_TCP, TCP_SAVE_SYN, 1));
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  auto v = saved_syn(l);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->len, 0U);
}

}  // namespace
}  // namespace usnet::script
