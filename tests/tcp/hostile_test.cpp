// Scripted tests of traffic a server meets from hostile or broken peers, held to what Linux
// does with it: martian source addresses (ip_route_input_slow), IPv4 options
// (ip_options_compile, ip_rcv_options), Fragmentation Needed with a tiny MTU
// (ip_rt_min_pmtu) and floods of out-of-order segments (tcp_data_queue_ofo,
// tcp_prune_ofo_queue).
#include <netinet/in.h>

#include <cstring>

#include "support/script.h"
#include "wire/checksum.h"

namespace usnet::script {
namespace {

using namespace std::chrono_literals;
using wire::kTcpAck;
using wire::kTcpSyn;

// An IPv4 datagram to us with `options` (a multiple of 4 bytes) in its header.
Packet ip_datagram(Ipv4Address src, const std::vector<std::uint8_t>& options, std::uint8_t proto,
                   ByteSpan payload) {
  const std::size_t hl = wire::Ipv4Header::kMinSize + options.size();
  Packet p = Packet::copy_of(payload);
  MutableByteSpan h = p.push(hl);
  store_u8(h, 0, static_cast<std::uint8_t>(0x40 | (hl / 4)));
  store_u8(h, 1, 0);
  store_be<std::uint16_t>(h, 2, static_cast<std::uint16_t>(hl + payload.size()));
  store_be<std::uint16_t>(h, 4, 0x1234);
  store_be<std::uint16_t>(h, 6, wire::Ipv4Header::kFlagDontFragment);
  store_u8(h, 8, 64);
  store_u8(h, 9, proto);
  store_be<std::uint16_t>(h, 10, 0);
  store_be<std::uint32_t>(h, 12, src.value);
  store_be<std::uint32_t>(h, 16, kUs.value);
  for (std::size_t i = 0; i < options.size(); ++i)
    store_u8(h, 20 + i, options[i]);
  store_be<std::uint16_t>(h, 10, wire::checksum(h.first(hl)));
  return p;
}

// A bare SYN to port 80 from kPeer:sport, as TCP bytes.
std::vector<std::byte> syn_segment(std::uint16_t sport) {
  wire::TcpHeader h;
  h.src_port = sport;
  h.dst_port = kPort;
  h.seq = kPeerIsn;
  h.flags = kTcpSyn;
  h.window = 65535;
  h.options = syn_options(false);
  std::vector<std::byte> b(h.size());
  h.emit(b);
  wire::TcpHeader::finish_checksum(b, kPeer, kUs);
  return b;
}

class Hostile : public TcpScript {
 protected:
  void inject_ip(Packet p) { deliver(std::move(p), 0x0800); }
};

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

// ip_rcv_options: a host (accept_source_route 0) drops a datagram with a loose or strict
// source route, silently: no SYN,ACK, no ICMP.
TEST_F(Hostile, SourceRoutedSynsAreDropped) {
  listener();
  const std::uint8_t lsrr = 131;
  const std::uint8_t ssrr = 137;
  std::uint16_t sport = 31000;
  for (const std::uint8_t type : {lsrr, ssrr}) {
    // type, length 7, pointer 4, one address; then End of Option List.
    const std::vector<std::uint8_t> opt = {type, 7, 4, 198, 18, 0, 9, 0};
    inject_ip(ip_datagram(kPeer, opt, 6, syn_segment(sport++)));
    expect_nothing();
    EXPECT_FALSE(next_icmp());
  }
  EXPECT_EQ(stack->tcp().connections(), 0U);
  EXPECT_EQ(stack->mib().TcpInSegs, 0U);
  EXPECT_EQ(stack->mib().UsnetIpInSourceRoutes, 2U);
  // Record Route and an option this host does not know are fine (ping -R works).
  inject_ip(ip_datagram(kPeer, {7, 7, 4, 0, 0, 0, 0, 0}, 6, syn_segment(sport)));
  expect(kTcpSyn | kTcpAck, isn_for(kPort, sport), kPeerIsn + 1);
  ++sport;
  inject_ip(ip_datagram(kPeer, {0x55, 4, 0, 0}, 6, syn_segment(sport)));
  expect(kTcpSyn | kTcpAck, isn_for(kPort, sport), kPeerIsn + 1);
  ++sport;  // a Timestamp option with room left
  inject_ip(ip_datagram(kPeer, {68, 8, 5, 0, 0, 0, 0, 0}, 6, syn_segment(sport)));
  expect(kTcpSyn | kTcpAck, isn_for(kPort, sport), kPeerIsn + 1);
  EXPECT_EQ(stack->mib().IpInHdrErrors, 0U);
}

// ip_options_compile: a malformed option is answered with ICMP Parameter Problem (code 0)
// whose pointer names the offending byte, counted in IpInHdrErrors; the datagram goes no
// further.
struct BadOption {
  std::vector<std::uint8_t> options;
  std::uint8_t pointer;  // byte offset from the start of the IP header
};

class BadOptions : public Hostile, public ::testing::WithParamInterface<BadOption> {};

TEST_P(BadOptions, AreAnsweredWithParameterProblem) {
  listener();
  const BadOption c = GetParam();
  inject_ip(ip_datagram(kPeer, c.options, 6, syn_segment(32000)));
  expect_nothing();
  EXPECT_EQ(stack->tcp().connections(), 0U);
  EXPECT_EQ(stack->mib().TcpInSegs, 0U);
  EXPECT_EQ(stack->mib().IpInHdrErrors, 1U);
  auto m = next_icmp();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->icmp.type, static_cast<std::uint8_t>(wire::IcmpType::kParameterProblem));
  EXPECT_EQ(m->icmp.code, 0);
  EXPECT_EQ(m->icmp.ident >> 8, c.pointer);  // the pointer is byte 4 of the message
  EXPECT_EQ(m->icmp.ident & 0xff, 0);
  EXPECT_EQ(m->icmp.sequence, 0);
  EXPECT_EQ(m->ip.dst, kPeer);
  EXPECT_EQ(m->ip.src, kUs);
  // The quote starts with the offending header, options included.
  ASSERT_GE(m->quote.size(), 20 + c.options.size() + 8);
  EXPECT_EQ(load_u8(m->quote, 0), 0x40 | (20 + c.options.size()) / 4);
  EXPECT_EQ(load_u8(m->quote, 20), c.options[0]);
  EXPECT_EQ(stack->mib().IcmpOutParmProbs, 1U);
}

INSTANTIATE_TEST_SUITE_P(
    Ipv4, BadOptions,
    ::testing::Values(
        BadOption{{7, 8, 4, 0}, 20},  // length runs past the header
        BadOption{{7, 1, 4, 0}, 20},  // length below 2
        BadOption{{1, 1, 1, 7}, 23},  // a lone byte where a length must follow
        BadOption{{7, 3, 3, 0}, 22},  // Record Route pointer below 4
        BadOption{{7, 7, 4, 0, 0, 0, 0, 1, 7, 7, 4, 0, 0, 0, 0, 1}, 28},  // two Record Routes
        BadOption{{68, 2, 0, 0}, 21},                 // Timestamp shorter than 4
        BadOption{{68, 4, 4, 0}, 22},                 // Timestamp pointer below 5
        BadOption{{148, 2, 0, 0}, 21},                // Router Alert shorter than 4
        BadOption{{68, 8, 9, 0xf0, 0, 0, 0, 0}, 23},  // Timestamp full, overflow count full
        BadOption{{134, 8, 0, 0, 0, 1, 0, 0}, 22},    // CIPSO: no such DOI on this host
        BadOption{{134, 6, 0, 0, 0, 1, 0, 0}, 21}));  // CIPSO shorter than 8

// ICMP Destination Unreachable, Fragmentation Needed, quoting one of our segments: its IP
// header and the first 8 bytes of its TCP header (ports and sequence number), RFC 792.
Packet frag_needed(std::uint16_t mtu, const wire::Ipv4Header& ip, const wire::TcpHeader& tcp) {
  std::vector<std::byte> msg(wire::IcmpHeader::kSize + 28);
  wire::IcmpHeader h;
  h.type = static_cast<std::uint8_t>(wire::IcmpType::kDestUnreachable);
  h.code = static_cast<std::uint8_t>(wire::UnreachCode::kFragNeeded);
  h.sequence = mtu;
  h.emit(msg);
  ip.emit(MutableByteSpan(msg).subspan(8, 20));
  store_be<std::uint16_t>(msg, 28, tcp.src_port);
  store_be<std::uint16_t>(msg, 30, tcp.dst_port);
  store_be<std::uint32_t>(msg, 32, tcp.seq);
  wire::IcmpHeader::finish_checksum(msg);
  return ip_datagram(Ipv4Address::from_octets(198, 18, 0, 254), {}, 1, msg);
}

// __ip_rt_update_pmtu: a path MTU below ip_rt_min_pmtu (552) is raised to it and locked,
// so that datagrams leave without DF and a router on a tiny-MTU link fragments them; TCP's
// segments shrink to 552 - 40 = 512 bytes, not to 68 - 40.
TEST_F(Hostile, FragmentationNeededWithATinyMtuFloorsThePathMtuAt552) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(3000, 'f')), 3000U);
  auto first = next_sent();
  ASSERT_TRUE(first);
  const wire::Ipv4Header first_ip = last_ip;
  EXPECT_TRUE(first_ip.dont_fragment);
  drain();
  inject_ip(frag_needed(68, first_ip, *first));
  std::vector<std::byte> d;
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 512U);
  EXPECT_FALSE(last_ip.dont_fragment);
  EXPECT_EQ(tsk(p.sock).mss, 512);
  // A later report of a larger MTU cannot grow the path MTU back (RFC 1191 6.3).
  inject_ip(frag_needed(1000, first_ip, *first));
  EXPECT_EQ(tsk(p.sock).mss, 512);
}

TEST_F(Hostile, FragmentationNeededWithAnOrdinaryMtuSetsTheMssFromIt) {
  Passive p = open_passive(true);  // timestamps: 12 bytes of options in every segment
  ASSERT_NE(p.sock, nullptr);
  tsk(p.sock).nodelay = true;
  EXPECT_EQ(send(p.sock, std::string(3000, 'f')), 3000U);
  auto first = next_sent();
  ASSERT_TRUE(first);
  const wire::Ipv4Header first_ip = last_ip;
  drain();
  inject_ip(frag_needed(1280, first_ip, *first));
  std::vector<std::byte> d;
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1, &d);
  EXPECT_EQ(d.size(), 1280U - 40 - 12);
  EXPECT_TRUE(last_ip.dont_fragment);
}

class Ofo : public TcpScript {
 protected:
  static std::byte at(std::uint32_t off) { return static_cast<std::byte>('a' + off % 26); }
  void inject_byte(std::uint32_t off) {
    inject({.flags = kTcpAck,
            .seq = kPeerIsn + 1 + off,
            .ack = iss_ + 1,
            .data = std::vector<std::byte>{at(off)}});
  }
  std::uint32_t iss_ = 0;
};

// A flood of 1-byte segments after a hole, arriving backwards: Linux keeps them within the
// receive buffer's memory and coalesces neighbours (tcp_data_queue_ofo,
// tcp_collapse_ofo_queue), so once the hole is filled everything is acknowledged at once.
TEST_F(Ofo, BackwardFloodOfOneByteSegmentsIsAllAcknowledgedOnceTheHoleIsFilled) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  iss_ = p.iss;
  constexpr std::uint32_t kN = 20000;
  for (std::uint32_t off = kN; off >= 1; --off) {
    inject_byte(off);
    if (off % 16 == 0) drain();
  }
  drain();
  EXPECT_EQ(stack->mib().TcpExtTCPOFOQueue, kN);
  EXPECT_EQ(stack->mib().TcpExtTCPOFODrop, 0U);
  inject_byte(0);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1 + kN + 1);
  const std::string all = recv_all(p.sock);
  ASSERT_EQ(all.size(), kN + 1);
  for (std::uint32_t off = 0; off <= kN; ++off) {
    ASSERT_EQ(static_cast<std::byte>(all[off]), at(off)) << off;
  }
}

TEST_F(Ofo, ForwardFloodOfOneByteSegmentsIsAllAcknowledgedOnceTheHoleIsFilled) {
  Passive p = open_passive();
  ASSERT_NE(p.sock, nullptr);
  iss_ = p.iss;
  constexpr std::uint32_t kN = 20000;
  for (std::uint32_t off = 1; off <= kN; ++off) {
    inject_byte(off);
    if (off % 16 == 0) drain();
  }
  drain();
  EXPECT_EQ(stack->mib().TcpExtTCPOFODrop, 0U);
  inject_byte(0);
  expect(kTcpAck, p.iss + 1, kPeerIsn + 1 + kN + 1);
  EXPECT_EQ(recv(p.sock, MSG_DONTWAIT, 65536).size(), kN + 1);
}

// A FIN that arrives before the data in front of it waits with it: the SACK block covers
// it, data beyond it is cut, and once the hole is filled the FIN is taken.
TEST_F(Ofo, OutOfOrderFinIsTakenWhenTheHoleIsFilled) {
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  inject({.flags = kTcpAck | wire::kTcpFin,
          .seq = kPeerIsn + 101,
          .ack = p.iss + 1,
          .data = std::vector<std::byte>(100, std::byte{'b'})});
  auto dup = expect(kTcpAck, p.iss + 1, kPeerIsn + 1);
  ASSERT_EQ(dup.options.sack_count, 1);
  EXPECT_EQ(dup.options.sack[0].left, kPeerIsn + 101);
  EXPECT_EQ(dup.options.sack[0].right, kPeerIsn + 202);  // the FIN's sequence number too
  // Data past the FIN is the peer contradicting itself: it is not kept.
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 201,
          .ack = p.iss + 1,
          .data = std::vector<std::byte>(50, std::byte{'x'})});
  drain();
  EXPECT_EQ(tsk(p.sock).ooo.bytes(), 100U);
  inject({.flags = kTcpAck,
          .seq = kPeerIsn + 1,
          .ack = p.iss + 1,
          .data = std::vector<std::byte>(100, std::byte{'a'})});
  expect(kTcpAck, p.iss + 1, kPeerIsn + 202);
  EXPECT_EQ(state(p.sock), TcpState::kCloseWait);
  EXPECT_EQ(recv(p.sock), std::string(100, 'a') + std::string(100, 'b'));
  EXPECT_EQ(recv(p.sock), "");  // then end of stream
}

// Holes everywhere (every other byte): nothing can be coalesced, so memory decides. With a
// 32 KiB receive space the queue holds at most 32 ranges; past that a segment above them
// all is dropped (TcpExtTCPOFODrop), one below takes the place of the highest
// (tcp_prune_ofo_queue: TcpExtOfoPruned). The connection goes on, and every byte arrives
// once the peer resends what was not acknowledged.
class SparseFlood : public Ofo, public ::testing::WithParamInterface<bool> {};

TEST_P(SparseFlood, IsBoundedByTheReceiveBuffer) {
  const bool descending = GetParam();
  Passive p = open_passive(false, true);
  ASSERT_NE(p.sock, nullptr);
  iss_ = p.iss;
  // SO_RCVBUF 32768 is doubled to a 64 KiB buffer, of which the payload space is half
  // (Linux tcp_full_space).
  ASSERT_TRUE(set_int(p.sock, SOL_SOCKET, SO_RCVBUF, 32768));
  TcpSock& sk = tsk(p.sock);
  ASSERT_EQ(sk.rcv_space_max(), 32768U);
  constexpr std::uint32_t kN = 8000;
  for (std::uint32_t i = 1; i <= kN / 2; ++i) {
    inject_byte(descending ? kN + 2 - 2 * i : 2 * i);
    if (i % 16 == 0) drain();
  }
  drain();
  const MibCounters& m = stack->mib();
  EXPECT_EQ(sk.ooo.ranges(), 32U);
  EXPECT_LE(sk.ooo.memory(), sk.rcv_space_max());
  EXPECT_EQ(m.TcpExtPruneCalled, kN / 2 - 32);
  EXPECT_EQ(descending ? m.TcpExtOfoPruned : m.TcpExtTCPOFODrop, kN / 2 - 32);
  EXPECT_EQ(descending ? m.TcpExtTCPOFODrop : m.TcpExtOfoPruned, 0U);
  // The ranges kept are the lowest: offsets 2 to 64.
  auto first = sk.ooo.range_at(sk.rcv_nxt_off + 2);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->end - first->start, 1U);
  EXPECT_TRUE(sk.ooo.range_at(sk.rcv_nxt_off + 64));
  EXPECT_FALSE(sk.ooo.range_at(sk.rcv_nxt_off + 66));
  // The peer fills every hole and resends all it did not see acknowledged, in order.
  for (std::uint32_t off = 0; off <= kN; ++off) {
    inject_byte(off);
    if (off % 16 == 0) drain();
  }
  drain();
  EXPECT_EQ(sk.rcv_nxt.raw(), kPeerIsn + 1 + kN + 1);
  EXPECT_TRUE(sk.ooo.empty());
  EXPECT_EQ(sk.ooo.memory(), 0U);
  const std::string all = recv_all(p.sock);
  ASSERT_EQ(all.size(), kN + 1);
  for (std::uint32_t off = 0; off <= kN; ++off) {
    ASSERT_EQ(static_cast<std::byte>(all[off]), at(off)) << off;
  }
}

INSTANTIATE_TEST_SUITE_P(Ofo, SparseFlood, ::testing::Bool());

}  // namespace
}  // namespace usnet::script
