// Scripted tests of TCP Fast Open (RFC 7413) as Linux does it: the server's cookie
// requests, data on a SYN with a valid cookie (readable and accept()able before the
// handshake ends), a wrong cookie, the no-cookie modes, the queue limit; the client's
// cookie request, data on its next SYN, data the server did not take sent again,
// TCP_FASTOPEN_CONNECT; and the errno of each misuse, as the kernel gives it.
#include <netinet/tcp.h>
#include <poll.h>

#include <cstring>

#include "base/errno_map.h"
#include "stack/sysctl.h"
#include "support/script.h"
#include "transport/tcp/tcp_fastopen.h"

namespace usnet::script {
namespace {

using wire::FastOpenCookie;
using wire::kTcpAck;
using wire::kTcpPsh;
using wire::kTcpSyn;

FastOpenCookie cookie_of(std::initializer_list<std::uint8_t> b, bool exp = false) {
  FastOpenCookie c;
  std::size_t i = 0;
  for (std::uint8_t v : b)
    c.val[i++] = v;
  c.len = static_cast<std::int8_t>(b.size());
  c.exp = exp;
  return c;
}

wire::TcpOptions with_tfo(std::optional<FastOpenCookie> c) {
  wire::TcpOptions o = syn_options(false);
  o.fastopen = c;
  return o;
}

class Fastopen : public TcpScript {
 protected:
  void set(const char* name, const char* value) {
    ASSERT_TRUE(sysctl_set(stack->sysctl(), name, value)) << name << "=" << value;
  }
  TcpFastOpen& fo() { return stack->tcp().fastopen(); }
  // The cookie this stack gives kPeer (SipHash of the SYN's source and destination).
  FastOpenCookie server_cookie(std::size_t key = 0) {
    Socket* probe = tcp_socket();
    const SipKey k = fo().keys(tsk(probe)).at(key);
    EXPECT_TRUE(sock_close(*stack, probe->fd));
    return TcpFastOpen::cookie(k, kPeer, kUs);
  }
  // A Fast Open listener on kPort (tcp_fastopen 0x2 and TCP_FASTOPEN qlen).
  Socket* tfo_listener(int qlen = 16) {
    set("net.ipv4.tcp_fastopen", "3");
    Socket* l = listener();
    EXPECT_TRUE(set_int(l, IPPROTO_TCP, TCP_FASTOPEN, qlen));
    return l;
  }
  Result<std::size_t> sendto_fastopen(Socket* s, std::string_view text, int flags = MSG_DONTWAIT,
                                      std::uint16_t port = kPeerPort) {
    const ByteSpan iov[] = {as_bytes(text)};
    const SockAddr to = SockAddr::inet(kPeer, port);
    return sock_sendmsg(*s, SendMsg{iov, &to}, flags | MSG_FASTOPEN);
  }
  // tcpi_fastopen_client_fail: bits 1-2 of the byte after the window scales.
  int client_fail(Socket* s) {
    const tcp_info ti = info(s);
    return (reinterpret_cast<const std::uint8_t*>(&ti)[offsetof(tcp_info, tcpi_options) + 2] >> 1) &
           3;
  }
  int errno_of(Status st) { return st ? 0 : to_errno(st.error()); }
  template <typename T>
  int errno_of(const Result<T>& r) {
    return r ? 0 : to_errno(r.error());
  }
  // The peer's SYN,ACK to our SYN `syn`, acknowledging `acked` bytes of its data.
  void synack(const wire::TcpHeader& syn, std::uint32_t acked,
              std::optional<FastOpenCookie> cookie = std::nullopt) {
    inject({.flags = kTcpSyn | kTcpAck,
            .seq = kPeerIsn,
            .ack = syn.seq + 1 + acked,
            .options = with_tfo(cookie),
            .sport = kPeerPort,
            .dport = syn.src_port});
  }
};

// --- server ---

// RFC 7413 4.1.2: a SYN with the empty option gets a cookie in the SYN,ACK and an ordinary
// handshake; the SYN's data, if any, is not taken.
TEST_F(Fastopen, ServerAnswersCookieRequest) {
  Socket* l = tfo_listener();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .options = with_tfo(FastOpenCookie{})});
  const std::uint32_t iss = isn_for();
  auto sa = expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  ASSERT_TRUE(sa.options.fastopen);
  EXPECT_EQ(sa.options.fastopen->len, 8);
  EXPECT_FALSE(sa.options.fastopen->exp);
  EXPECT_EQ(*sa.options.fastopen, server_cookie());
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenCookieReqd, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 0U);
  EXPECT_TRUE(tcp_sk(*l).accept_queue.empty());
  EXPECT_EQ(tcp_sk(*l).syn_queue.size(), 1U);
  // A retransmitted SYN,ACK carries no cookie (Linux inet_rtx_syn_ack).
  auto again = run_until_sent(std::chrono::seconds(2));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->options.fastopen);
}

// The experimental option (kind 254, magic 0xF989) is answered in kind.
TEST_F(Fastopen, ServerAnswersExperimentalRequestInKind) {
  tfo_listener();
  FastOpenCookie req;
  req.exp = true;
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .options = with_tfo(req)});
  auto sa = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  ASSERT_TRUE(sa.options.fastopen);
  EXPECT_TRUE(sa.options.fastopen->exp);
  FastOpenCookie want = server_cookie();
  want.exp = true;
  EXPECT_EQ(*sa.options.fastopen, want);
}

// RFC 7413 4.2.2: a valid cookie's data is taken at once: the SYN,ACK acknowledges it, the
// child is on the accept queue in SYN_RECEIVED, readable and writable before the peer's ACK.
TEST_F(Fastopen, ServerTakesDataWithValidCookie) {
  Socket* l = tfo_listener();
  const std::string req = "GET / HTTP/1.0\r\n\r\n";
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn,
          .data = bytes(req),
          .options = with_tfo(server_cookie())});
  const std::uint32_t iss = isn_for();
  const std::uint32_t end = kPeerIsn + 1 + static_cast<std::uint32_t>(req.size());
  auto sa = expect(kTcpSyn | kTcpAck, iss, end);
  EXPECT_FALSE(sa.options.fastopen);  // a valid cookie is not repeated
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 1U);
  EXPECT_EQ(stack->mib().TcpPassiveOpens, 1U);
  EXPECT_TRUE(tcp_sk(*l).syn_queue.empty());
  EXPECT_EQ(*tcp_sk(*l).tfo.qlen, 1);
  EXPECT_NE(sock_poll(*l) & POLLIN, 0);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  Socket* c = *a;
  EXPECT_EQ(state(c), TcpState::kSynReceived);
  EXPECT_NE(sock_poll(*c) & POLLIN, 0);
  EXPECT_NE(sock_poll(*c) & POLLOUT, 0);
  EXPECT_EQ(recv(c), req);
  EXPECT_NE(info(c).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  // The answer goes before the handshake ends.
  tsk(c).nodelay = true;
  EXPECT_EQ(send(c, "HTTP/1.0 200 OK\r\n"), 17U);
  std::vector<std::byte> d;
  auto h = next_sent(&d);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->flags, kTcpAck | kTcpPsh);
  EXPECT_EQ(h->seq, iss + 1);
  EXPECT_EQ(h->ack, end);
  EXPECT_EQ(d.size(), 17U);
  inject({.flags = kTcpAck, .seq = end, .ack = iss + 1 + 17, .window = 512});
  EXPECT_EQ(state(c), TcpState::kEstablished);
  EXPECT_EQ(*tcp_sk(*l).tfo.qlen, 0);
  EXPECT_EQ(stack->mib().TcpPassiveOpens, 1U);  // not counted twice
  EXPECT_EQ(tsk(c).snd_una.raw(), iss + 1 + 17);
}

// A Fast Open child before its handshake ends: the SYN repeated gets the SYN,ACK again
// (data acknowledged once, not queued twice); a lost SYN,ACK is retransmitted without the
// cookie; a reset is reported to the accepted socket after its data (ECONNRESET); the
// SYN,ACK retries running out are ETIMEDOUT, and the listener's qlen comes back each time.
TEST_F(Fastopen, ServerChildBeforeItsHandshakeEnds) {
  Socket* l = tfo_listener();
  const FastOpenCookie c = server_cookie();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .data = bytes("abc"), .options = with_tfo(c)});
  const std::uint32_t iss = isn_for();
  expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 4);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .data = bytes("abc"), .options = with_tfo(c)});
  auto again = expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 4);
  EXPECT_FALSE(again.options.fastopen);
  EXPECT_EQ(tcp_sk(*l).accept_queue.size(), 1U);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(recv(*a), "abc");
  auto rtx = run_until_sent(std::chrono::seconds(3));
  ASSERT_TRUE(rtx);
  EXPECT_EQ(rtx->flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(rtx->ack, kPeerIsn + 4);
  EXPECT_FALSE(rtx->options.fastopen);
  inject({.flags = wire::kTcpRst, .seq = kPeerIsn + 4});
  EXPECT_EQ(state(*a), TcpState::kClosed);
  EXPECT_EQ(recv(*a), "<" + std::string(error_name(Error::kConnectionReset)) + ">");
  EXPECT_EQ(*tcp_sk(*l).tfo.qlen, 0);

  // Another, whose peer never answers: the SYN,ACK retries end in ETIMEDOUT.
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn + 500,
          .data = bytes("xyz"),
          .options = with_tfo(c),
          .sport = kPeerPort + 1});
  drain();
  auto b = sock_accept(*l, 0);
  ASSERT_TRUE(b);
  EXPECT_EQ(*tcp_sk(*l).tfo.qlen, 1);
  advance(std::chrono::seconds(200));
  EXPECT_EQ(state(*b), TcpState::kClosed);
  EXPECT_EQ(recv(*b), "xyz");
  EXPECT_EQ(recv(*b), "<" + std::string(error_name(Error::kTimedOut)) + ">");
  EXPECT_EQ(*tcp_sk(*l).tfo.qlen, 0);
}

// A wrong cookie: the SYN,ACK acknowledges only the SYN and carries the right cookie; the
// data is dropped (the client sends it again after the handshake).
TEST_F(Fastopen, ServerDropsDataWithInvalidCookie) {
  Socket* l = tfo_listener();
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn,
          .data = bytes("hello"),
          .options = with_tfo(cookie_of({1, 2, 3, 4, 5, 6, 7, 8}))});
  const std::uint32_t iss = isn_for();
  auto sa = expect(kTcpSyn | kTcpAck, iss, kPeerIsn + 1);
  ASSERT_TRUE(sa.options.fastopen);
  EXPECT_EQ(*sa.options.fastopen, server_cookie());
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassiveFail, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 0U);
  EXPECT_TRUE(tcp_sk(*l).accept_queue.empty());
  inject({.flags = kTcpAck, .seq = kPeerIsn + 1, .ack = iss + 1, .window = 512});
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(recv(*a), "<would block>");
  EXPECT_EQ(info(*a).tcpi_options & TCPI_OPT_SYN_DATA, 0);
}

// tcp_fastopen 0x200: data is taken without any cookie, and none is offered.
TEST_F(Fastopen, ServerCookieNotRequired) {
  set("net.ipv4.tcp_fastopen", "0x203");
  Socket* l = listener();
  ASSERT_TRUE(set_int(l, IPPROTO_TCP, TCP_FASTOPEN, 4));
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .data = bytes("abc"), .options = with_tfo({})});
  auto sa = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 4);
  EXPECT_FALSE(sa.options.fastopen);
  auto a = sock_accept(*l, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(recv(*a), "abc");
}

// tcp_fastopen 0x400 gives every listener Fast Open (qlen = backlog); without it a listener
// needs TCP_FASTOPEN, and without 0x2 nothing happens at all.
TEST_F(Fastopen, ServerEnablementBits) {
  set("net.ipv4.tcp_fastopen", "0x402");
  Socket* l = listener(8);
  auto q = sock_getsockopt(*l, IPPROTO_TCP, TCP_FASTOPEN);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->len, sizeof(int));
  int v = 0;
  std::memcpy(&v, q->bytes.data(), sizeof(v));
  EXPECT_EQ(v, 8);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .options = with_tfo(FastOpenCookie{})});
  auto sa = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  EXPECT_TRUE(sa.options.fastopen);
  ASSERT_TRUE(sock_close(*stack, l->fd));
  drain();

  // Default tcp_fastopen=1: client only. A listener with TCP_FASTOPEN still gives nothing.
  set("net.ipv4.tcp_fastopen", "1");
  Socket* l2 = listener();
  ASSERT_TRUE(set_int(l2, IPPROTO_TCP, TCP_FASTOPEN, 8));
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn + 100,
          .data = bytes("x"),
          .options = with_tfo(server_cookie()),
          .sport = kPeerPort + 1});
  auto plain = expect(kTcpSyn | kTcpAck, isn_for(kPort, kPeerPort + 1), kPeerIsn + 101);
  EXPECT_FALSE(plain.options.fastopen);
  EXPECT_TRUE(tcp_sk(*l2).accept_queue.empty());

  // 0x2 without TCP_FASTOPEN or 0x400: the listener does not take it either.
  set("net.ipv4.tcp_fastopen", "2");
  ASSERT_TRUE(set_int(l2, IPPROTO_TCP, TCP_FASTOPEN, 0));
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn + 200,
          .data = bytes("x"),
          .options = with_tfo(server_cookie()),
          .sport = kPeerPort + 2});
  auto plain2 = expect(kTcpSyn | kTcpAck, isn_for(kPort, kPeerPort + 2), kPeerIsn + 201);
  EXPECT_FALSE(plain2.options.fastopen);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 0U);
}

// TCP_FASTOPEN's qlen bounds the children still in SYN_RECEIVED: past it a SYN is an
// ordinary one (no data taken, no cookie offered), counted as ListenOverflow.
TEST_F(Fastopen, ServerQueueLimit) {
  Socket* l = tfo_listener(1);
  const FastOpenCookie c = server_cookie();
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .data = bytes("one"), .options = with_tfo(c)});
  expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 4);
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn + 50,
          .data = bytes("two"),
          .options = with_tfo(c),
          .sport = kPeerPort + 1});
  auto sa = expect(kTcpSyn | kTcpAck, isn_for(kPort, kPeerPort + 1), kPeerIsn + 51);
  EXPECT_FALSE(sa.options.fastopen);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenListenOverflow, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 1U);
  EXPECT_EQ(tcp_sk(*l).accept_queue.size(), 1U);
  // The first child's handshake ends: room again.
  inject({.flags = kTcpAck, .seq = kPeerIsn + 4, .ack = isn_for() + 1, .window = 512});
  EXPECT_EQ(*tcp_sk(*l).tfo.qlen, 0);
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn + 90,
          .data = bytes("three"),
          .options = with_tfo(c),
          .sport = kPeerPort + 2});
  expect(kTcpSyn | kTcpAck, isn_for(kPort, kPeerPort + 2), kPeerIsn + 96);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 2U);
}

// TCP_FASTOPEN_KEY: a primary and a backup key. A cookie made under the backup is still
// taken, and the SYN,ACK hands out the primary's (PassiveAltKey); getsockopt returns both.
TEST_F(Fastopen, ServerKeyRotation) {
  Socket* l = tfo_listener();
  std::array<std::uint8_t, 32> keys{};
  for (std::size_t i = 0; i < keys.size(); ++i)
    keys[i] = static_cast<std::uint8_t>(i + 1);
  ASSERT_TRUE(sock_setsockopt(*l, IPPROTO_TCP, TCP_FASTOPEN_KEY, as_bytes(std::span(keys))));
  auto got = sock_getsockopt(*l, IPPROTO_TCP, TCP_FASTOPEN_KEY);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->len, 32U);
  EXPECT_EQ(std::memcmp(got->bytes.data(), keys.data(), 32), 0);
  const SipKey primary = tcp_fastopen_key_from_bytes(as_bytes(std::span(keys)).first(16));
  const SipKey backup = tcp_fastopen_key_from_bytes(as_bytes(std::span(keys)).subspan(16));
  inject({.flags = kTcpSyn,
          .seq = kPeerIsn,
          .data = bytes("old"),
          .options = with_tfo(TcpFastOpen::cookie(backup, kPeer, kUs))});
  auto sa = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 4);
  ASSERT_TRUE(sa.options.fastopen);
  EXPECT_EQ(*sa.options.fastopen, TcpFastOpen::cookie(primary, kPeer, kUs));
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassiveAltKey, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenPassive, 1U);
  // Neither the stack's key nor a wrong length.
  EXPECT_EQ(errno_of(sock_setsockopt(*l, IPPROTO_TCP, TCP_FASTOPEN_KEY,
                                     as_bytes(std::span(keys)).first(8))),
            EINVAL);
}

// net.ipv4.tcp_fastopen_key as Linux prints it: zeros before any key; each key four words
// of its bytes read little-endian, the backup after a comma. The cookies follow the key.
TEST_F(Fastopen, SysctlKeyText) {
  // Before any key is made getsockopt(TCP_FASTOPEN_KEY) returns none (optlen 0).
  auto none = sock_getsockopt(*tcp_socket(), IPPROTO_TCP, TCP_FASTOPEN_KEY);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->len, 0U);
  EXPECT_EQ(*sysctl_get(stack->sysctl(), "net.ipv4.tcp_fastopen_key"),
            "00000000-00000000-00000000-00000000");
  set("net.ipv4.tcp_fastopen_key",
      "03020100-07060504-0b0a0908-0f0e0d0c,13121110-17161514-1b1a1918-1f1e1d1c");
  EXPECT_EQ(*sysctl_get(stack->sysctl(), "net.ipv4.tcp_fastopen_key"),
            "03020100-07060504-0b0a0908-0f0e0d0c,13121110-17161514-1b1a1918-1f1e1d1c");
  std::array<std::uint8_t, 16> bytes0{};
  for (std::size_t i = 0; i < 16; ++i)
    bytes0[i] = static_cast<std::uint8_t>(i);
  const SipKey k0 = tcp_fastopen_key_from_bytes(as_bytes(std::span(bytes0)));
  Socket* l = tfo_listener();
  auto got = sock_getsockopt(*l, IPPROTO_TCP, TCP_FASTOPEN_KEY);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->len, 32U);
  EXPECT_EQ(std::memcmp(got->bytes.data(), bytes0.data(), 16), 0);
  inject({.flags = kTcpSyn, .seq = kPeerIsn, .options = with_tfo(FastOpenCookie{})});
  auto sa = expect(kTcpSyn | kTcpAck, isn_for(), kPeerIsn + 1);
  ASSERT_TRUE(sa.options.fastopen);
  EXPECT_EQ(*sa.options.fastopen, TcpFastOpen::cookie(k0, kPeer, kUs));
  EXPECT_FALSE(sysctl_set(stack->sysctl(), "net.ipv4.tcp_fastopen_key", "1-2-3"));
}

// The cookie Linux 6.x gives under a known key, read from its cache (`ip tcp_metrics show`:
// "fo_cookie 12c3d3d66081fc12") after a Fast Open connection over its loopback with
// net.ipv4.tcp_fastopen_key=00010203-04050607-08090a0b-0c0d0e0f: the same key text gives
// usnet the same cookie, so servers can share keys with Linux ones.
TEST_F(Fastopen, CookieMatchesLinuxForTheSameKey) {
  set("net.ipv4.tcp_fastopen_key", "00010203-04050607-08090a0b-0c0d0e0f");
  const Ipv4Address lo = Ipv4Address::from_octets(127, 0, 0, 1);
  const FastOpenCookie c = TcpFastOpen::cookie(stack->sysctl().tcp_fastopen_key.at(0), lo, lo);
  EXPECT_EQ(c, cookie_of({0x12, 0xc3, 0xd3, 0xd6, 0x60, 0x81, 0xfc, 0x12}));
}

// --- client ---

// RFC 7413 4.1.1: the first MSG_FASTOPEN asks for a cookie (EINPROGRESS, no data on the
// SYN); the cookie from the SYN,ACK is cached; the next MSG_FASTOPEN to that server puts
// its data on the SYN and, acknowledged, counts TCPFastOpenActive.
TEST_F(Fastopen, ClientRequestsCookieThenSendsDataOnSyn) {
  Socket* s = tcp_socket();
  auto r = sendto_fastopen(s, "hello");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kInProgress);
  std::vector<std::byte> d;
  auto syn = next_sent(&d);
  ASSERT_TRUE(syn);
  EXPECT_EQ(syn->flags, kTcpSyn);
  EXPECT_TRUE(d.empty());
  ASSERT_TRUE(syn->options.fastopen);
  EXPECT_EQ(syn->options.fastopen->len, 0);
  EXPECT_EQ(client_fail(s), kTfoCookieUnavailable);
  const FastOpenCookie c = cookie_of({9, 8, 7, 6, 5, 4, 3, 2});
  synack(*syn, 0, c);
  expect(kTcpAck, syn->seq + 1, kPeerIsn + 1);
  EXPECT_EQ(state(s), TcpState::kEstablished);
  auto cached = fo().cache_get(kPeer);
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->cookie, c);
  EXPECT_EQ(cached->mss, 1460);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActive, 0U);

  Socket* s2 = tcp_socket();
  auto r2 = sendto_fastopen(s2, "hello");
  ASSERT_TRUE(r2);
  EXPECT_EQ(*r2, 5U);
  auto syn2 = next_sent(&d);
  ASSERT_TRUE(syn2);
  EXPECT_EQ(syn2->flags, kTcpSyn);
  ASSERT_TRUE(syn2->options.fastopen);
  EXPECT_EQ(*syn2->options.fastopen, c);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.data()), d.size()), "hello");
  synack(*syn2, 5);
  expect(kTcpAck, syn2->seq + 6, kPeerIsn + 1);
  expect_nothing();
  EXPECT_EQ(state(s2), TcpState::kEstablished);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActive, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActiveFail, 0U);
  EXPECT_NE(info(s2).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  EXPECT_EQ(client_fail(s2), 0);
  EXPECT_EQ(tsk(s2).sndq.size(), 0U);
  // The cookie stays cached though this SYN,ACK had none.
  EXPECT_EQ(fo().cache_get(kPeer)->cookie, c);
}

// A SYN,ACK that acknowledges only the SYN: the data goes again at once, in a segment that
// carries the ACK (no bare ACK first), and TCPFastOpenActiveFail counts it; one that takes
// part of the data: the rest goes.
TEST_F(Fastopen, ClientResendsDataTheSynAckDidNotTake) {
  const FastOpenCookie c = cookie_of({1, 1, 2, 2});
  fo().cache_set(kPeer, 1460, &c);
  Socket* s = tcp_socket();
  auto r = sendto_fastopen(s, "hello world");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 11U);
  auto syn = next_sent();
  ASSERT_TRUE(syn);
  synack(*syn, 0);
  std::vector<std::byte> d;
  auto h = expect(kTcpAck | kTcpPsh, syn->seq + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.data()), d.size()), "hello world");
  expect_nothing();
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActiveFail, 1U);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActive, 0U);
  EXPECT_EQ(info(s).tcpi_options & TCPI_OPT_SYN_DATA, 0);
  EXPECT_EQ(client_fail(s), kTfoDataNotAcked);
  (void)h;

  Socket* s2 = tcp_socket();
  ASSERT_TRUE(sendto_fastopen(s2, "hello world"));
  auto syn2 = next_sent();
  ASSERT_TRUE(syn2);
  synack(*syn2, 5);
  expect(kTcpAck | kTcpPsh, syn2->seq + 6, kPeerIsn + 1, &d);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.data()), d.size()), " world");
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActiveFail, 2U);
}

// Data on a SYN is at most the MSS less 40 bytes of options (tcp_send_syn_data); a
// non-blocking call returns what went on the SYN.
TEST_F(Fastopen, ClientSynDataBoundedByMssLessOptionSpace) {
  const FastOpenCookie c = cookie_of({1, 2, 3, 4, 5, 6, 7, 8});
  fo().cache_set(kPeer, 1000, &c);
  Socket* s = tcp_socket();
  const std::string big(3000, 'x');
  auto r = sendto_fastopen(s, big);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 960U);
  std::vector<std::byte> d;
  auto syn = next_sent(&d);
  ASSERT_TRUE(syn);
  EXPECT_EQ(d.size(), 960U);
  EXPECT_LE(syn->size() + d.size(), 1500U - 20U);
}

// TCP_FASTOPEN_CONNECT: with a cookie cached, connect() returns 0 at once and sends nothing;
// the socket polls writable; the first write sends the SYN with the data. Without one,
// connect() is an ordinary one whose SYN asks for a cookie.
TEST_F(Fastopen, ClientFastopenConnect) {
  Socket* s = tcp_socket();
  ASSERT_TRUE(set_int(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1));
  auto st = sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), Error::kInProgress);
  auto syn = next_sent();
  ASSERT_TRUE(syn);
  ASSERT_TRUE(syn->options.fastopen);
  EXPECT_EQ(syn->options.fastopen->len, 0);
  const FastOpenCookie c = cookie_of({4, 4, 4, 4, 4, 4});
  synack(*syn, 0, c);
  expect(kTcpAck, syn->seq + 1, kPeerIsn + 1);

  Socket* s2 = tcp_socket();
  ASSERT_TRUE(set_int(s2, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1));
  auto v = sock_getsockopt(*s2, IPPROTO_TCP, TCP_FASTOPEN_CONNECT);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->bytes[0], std::byte{1});
  EXPECT_TRUE(sock_connect(*s2, SockAddr::inet(kPeer, kPeerPort), 0));
  expect_nothing();
  EXPECT_EQ(state(s2), TcpState::kSynSent);
  EXPECT_NE(sock_poll(*s2) & POLLOUT, 0);
  // connect() again: it was reported already (Linux: EISCONN for a deferred connect).
  EXPECT_EQ(errno_of(sock_connect(*s2, SockAddr::inet(kPeer, kPeerPort), 0)), EISCONN);
  EXPECT_EQ(send(s2, "GET /"), 5U);
  std::vector<std::byte> d;
  auto syn2 = next_sent(&d);
  ASSERT_TRUE(syn2);
  EXPECT_EQ(syn2->flags, kTcpSyn);
  ASSERT_TRUE(syn2->options.fastopen);
  EXPECT_EQ(*syn2->options.fastopen, c);
  EXPECT_EQ(d.size(), 5U);
  EXPECT_EQ(sock_poll(*s2) & POLLOUT, 0);  // now an ordinary SYN_SENT
  synack(*syn2, 5);
  expect(kTcpAck, syn2->seq + 6, kPeerIsn + 1);
  EXPECT_EQ(stack->mib().TcpExtTCPFastOpenActive, 1U);
  // A SYN retransmission carries neither data nor option: checked on a third socket.
  Socket* s3 = tcp_socket();
  ASSERT_TRUE(set_int(s3, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1));
  EXPECT_TRUE(sock_connect(*s3, SockAddr::inet(kPeer, kPeerPort), 0));
  EXPECT_EQ(send(s3, "abc"), 3U);
  ASSERT_TRUE(next_sent());
  auto retry = run_until_sent(std::chrono::seconds(2), &d);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->flags, kTcpSyn);
  EXPECT_FALSE(retry->options.fastopen);
  EXPECT_TRUE(d.empty());
  // The SYN,ACK to the plain retry acknowledges only the SYN: the data follows.
  synack(*retry, 0);
  expect(kTcpAck | kTcpPsh, retry->seq + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 3U);
  EXPECT_EQ(client_fail(s3), kTfoSynRetransmitted);
}

// tcp_fastopen 0x4 (or TCP_FASTOPEN_NO_COOKIE): data on the SYN without any option.
TEST_F(Fastopen, ClientNoCookie) {
  set("net.ipv4.tcp_fastopen", "5");
  Socket* s = tcp_socket();
  auto r = sendto_fastopen(s, "data");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 4U);
  std::vector<std::byte> d;
  auto syn = next_sent(&d);
  ASSERT_TRUE(syn);
  EXPECT_FALSE(syn->options.fastopen);
  EXPECT_EQ(d.size(), 4U);

  set("net.ipv4.tcp_fastopen", "1");
  Socket* s2 = tcp_socket();
  ASSERT_TRUE(set_int(s2, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 1));
  ASSERT_TRUE(sendto_fastopen(s2, "more", MSG_DONTWAIT, kPeerPort + 1));
  auto syn2 = next_sent(&d);
  ASSERT_TRUE(syn2);
  EXPECT_FALSE(syn2->options.fastopen);
  EXPECT_EQ(d.size(), 4U);
}

// The errno of each misuse, as Linux 6.x gives it (tcp_sendmsg_fastopen,
// __inet_stream_connect, do_tcp_setsockopt).
TEST_F(Fastopen, ErrnoAsLinux) {
  set("net.ipv4.tcp_fastopen", "0");
  Socket* s = tcp_socket();
  EXPECT_EQ(errno_of(sendto_fastopen(s, "x")), EOPNOTSUPP);
  EXPECT_EQ(errno_of(set_int(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)), EOPNOTSUPP);
  set("net.ipv4.tcp_fastopen", "1");
  EXPECT_EQ(errno_of(set_int(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 2)), EINVAL);
  EXPECT_EQ(errno_of(set_int(s, IPPROTO_TCP, TCP_FASTOPEN, -1)), EINVAL);
  EXPECT_EQ(errno_of(set_int(s, IPPROTO_TCP, TCP_FASTOPEN_NO_COOKIE, 2)), EINVAL);
  // No address on an unconnected socket: tcp_v4_connect's EINVAL.
  const ByteSpan iov[] = {as_bytes(std::string_view("x"))};
  EXPECT_EQ(errno_of(sock_sendmsg(*s, SendMsg{iov, nullptr}, MSG_DONTWAIT | MSG_FASTOPEN)), EINVAL);
  const SockAddr unspec{};
  EXPECT_EQ(errno_of(sock_sendmsg(*s, SendMsg{iov, &unspec}, MSG_DONTWAIT | MSG_FASTOPEN)),
            EOPNOTSUPP);
  // In progress: EALREADY; connected: EISCONN; options that need CLOSE: EINVAL.
  EXPECT_EQ(errno_of(sendto_fastopen(s, "x")), EINPROGRESS);
  EXPECT_EQ(errno_of(sendto_fastopen(s, "x")), EALREADY);
  auto syn = next_sent();
  ASSERT_TRUE(syn);
  synack(*syn, 0);
  EXPECT_EQ(state(s), TcpState::kEstablished);
  EXPECT_EQ(errno_of(sendto_fastopen(s, "x")), EISCONN);
  EXPECT_EQ(errno_of(set_int(s, IPPROTO_TCP, TCP_FASTOPEN, 5)), EINVAL);
  EXPECT_EQ(errno_of(set_int(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)), EINVAL);
  // sendto() with an address but without MSG_FASTOPEN on a fresh socket stays EPIPE.
  Socket* s2 = tcp_socket();
  const SockAddr to = SockAddr::inet(kPeer, kPeerPort);
  EXPECT_EQ(errno_of(sock_sendmsg(*s2, SendMsg{iov, &to}, MSG_DONTWAIT)), EPIPE);
}

// The cookie cache is bounded (64 peers), least recently used out first.
TEST_F(Fastopen, CookieCacheIsBoundedLru) {
  const FastOpenCookie c = cookie_of({1, 2, 3, 4});
  for (std::uint8_t i = 0; i < 70; ++i)
    fo().cache_set(Ipv4Address::from_octets(198, 18, 1, i), 1460, &c);
  EXPECT_EQ(fo().cache_size(), kTfoCacheSize);
  EXPECT_FALSE(fo().cache_get(Ipv4Address::from_octets(198, 18, 1, 0)));
  EXPECT_TRUE(fo().cache_get(Ipv4Address::from_octets(198, 18, 1, 6)));  // now most recent
  fo().cache_set(Ipv4Address::from_octets(198, 18, 2, 0), 1460, &c);
  EXPECT_TRUE(fo().cache_get(Ipv4Address::from_octets(198, 18, 1, 6)));
  EXPECT_FALSE(fo().cache_get(Ipv4Address::from_octets(198, 18, 1, 7)));
}

}  // namespace
}  // namespace usnet::script
