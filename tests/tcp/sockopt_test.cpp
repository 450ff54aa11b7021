// Scripted tests of what socket options do (tcp(7), socket(7)), as Linux does it; the
// errno and value rules are in tests/unit/errno_conformance_test.cpp, side by side with the
// kernel.
#include <netinet/tcp.h>
#include <poll.h>
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
  void data(std::uint32_t seq, std::string_view text, std::uint32_t ack) {
    inject({.flags = kTcpAck | kTcpPsh, .seq = seq, .ack = ack, .data = bytes(text)});
  }
  bool pollout(Socket* s) { return (sock_poll(*s) & POLLOUT) != 0; }
  bool pollin(Socket* s) { return (sock_poll(*s) & POLLIN) != 0; }
  // recvmsg of up to `max` bytes: the text read and the control messages.
  struct Received {
    std::string text;
    RecvResult r;
  };
  Received recvmsg(Socket* s, std::size_t max, int flags = MSG_DONTWAIT) {
    Received out;
    out.text.assign(max, '\0');
    const MutableByteSpan iov[] = {
        MutableByteSpan(reinterpret_cast<std::byte*>(out.text.data()), out.text.size())};
    auto r = sock_recvmsg(*s, RecvMsg{iov}, flags);
    EXPECT_TRUE(r);
    if (!r) return out;
    out.text.resize(r->copied);
    out.r = *r;
    return out;
  }
  // The data of control message (level, type), if there is one.
  static std::optional<std::vector<std::byte>> cmsg(const RecvResult& r, int level, int type) {
    for (std::size_t i = 0; i < r.cmsg.count; ++i) {
      const auto& it = r.cmsg.items[i];
      if (it.level == level && it.type == type) {
        return std::vector<std::byte>(r.cmsg.data.begin() + it.off,
                                      r.cmsg.data.begin() + it.off + it.len);
      }
    }
    return std::nullopt;
  }
  static int as_int(const std::vector<std::byte>& b) {
    int v = 0;
    std::memcpy(&v, b.data(), std::min(b.size(), sizeof(v)));
    return v;
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

// --- TCP_NOTSENT_LOWAT ---

// tcp_poll: writable only while the unsent bytes are fewer than half the mark
// (tcp_stream_memory_free with `wake`); sendmsg fills the unsent tail segment whatever the
// mark, and starts a new segment only while fewer than the mark's bytes are unsent. (The
// kernel, corked on loopback with TCP_NOTSENT_LOWAT 100: POLLOUT at 40 unsent, none at 55;
// sends still taken into the tail segment.)
TEST_F(Sockopt, NotsentLowatPollOutBelowHalfTheMarkAndSendsFillTheSegment) {
  Passive p = open_passive(false, false, 0);  // a zero window: what is written stays unsent
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 100));
  EXPECT_EQ(send(p.sock, std::string(40, 'a')), 40U);
  EXPECT_TRUE(pollout(p.sock)) << "2 * 40 < 100";
  EXPECT_EQ(send(p.sock, std::string(15, 'b')), 15U);
  EXPECT_FALSE(pollout(p.sock)) << "2 * 55 >= 100";
  // The tail segment takes up to the MSS (1460), then the mark (reached) stops the copy.
  EXPECT_EQ(send(p.sock, std::string(2000, 'c')), 1405U);
  const ByteSpan iov[] = {as_bytes(std::string_view("d"))};
  EXPECT_EQ(sock_sendmsg(*p.sock, SendMsg{iov, nullptr}, MSG_DONTWAIT).error(), Error::kWouldBlock);
  // Without the mark (0: the sysctl's, unlimited) the buffer alone decides.
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 0));
  EXPECT_TRUE(pollout(p.sock));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 100));
  EXPECT_FALSE(pollout(p.sock));
  // The window opens, the segment goes: writable again.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 512});
  std::vector<std::byte> d;
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 1460U);
  EXPECT_TRUE(pollout(p.sock));
  // Below the mark with no unsent tail: whole segments up to the mark.
  EXPECT_EQ(send(p.sock, std::string(5000, 'e')), 5000U) << "sent as it comes: none unsent";
}

// --- TCP_INQ ---

TEST_F(Sockopt, InqCmsgGivesTheBytesLeftAndOneAtTheEnd) {
  Passive p = open_passive();
  data(kPeerIsn + 1, "0123456789", p.iss + 1);
  // Off: no control message.
  auto none = recvmsg(p.sock, 2);
  EXPECT_EQ(none.text, "01");
  EXPECT_FALSE(cmsg(none.r, IPPROTO_TCP, TCP_CM_INQ));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_INQ, 1));
  auto a = recvmsg(p.sock, 3);
  EXPECT_EQ(a.text, "234");
  auto inq = cmsg(a.r, IPPROTO_TCP, TCP_CM_INQ);
  ASSERT_TRUE(inq);
  EXPECT_EQ(as_int(*inq), 5);
  auto b = recvmsg(p.sock, 100);
  EXPECT_EQ(b.text, "56789");
  ASSERT_TRUE(cmsg(b.r, IPPROTO_TCP, TCP_CM_INQ));
  EXPECT_EQ(as_int(*cmsg(b.r, IPPROTO_TCP, TCP_CM_INQ)), 0);
  // After the FIN, tcp_inq_hint says 1 so that the reader reads once more and sees the end.
  inject({.flags = kTcpAck | kTcpFin, .seq = kPeerIsn + 11, .ack = p.iss + 1});
  auto end = recvmsg(p.sock, 100);
  EXPECT_EQ(end.text, "");
  ASSERT_TRUE(cmsg(end.r, IPPROTO_TCP, TCP_CM_INQ));
  EXPECT_EQ(as_int(*cmsg(end.r, IPPROTO_TCP, TCP_CM_INQ)), 1);
}

// --- SO_RCVLOWAT ---

TEST_F(Sockopt, RcvlowatReadableOnlyAtTheMark) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_RCVLOWAT, 10));
  data(kPeerIsn + 1, "12345", p.iss + 1);
  EXPECT_FALSE(pollin(p.sock)) << "5 bytes < SO_RCVLOWAT 10";
  // A blocking read waits for the mark too (the front end sleeps on kWouldBlock).
  EXPECT_EQ(recv(p.sock, 0), "<would block>");
  // Lowering the mark makes it readable at once.
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_RCVLOWAT, 5));
  EXPECT_TRUE(pollin(p.sock));
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_RCVLOWAT, 10));
  EXPECT_FALSE(pollin(p.sock));
  data(kPeerIsn + 6, "67890", p.iss + 1);
  EXPECT_TRUE(pollin(p.sock));
  EXPECT_EQ(recv(p.sock, 0), "1234567890");
  // The end of the stream is readable below the mark.
  data(kPeerIsn + 11, "x", p.iss + 1);
  EXPECT_FALSE(pollin(p.sock));
  inject({.flags = kTcpAck | kTcpFin, .seq = kPeerIsn + 12, .ack = p.iss + 1});
  EXPECT_TRUE(pollin(p.sock));
  EXPECT_EQ(recv(p.sock, 0), "x");
}

// --- TCP_CORK ---

TEST_F(Sockopt, CorkSendsFullSegmentsAndHoldsTheRest) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_CORK, 1));
  EXPECT_EQ(send(p.sock, std::string(1000, 'a')), 1000U);
  expect_nothing();
  EXPECT_EQ(send(p.sock, std::string(1000, 'b')), 1000U);
  // A full segment goes, corked or not. It carries PSH: the first write's end is in it
  // (Linux marks the skb that the second write then filled up).
  std::vector<std::byte> d;
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 1460U);
  expect_nothing();  // the 540 left wait
  // Uncorking pushes them, with PSH, though a full segment is unacknowledged: Nagle holds a
  // short segment only behind another short one (Minshall's rule, tcp_minshall_check).
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_CORK, 0));
  expect(kTcpAck | kTcpPsh, p.iss + 1461, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 540U);
}

// --- TCP_MAXSEG ---

TEST_F(Sockopt, MaxsegLowersTheSynsMssAndTheSegments) {
  Socket* s = tcp_socket();
  ASSERT_TRUE(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 1000));
  ASSERT_TRUE(sock_bind(*s, SockAddr::inet({}, kPort)));
  (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  const std::uint32_t iss = isn_for();
  auto syn = expect(kTcpSyn, iss, 0);
  EXPECT_EQ(syn.options.mss, 1000);
  inject(
      {.flags = kTcpSyn | kTcpAck, .seq = kPeerIsn, .ack = iss + 1, .options = syn_options(false)});
  expect(kTcpAck, iss + 1, kPeerIsn + 1);
  ASSERT_EQ(state(s), TcpState::kEstablished);
  tsk(s).nodelay = true;
  EXPECT_EQ(send(s, std::string(2500, 'm')), 2500U);
  std::vector<std::byte> d;
  expect(kTcpAck, iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 1000U) << "the peer offered 1460; ours is the limit";
  expect(kTcpAck, iss + 1001, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 1000U);
  expect(kTcpAck | kTcpPsh, iss + 2001, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 500U);
  auto mss = sock_getsockopt(*s, IPPROTO_TCP, TCP_MAXSEG);
  ASSERT_TRUE(mss);
  int v = 0;
  std::memcpy(&v, mss->bytes.data(), sizeof(v));
  EXPECT_EQ(v, 1000) << "TCP_MAXSEG reads the MSS in use";
}

TEST_F(Sockopt, MaxsegOnTheListenerLowersTheSynAcksMss) {
  Socket* l = listener();
  ASSERT_TRUE(set_int(l, IPPROTO_TCP, TCP_MAXSEG, 700));
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  auto synack = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  EXPECT_EQ(synack.options.mss, 700);
}

// --- TCP_USER_TIMEOUT ---

TEST_F(Sockopt, UserTimeoutAbortsWithEtimedoutWhenItRunsOut) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000));
  // Idle, nothing outstanding: the user timeout does not apply.
  advance(std::chrono::seconds(10));
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  EXPECT_EQ(send(p.sock, "x"), 1U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  // Retransmissions (0.2, 0.6, 1.4 s ...) until 3 s after the first send, not one more.
  advance(std::chrono::milliseconds(2999));
  EXPECT_EQ(state(p.sock), TcpState::kEstablished);
  int rtx = 0;
  while (auto h = next_sent()) {
    EXPECT_EQ(h->seq, p.iss + 1);
    ++rtx;
  }
  EXPECT_EQ(rtx, 3);
  advance(std::chrono::milliseconds(1));
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  expect_nothing();  // tcp_write_err: no reset
  EXPECT_EQ(recv(p.sock), "<timed out>");
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnTimeout, 1U);
}

// --- SO_LINGER ---

TEST_F(Sockopt, LingerZeroCloseSendsAReset) {
  Passive p = open_passive();
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, "unacked"), 7U);
  expect(kTcpAck | kTcpPsh, p.iss + 1, kPeerIsn + 1);
  const linger l{1, 0};
  ASSERT_TRUE(sock_setsockopt(*p.sock, SOL_SOCKET, SO_LINGER,
                              ByteSpan(reinterpret_cast<const std::byte*>(&l), sizeof(l))));
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  // No FIN, no waiting for the data: a reset at SND.NXT, and the connection is gone.
  expect(kTcpRst | kTcpAck, p.iss + 8, kPeerIsn + 1);
  expect_nothing();
  EXPECT_EQ(stack->tcp().connections(), 0U);
  // Linux __tcp_close counts the zero-linger abort as TCPAbortOnData.
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnData, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPAbortOnLinger, 0U);
}

TEST_F(Sockopt, LingerOnWithTimeClosesWithAFin) {
  Passive p = open_passive();
  const linger l{1, 5};
  ASSERT_TRUE(sock_setsockopt(*p.sock, SOL_SOCKET, SO_LINGER,
                              ByteSpan(reinterpret_cast<const std::byte*>(&l), sizeof(l))));
  ASSERT_TRUE(sock_close(*stack, p.sock->fd));
  expect(kTcpFin | kTcpAck, p.iss + 1, kPeerIsn + 1);
}

// --- SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT ---

TEST_F(Sockopt, KeepaliveProbesAtIdlePlusIntervalsThenEtimedout) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPIDLE, 30));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPINTVL, 5));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPCNT, 4));
  // Without SO_KEEPALIVE, no probe however long the idle.
  EXPECT_FALSE(run_until_sent(std::chrono::seconds(100)));
  const Instant on = now;
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_KEEPALIVE, 1));
  std::vector<Duration> at;
  for (auto h = run_until_sent(std::chrono::seconds(100)); h;
       h = run_until_sent(std::chrono::seconds(100))) {
    EXPECT_EQ(h->flags, kTcpAck);
    EXPECT_EQ(h->seq, p.iss) << "SND.UNA - 1";
    at.push_back(now - on);
  }
  using std::chrono::seconds;
  EXPECT_EQ(at, (std::vector<Duration>{seconds(30), seconds(35), seconds(40), seconds(45)}));
  EXPECT_EQ(state(p.sock), TcpState::kClosed);
  EXPECT_EQ(recv(p.sock), "<timed out>");
}

// tcp_sock_set_keepidle_locked: a new idle time counts from the last segment received.
TEST_F(Sockopt, KeepidleChangedCountsFromTheLastReceive) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_KEEPALIVE, 1));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPIDLE, 100));
  const Instant last = now;
  advance(std::chrono::seconds(20));
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPIDLE, 30));
  auto h = run_until_sent(std::chrono::seconds(60));
  ASSERT_TRUE(h);
  EXPECT_EQ(now - last, std::chrono::seconds(30));
  // Already idle past a shorter time: a probe at once.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1});
  advance(std::chrono::seconds(20));
  drain();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_KEEPIDLE, 10));
  auto h2 = next_sent();
  ASSERT_TRUE(h2);
  EXPECT_EQ(h2->seq, p.iss);
}

// --- TCP_QUICKACK ---

TEST_F(Sockopt, QuickackZeroDelaysAcksAndOneSendsTheWaitingAck) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_QUICKACK, 0));  // interactive: delayed ACKs
  data(kPeerIsn + 1, "a", p.iss + 1);
  expect_nothing();
  EXPECT_EQ(recv(p.sock), "a");
  // TCP_QUICKACK 1 with the data read sends the ACK that was waiting (tcp_cleanup_rbuf).
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_QUICKACK, 1));
  expect(kTcpAck, p.iss + 1, kPeerIsn + 2);
}

// __tcp_sock_set_quickack: with unread data (less than a segment) the ACK still waits, and
// quick-ack mode's count is not renewed.
TEST_F(Sockopt, QuickackOneWithUnreadDataLeavesTheAckDelayed) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_QUICKACK, 0));
  data(kPeerIsn + 1, "a", p.iss + 1);
  expect_nothing();
  ASSERT_TRUE(set_int(p.sock, IPPROTO_TCP, TCP_QUICKACK, 1));
  expect_nothing();
  auto h = run_until_sent(std::chrono::milliseconds(500));
  ASSERT_TRUE(h) << "the delayed ACK";
  EXPECT_EQ(h->ack, kPeerIsn + 2);
}

// --- TCP_CONGESTION ---

// The controller switched on an open connection decides the next loss response: after an
// RTO, reno's ssthresh is half the flight (RFC 5681 (4)), cubic's 0.7 of cwnd (RFC 9438
// 4.6); TCP_INFO shows it, and TCP_CC_INFO has nothing for either (as Linux: optlen 0).
class SockoptCongestion : public Sockopt {
 protected:
  tcp_info after_rto_with(const std::string& name) {
    Passive p = open_passive();
    EXPECT_TRUE(
        sock_setsockopt(*p.sock, IPPROTO_TCP, TCP_CONGESTION,
                        ByteSpan(reinterpret_cast<const std::byte*>(name.data()), name.size())));
    auto got = sock_getsockopt(*p.sock, IPPROTO_TCP, TCP_CONGESTION);
    EXPECT_TRUE(got);
    if (got) {
      EXPECT_STREQ(reinterpret_cast<const char*>(got->bytes.data()), name.c_str());
    }
    auto cc_info = sock_getsockopt(*p.sock, IPPROTO_TCP, TCP_CC_INFO);
    EXPECT_TRUE(cc_info);
    if (cc_info) {
      EXPECT_EQ(cc_info->len, 0U);
    }
    tsk(p.sock).nodelay = true;
    EXPECT_EQ(send(p.sock, std::string(10 * 1460, 'c')), 10U * 1460U);
    drain();
    EXPECT_TRUE(run_until_sent(std::chrono::seconds(2)));  // the RTO's retransmission
    return info(p.sock);
  }
};

TEST_F(SockoptCongestion, RenoHalvesTheFlight) {
  const tcp_info ti = after_rto_with("reno");
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 5U);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 1U);
}

TEST_F(SockoptCongestion, CubicKeepsSevenTenths) {
  const tcp_info ti = after_rto_with("cubic");
  EXPECT_EQ(ti.tcpi_snd_ssthresh, 7U);
  EXPECT_EQ(ti.tcpi_snd_cwnd, 1U);
}

// --- SO_TIMESTAMPING (software receive stamps) ---

TEST_F(Sockopt, TimestampingRxSoftwareStampsTheData) {
  Passive p = open_passive();
  const Instant arrival = now;
  data(kPeerIsn + 1, "t1", p.iss + 1);
  auto plain = recvmsg(p.sock, 10);
  EXPECT_FALSE(cmsg(plain.r, SOL_SOCKET, SCM_TIMESTAMPING)) << "not asked";
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_TIMESTAMPING,
                      SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE));
  advance(std::chrono::milliseconds(7));
  const Instant second = now;
  data(kPeerIsn + 3, "t2", p.iss + 1);
  advance(std::chrono::milliseconds(5));  // read later: the stamp is the arrival's
  auto r = recvmsg(p.sock, 10);
  EXPECT_EQ(r.text, "t2");
  auto ts = cmsg(r.r, SOL_SOCKET, SCM_TIMESTAMPING);
  ASSERT_TRUE(ts);
  ASSERT_EQ(ts->size(), 3 * sizeof(timespec));
  timespec t[3];
  std::memcpy(t, ts->data(), sizeof(t));
  const auto ns = second.time_since_epoch().count();
  EXPECT_EQ(t[0].tv_sec, ns / 1000000000);
  EXPECT_EQ(t[0].tv_nsec, ns % 1000000000);
  EXPECT_EQ(t[2].tv_sec, 0) << "no hardware stamp";
  EXPECT_NE(second, arrival);
}

// --- TCP_DEFER_ACCEPT ---

class DeferAccept : public Sockopt {
 protected:
  // A listener with TCP_DEFER_ACCEPT `secs`, a SYN and our SYN,ACK, and the peer's bare
  // ACK, which the listener drops.
  void handshake(int secs) {
    l = listener();
    ASSERT_TRUE(set_int(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, secs));
    inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
    iss = isn_for();
    expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
    start = now;
    bare_ack();
    EXPECT_EQ(stack->mib().TcpExtTCPDeferAcceptDrop, 1U);
  }
  void bare_ack() { inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1}); }
  bool accepted() { return static_cast<bool>(sock_accept(*l, 0)); }
  TcpSock& child() { return *tsk(l).syn_queue.front(); }
  // The times (since the first SYN,ACK) of the SYN,ACKs sent from now on, up to `limit`.
  std::vector<Duration> synacks(Duration limit) {
    std::vector<Duration> at;
    const Instant end = now + limit;
    while (auto h = run_until_sent(end - now)) {
      EXPECT_EQ(h->flags, kTcpSyn | kTcpAck);
      at.push_back(now - start);
    }
    return at;
  }

  Socket* l = nullptr;
  std::uint32_t iss = 0;
  Instant start;
};

TEST_F(DeferAccept, BareAckIsDroppedAndTheChildWaits) {
  handshake(5);
  EXPECT_FALSE(accepted());
  EXPECT_EQ(sock_poll(*l) & POLLIN, 0);
  ASSERT_EQ(tsk(l).syn_queue.size(), 1U);
  EXPECT_EQ(child().state, TcpState::kSynReceived);
  expect_nothing();  // the ACK is not answered
}

// 5 s is three SYN,ACK timeouts (1 + 2 + 4 s, secs_to_retrans): the SYN,ACK is held back at
// the first two, resent at the third as the last chance; the next bare ACK is accepted.
TEST_F(DeferAccept, SynAckResentWhenTheDeferralEndsThenAnAckAccepts) {
  handshake(5);
  using std::chrono::seconds;
  EXPECT_EQ(synacks(seconds(7) - (now - start) - std::chrono::milliseconds(1)),
            std::vector<Duration>{});
  EXPECT_EQ(synacks(std::chrono::milliseconds(2)), std::vector<Duration>{seconds(7)});
  EXPECT_FALSE(accepted());
  bare_ack();
  EXPECT_EQ(stack->mib().TcpExtTCPDeferAcceptDrop, 1U);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(state(*a), TcpState::kEstablished);
}

TEST_F(DeferAccept, DataAcceptsAtOnce) {
  handshake(30);
  inject({.flags = kTcpAck | kTcpPsh, .seq = kPeerIsn + 1, .ack = iss + 1, .data = bytes("GET")});
  EXPECT_NE(sock_poll(*l) & POLLIN, 0);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(recv(*a), "GET");
}

// Deferred and never answered again: the SYN,ACK is resent from the deferral's end until
// tcp_synack_retries (5) timeouts have passed, then the request is dropped without a reset.
TEST_F(DeferAccept, UnansweredAttemptEndsAfterTheSynAckRetries) {
  handshake(5);
  using std::chrono::seconds;
  EXPECT_EQ(synacks(seconds(120)), (std::vector<Duration>{seconds(7), seconds(15), seconds(31)}));
  EXPECT_TRUE(tsk(l).syn_queue.empty()) << "dropped at 63 s";
  EXPECT_FALSE(accepted());
}

// A deferral longer than the SYN,ACK retries keeps the request until it ends.
TEST_F(DeferAccept, LongDeferralOutlivesTheSynAckRetries) {
  l = listener();
  ASSERT_TRUE(set_int(l, IPPROTO_TCP, TCP_SYNCNT, 2));
  ASSERT_TRUE(set_int(l, IPPROTO_TCP, TCP_DEFER_ACCEPT, 15));  // 4 timeouts: 1+2+4+8
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
  iss = isn_for();
  expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  start = now;
  bare_ack();
  using std::chrono::seconds;
  EXPECT_EQ(synacks(seconds(14)), std::vector<Duration>{});
  EXPECT_EQ(synacks(seconds(2)), std::vector<Duration>{seconds(15)});
  ASSERT_EQ(tsk(l).syn_queue.size(), 1U) << "past TCP_SYNCNT's 2, still deferred";
  bare_ack();
  EXPECT_TRUE(accepted());
}

// --- MSG_ZEROCOPY and SO_TIMESTAMPING transmit stamps: the error queue ---

class ErrQueueReports : public Sockopt {
 protected:
  // One sendmsg call as the front end makes it: the send, then its end.
  std::size_t send_call(Socket* s, std::string_view text, int flags) {
    const ByteSpan iov[] = {as_bytes(text)};
    auto r = sock_sendmsg(*s, SendMsg{iov, nullptr}, flags | MSG_DONTWAIT);
    EXPECT_TRUE(r);
    const std::size_t n = r ? *r : 0;
    sock_sendmsg_done(*s, flags, n);
    return n;
  }
  struct Report {
    sock_extended_err ee;
    std::size_t data_len;
    std::optional<timespec> stamp;
  };
  std::optional<Report> next_report(Socket* s) {
    std::array<std::byte, 256> buf{};
    const MutableByteSpan iov[] = {MutableByteSpan(buf)};
    auto r = sock_recv_errqueue(*s, RecvMsg{iov});
    if (!r) return std::nullopt;
    Report rep{};
    rep.data_len = r->copied;
    auto e = cmsg(*r, SOL_IP, IP_RECVERR);
    EXPECT_TRUE(e);
    if (e) std::memcpy(&rep.ee, e->data(), sizeof(rep.ee));
    if (auto t = cmsg(*r, SOL_SOCKET, SCM_TIMESTAMPING)) {
      timespec ts[3];
      std::memcpy(ts, t->data(), sizeof(ts));
      rep.stamp = ts[0];
    }
    return rep;
  }
  static bool same_time(const timespec& ts, Instant t) {
    const auto ns = t.time_since_epoch().count();
    return ts.tv_sec == ns / 1000000000 && ts.tv_nsec == ns % 1000000000;
  }
};

// Linux frees the data's buffers, and runs the completion, when the peer has acknowledged
// it; consecutive completions share one report [ee_info, ee_data].
TEST_F(ErrQueueReports, ZerocopyCompletesWhenTheDataIsAcknowledged) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_ZEROCOPY, 1));
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send_call(p.sock, "abc", MSG_ZEROCOPY), 3U);
  EXPECT_EQ(send_call(p.sock, "def", MSG_ZEROCOPY), 3U);
  EXPECT_EQ(send_call(p.sock, "plain", 0), 5U);  // no number taken
  drain();
  EXPECT_FALSE(next_report(p.sock)) << "sent, not yet acknowledged";
  EXPECT_EQ(sock_poll(*p.sock) & POLLERR, 0);
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 4});
  EXPECT_NE(sock_poll(*p.sock) & POLLERR, 0);
  auto r = next_report(p.sock);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ee.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
  EXPECT_EQ(r->ee.ee_errno, 0U);
  EXPECT_EQ(r->ee.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
  EXPECT_EQ(r->ee.ee_info, 0U);
  EXPECT_EQ(r->ee.ee_data, 0U);
  EXPECT_FALSE(next_report(p.sock));
  // Two more calls, acknowledged together with the second: one report for 1..3.
  EXPECT_EQ(send_call(p.sock, "ghi", MSG_ZEROCOPY), 3U);
  EXPECT_EQ(send_call(p.sock, "jkl", MSG_ZEROCOPY), 3U);
  drain();
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1 + 17});
  r = next_report(p.sock);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ee.ee_info, 1U);
  EXPECT_EQ(r->ee.ee_data, 3U);
  EXPECT_FALSE(next_report(p.sock));
}

// tcp_reset purges the send queue: what was never acknowledged completes all the same.
TEST_F(ErrQueueReports, ZerocopyCompletesWhenTheConnectionIsReset) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_ZEROCOPY, 1));
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send_call(p.sock, "lost", MSG_ZEROCOPY), 4U);
  drain();
  inject({.flags = kTcpRst, .seq = kPeerIsn + 1, .ack = 0});
  ASSERT_EQ(state(p.sock), TcpState::kClosed);
  auto r = next_report(p.sock);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ee.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
  EXPECT_EQ(r->ee.ee_data, 0U);
}

// SOF_TIMESTAMPING_TX_SOFTWARE: SCM_TSTAMP_SND when the segment with the call's last byte
// goes to the device, keyed (OPT_ID) by that byte's distance from where counting began;
// OPT_TSONLY: no packet with it.
TEST_F(ErrQueueReports, TxSoftwareStampWhenTheLastByteIsSent) {
  Passive p = open_passive(false, false, 0);  // a zero window holds the data back
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_TIMESTAMPING,
                      SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                          SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY));
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send_call(p.sock, std::string(100, 'x'), 0), 100U);
  EXPECT_EQ(send_call(p.sock, std::string(3000, 'y'), 0), 3000U);
  EXPECT_FALSE(next_report(p.sock)) << "nothing sent yet";
  advance(std::chrono::milliseconds(3));
  drain();  // a window probe, no data
  EXPECT_FALSE(next_report(p.sock));
  const Instant sent = now;
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 1, .window = 512});
  // Three segments (1460, 1460, 180): a stamp for byte 99 (in the first) and 3099 (in the
  // last), not one per segment.
  auto a = next_report(p.sock);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->ee.ee_origin, SO_EE_ORIGIN_TIMESTAMPING);
  EXPECT_EQ(a->ee.ee_errno, static_cast<std::uint32_t>(ENOMSG));
  EXPECT_EQ(a->ee.ee_info, static_cast<std::uint32_t>(SCM_TSTAMP_SND));
  EXPECT_EQ(a->ee.ee_data, 99U);
  EXPECT_EQ(a->data_len, 0U);
  ASSERT_TRUE(a->stamp);
  EXPECT_TRUE(same_time(*a->stamp, sent));
  auto b = next_report(p.sock);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ee.ee_data, 3099U);
  EXPECT_FALSE(next_report(p.sock));
}

// SOF_TIMESTAMPING_TX_ACK: SCM_TSTAMP_ACK when the last byte is acknowledged; without
// OPT_ID the key is 0. SOF_TIMESTAMPING_TX_SCHED comes with the send.
TEST_F(ErrQueueReports, TxAckAndSchedStamps) {
  Passive p = open_passive();
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_TIMESTAMPING,
                      SOF_TIMESTAMPING_TX_ACK | SOF_TIMESTAMPING_TX_SCHED |
                          SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY));
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send_call(p.sock, "stamp", 0), 5U);
  drain();
  auto sched = next_report(p.sock);
  ASSERT_TRUE(sched);
  EXPECT_EQ(sched->ee.ee_info, static_cast<std::uint32_t>(SCM_TSTAMP_SCHED));
  EXPECT_FALSE(next_report(p.sock));
  advance(std::chrono::milliseconds(20));
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = p.iss + 6});
  auto ack = next_report(p.sock);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->ee.ee_info, static_cast<std::uint32_t>(SCM_TSTAMP_ACK));
  EXPECT_EQ(ack->ee.ee_data, 0U);
  ASSERT_TRUE(ack->stamp);
  EXPECT_TRUE(same_time(*ack->stamp, now));
}

}  // namespace
}  // namespace usnet::script
