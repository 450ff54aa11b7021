// Scripted TCP tests (STYLE habit 13): one stack whose only peer is the test. The test
// injects one segment at a time at a virtual time it chooses and states the exact segments
// it expects back. ARP is answered by the harness so that scripts speak only TCP; ICMP the
// stack sends is kept apart (next_icmp) so that it never hides a TCP segment.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "../../support/frames.h"
#include "base/packet.h"
#include "dev/device.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"
#include "transport/tcp/tcp.h"
#include "transport/tcp/tcp_internal.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/icmpv4.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::script {

// A device whose other side is the test.
class ScriptDevice final : public Device {
 public:
  explicit ScriptDevice(std::size_t max_frame = 1514, std::size_t max_rx_frame = 0)
      : max_frame_(max_frame), max_rx_frame_(max_rx_frame != 0 ? max_rx_frame : max_frame) {}
  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return max_frame_; }
  std::size_t max_receive_frame_size() const override { return max_rx_frame_; }
  std::size_t receive(Instant /*now*/, std::vector<Packet>& out, std::size_t max) override {
    std::size_t n = 0;
    while (!in.empty() && n < max) {
      out.push_back(std::move(in.front()));
      in.pop_front();
      ++n;
    }
    return n;
  }
  void transmit(Instant /*now*/, Packet frame) override {
    auto eth = wire::EthernetHeader::parse(frame.data());
    (eth && eth->ethertype == 0x0806 ? arp : sent).push_back(std::move(frame));
  }

  std::deque<Packet> in;
  std::deque<Packet> sent;  // everything but ARP
  std::deque<Packet> arp;

 private:
  std::string name_ = "script0";
  std::size_t max_frame_;
  std::size_t max_rx_frame_;
};

// A segment to inject or one that was sent. Sequence numbers are absolute.
struct Seg {
  std::uint8_t flags = wire::kTcpAck;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint16_t window = 65535;
  std::vector<std::byte> data;
  wire::TcpOptions options;
  std::uint16_t sport = 0;         // 0: the script's default peer port
  std::uint16_t dport = 0;         // 0: the socket's port
  std::optional<Ipv4Address> src;  // unset: the script's peer address
  std::uint8_t tos = 0;            // the IP TOS byte (ECN in its low two bits)
};

// An ICMP message the stack sent: its IP header, ICMP header and the quoted bytes.
struct IcmpSent {
  wire::Ipv4Header ip;
  wire::IcmpHeader icmp;
  std::vector<std::byte> quote;
};

inline constexpr Ipv4Address kUs = Ipv4Address::from_octets(198, 18, 0, 1);
inline constexpr Ipv4Address kPeer = Ipv4Address::from_octets(198, 18, 0, 2);
inline constexpr MacAddress kUsMac{{0x02, 0, 0, 0, 0, 1}};
inline constexpr MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 2}};
inline constexpr std::uint16_t kPeerPort = 40000;
inline constexpr std::uint16_t kPort = 80;
inline constexpr std::uint32_t kPeerIsn = 1000;

inline std::vector<std::byte> bytes(std::string_view s) {
  auto b = as_bytes(s);
  return {b.begin(), b.end()};
}

// The options of a Linux-like SYN: MSS 1460, window scale 7, SACK-permitted, timestamps.
inline wire::TcpOptions syn_options(bool ts = true, std::uint32_t tsval = 500) {
  wire::TcpOptions o;
  o.mss = 1460;
  o.window_scale = 7;
  o.sack_permitted = true;
  if (ts) {
    o.ts_val = tsval;
    o.ts_ecr = 0;
  }
  return o;
}

// A passive open: the listener, the accepted socket and our ISN.
struct Passive {
  Socket* listener = nullptr;
  Socket* sock = nullptr;
  std::uint32_t iss = 0;
};

struct ScriptConfig {
  std::optional<std::uint64_t> seed = 99;  // nullopt: secrets from getrandom
  std::size_t mtu = 1500;
  // The largest frame the device may hand up (a coalescing device's); 0: MTU + 14.
  std::size_t max_receive_frame = 0;
};

class TcpScript : public ::testing::Test {
 protected:
  TcpScript() : TcpScript(ScriptConfig{}) {}
  explicit TcpScript(const ScriptConfig& sc)
      : dev(sc.mtu + wire::EthernetHeader::kSize, sc.max_receive_frame) {
    StackConfig cfg;
    cfg.name = "script";
    cfg.seed = sc.seed;
    stack = std::make_unique<Stack>(cfg);
    const auto idx = stack->add_interface("script0", dev, kUsMac, sc.mtu);
    EXPECT_TRUE(idx);
    EXPECT_TRUE(stack->add_address(*idx, *Ipv4Cidr::parse("198.18.0.1/24")));
    stack->poll(now);
    dev.arp.clear();  // the gratuitous ARP
  }

  // Moves virtual time forward by d (through every timer on the way) and polls.
  void advance(Duration d) {
    const Instant end = now + d;
    for (;;) {
      const Instant next = stack->next_deadline();
      if (next > end || next == kNever) break;
      now = std::max(now, next);
      stack->poll(now);
      answer_arp();
    }
    now = end;
    stack->poll(now);
    answer_arp();
  }

  // Moves virtual time through the stack's deadlines until it sends a TCP segment, and
  // returns it; nullopt if `limit` passes first (time then stands at now + limit).
  std::optional<wire::TcpHeader> run_until_sent(Duration limit,
                                                std::vector<std::byte>* data = nullptr) {
    const Instant end = now + limit;
    for (;;) {
      if (auto h = next_sent(data)) return h;
      const Instant next = stack->next_deadline();
      if (next == kNever || next > end) {
        now = end;
        return next_sent(data);
      }
      now = std::max(now, next);
    }
  }

  void inject(const Seg& s) {
    wire::TcpHeader h;
    h.src_port = s.sport != 0 ? s.sport : kPeerPort;
    h.dst_port = s.dport != 0 ? s.dport : kPort;
    h.seq = s.seq;
    h.ack = s.ack;
    h.flags = s.flags;
    h.window = s.window;
    h.options = s.options;
    const Ipv4Address src = s.src.value_or(kPeer);
    dev.in.push_back(frames::tcp_frame(h, s.data, src, kUs, kPeerMac, kUsMac, s.tos));
    stack->poll(now);
    answer_arp();
  }

  // Puts an Ethernet header from the peer in front and hands the frame to the stack.
  void deliver(Packet p, std::uint16_t ethertype) {
    frames::push_ethernet(p, kPeerMac, kUsMac, ethertype);
    dev.in.push_back(std::move(p));
    stack->poll(now);
  }

  // The next TCP segment the stack sent, or nullopt. Its IP header is left in last_ip.
  std::optional<wire::TcpHeader> next_sent(std::vector<std::byte>* data = nullptr) {
    stack->poll(now);
    answer_arp();
    while (!dev.sent.empty()) {
      Packet f = std::move(dev.sent.front());
      dev.sent.pop_front();
      auto eth = wire::EthernetHeader::parse(f.data());
      if (!eth || eth->ethertype != 0x0800) continue;
      f.pull(eth->size());
      auto ip = wire::Ipv4Header::parse(f.data());
      EXPECT_TRUE(ip) << "the stack sent a malformed IP header";
      if (!ip) continue;
      f.truncate(ip->total_length);
      f.pull(ip->header_length);
      if (ip->protocol == static_cast<std::uint8_t>(wire::IpProtocol::kIcmp)) {
        auto icmp = wire::IcmpHeader::parse(f.data());
        EXPECT_TRUE(icmp) << "the stack sent a malformed ICMP message";
        if (!icmp) continue;
        const auto q = ByteSpan(f.data()).subspan(wire::IcmpHeader::kSize);
        icmp_sent.push_back(IcmpSent{*ip, *icmp, {q.begin(), q.end()}});
        continue;
      }
      if (ip->protocol != 6) continue;
      auto tcp = wire::TcpHeader::parse(f.data(), ip->src, ip->dst);
      EXPECT_TRUE(tcp) << "the stack sent a malformed segment";
      if (!tcp) return std::nullopt;
      last_ip = *ip;
      if (data != nullptr) {
        auto payload = ByteSpan(f.data()).subspan(tcp->header_length);
        data->assign(payload.begin(), payload.end());
      }
      return *tcp;
    }
    return std::nullopt;
  }

  // The next ICMP message the stack sent, or nullopt.
  std::optional<IcmpSent> next_icmp() {
    while (next_sent()) {
    }
    if (icmp_sent.empty()) return std::nullopt;
    IcmpSent m = std::move(icmp_sent.front());
    icmp_sent.pop_front();
    return m;
  }

  // Expects a segment with exactly these flags, seq and ack (ack checked when ACK is set).
  wire::TcpHeader expect(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                         std::vector<std::byte>* data = nullptr) {
    auto h = next_sent(data);
    EXPECT_TRUE(h.has_value()) << "expected a segment, none was sent";
    if (!h) return {};
    EXPECT_EQ(h->flags, flags) << "flags";
    EXPECT_EQ(h->seq, seq) << "seq";
    if ((flags & wire::kTcpAck) != 0) {
      EXPECT_EQ(h->ack, ack) << "ack";
    }
    return *h;
  }

  void expect_nothing() {
    auto h = next_sent();
    EXPECT_FALSE(h.has_value()) << "unexpected segment flags " << int(h ? h->flags : 0) << " seq "
                                << (h ? h->seq : 0);
  }

  // Drops whatever the stack has sent so far.
  void drain() {
    while (next_sent()) {
    }
    icmp_sent.clear();
  }

  // RFC 6528: the ISN the stack must choose now for this 4-tuple (its clock plus its keyed
  // hash), computed apart from any segment the stack sent.
  std::uint32_t isn_for(std::uint16_t lport = kPort, std::uint16_t rport = kPeerPort,
                        Ipv4Address raddr = kPeer) {
    return stack->tcp().isn(FourTuple{kUs, lport, raddr, rport}).raw();
  }

  Socket* tcp_socket() {
    auto r = sock_create(*stack, AF_INET, SOCK_STREAM, 0);
    EXPECT_TRUE(r);
    return r ? *r : nullptr;
  }

  Socket* listener(int backlog = 16) {
    Socket* l = tcp_socket();
    EXPECT_TRUE(sock_bind(*l, SockAddr::inet({}, kPort)));
    EXPECT_TRUE(sock_listen(*l, backlog));
    return l;
  }

  // LISTEN -> SYN_RECEIVED -> ESTABLISHED, without timestamps unless asked (simpler seqs).
  // The peer's window field on the final ACK is `window` (scaled by 7 when wscale is on).
  Passive open_passive(bool ts = false, bool sack = false, std::uint16_t window = 512,
                       wire::TcpOptions o = syn_options(false)) {
    Passive p;
    p.listener = listener();
    if (ts) {
      o.ts_val = 500;
      o.ts_ecr = 0;
    }
    o.sack_permitted = sack;
    inject({.flags = wire::kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = o});
    p.iss = isn_for();
    auto synack = expect(wire::kTcpSyn | wire::kTcpAck, p.iss, kPeerIsn + 1);
    wire::TcpOptions ack_opts;
    if (ts) {
      ack_opts.ts_val = 501;
      ack_opts.ts_ecr = synack.options.ts_val.value_or(0);
    }
    inject({.flags = wire::kTcpAck,
            .seq = kPeerIsn + 1,
            .ack = p.iss + 1,
            .window = window,
            .options = ack_opts});
    auto a = sock_accept(*p.listener, 0);
    EXPECT_TRUE(a);
    if (a) p.sock = *a;
    return p;
  }

  // getsockopt(TCP_INFO) as a program reads it (struct tcp_info of <netinet/tcp.h>).
  tcp_info info(Socket* s) {
    auto v = sock_getsockopt(*s, IPPROTO_TCP, TCP_INFO);
    EXPECT_TRUE(v);
    tcp_info ti{};
    if (v) std::memcpy(&ti, v->bytes.data(), std::min(sizeof(ti), v->len));
    return ti;
  }
  std::size_t send(Socket* s, std::string_view text) {
    const ByteSpan iov[] = {as_bytes(text)};
    auto r = sock_sendmsg(*s, SendMsg{iov, nullptr}, MSG_DONTWAIT);
    EXPECT_TRUE(r);
    return r ? *r : 0;
  }
  std::string recv(Socket* s, int flags = MSG_DONTWAIT, std::size_t max = 4096) {
    std::string out(max, '\0');
    const MutableByteSpan iov[] = {
        MutableByteSpan(reinterpret_cast<std::byte*>(out.data()), out.size())};
    auto r = sock_recvmsg(*s, RecvMsg{iov}, flags);
    if (!r) return "<" + std::string(error_name(r.error())) + ">";
    out.resize(r->copied);
    return out;
  }
  // Everything readable now, until the call would block.
  std::string recv_all(Socket* s) {
    std::string all;
    for (std::string r = recv(s, MSG_DONTWAIT, 65536); r.empty() || r[0] != '<';
         r = recv(s, MSG_DONTWAIT, 65536)) {
      if (r.empty()) break;  // end of stream
      all += r;
    }
    return all;
  }
  // Simultaneous open up to SYN_RECEIVED: our SYN from kPort, the peer's crossing it, our
  // SYN,ACK (RFC 9293 figure 8, lines 2-5). Returns the socket; our ISN is isn_for().
  Socket* crossing_syns() {
    Socket* s = tcp_socket();
    EXPECT_TRUE(sock_bind(*s, SockAddr::inet({}, kPort)));
    (void)sock_connect(*s, SockAddr::inet(kPeer, kPeerPort), 0);
    const std::uint32_t iss = isn_for();
    expect(wire::kTcpSyn, iss, 0);
    inject({.flags = wire::kTcpSyn, .seq = kPeerIsn, .ack = 0, .options = syn_options(false)});
    EXPECT_EQ(state(s), TcpState::kSynReceived);
    expect(wire::kTcpSyn | wire::kTcpAck, iss, kPeerIsn + 1);
    return s;
  }
  Status set_int(Socket* s, int level, int name, int v) {
    return sock_setsockopt(*s, level, name,
                           ByteSpan(reinterpret_cast<const std::byte*>(&v), sizeof(v)));
  }

  static TcpState state(const Socket* s) { return static_cast<const TcpSock*>(s)->state; }
  static TcpSock& tsk(Socket* s) { return *static_cast<TcpSock*>(s); }

  ScriptDevice dev;  // before the stack: it must outlive it
  std::unique_ptr<Stack> stack;
  Instant now = kEpoch + std::chrono::seconds(100);
  wire::Ipv4Header last_ip;  // of the segment next_sent() returned last
  std::deque<IcmpSent> icmp_sent;

  // Answers the stack's ARP requests for the peer (and drops every ARP frame it sent).
  void answer_arp() {
    // Take the ARP frames out first: answering polls the stack, which may send more.
    bool asked = false;
    while (!dev.arp.empty()) {
      const Packet f = std::move(dev.arp.front());
      dev.arp.pop_front();
      auto req = wire::ArpPacket::parse(ByteSpan(f.data()).subspan(wire::EthernetHeader::kSize));
      if (req && req->op == wire::ArpOp::kRequest && req->target_ip == kPeer) asked = true;
    }
    if (!asked) return;
    wire::ArpPacket rep;
    rep.op = wire::ArpOp::kReply;
    rep.sender_mac = kPeerMac;
    rep.sender_ip = kPeer;
    rep.target_mac = kUsMac;
    rep.target_ip = kUs;
    Packet p(wire::ArpPacket::kSize);
    rep.emit(p.append(wire::ArpPacket::kSize));
    deliver(std::move(p), 0x0806);
    answer_arp();  // the stack does not ask again once answered; this ends at once
  }
};

}  // namespace usnet::script
