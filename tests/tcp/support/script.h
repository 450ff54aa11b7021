// Scripted TCP tests (STYLE habit 13): one stack whose only peer is the test. The test
// injects one segment at a time at a virtual time it chooses and states the exact segments
// it expects back. ARP is answered by the harness so that scripts speak only TCP.
#pragma once

#include <gtest/gtest.h>

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
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::script {

// A device whose other side is the test.
class ScriptDevice final : public Device {
 public:
  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return 1514; }
  std::size_t receive(Instant /*now*/, std::vector<Packet>& out, std::size_t max) override {
    std::size_t n = 0;
    while (!in.empty() && n < max) {
      out.push_back(std::move(in.front()));
      in.pop_front();
      ++n;
    }
    return n;
  }
  void transmit(Instant /*now*/, Packet frame) override { sent.push_back(std::move(frame)); }

  std::deque<Packet> in;
  std::deque<Packet> sent;

 private:
  std::string name_ = "script0";
};

// A segment to inject or one that was sent. Sequence numbers are absolute.
struct Seg {
  std::uint8_t flags = wire::kTcpAck;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint16_t window = 65535;
  std::vector<std::byte> data;
  wire::TcpOptions options;
  std::uint16_t sport = 0;  // 0: the script's default peer port
  std::uint16_t dport = 0;  // 0: the socket's port
};

inline const Ipv4Address kUs = Ipv4Address::from_octets(198, 18, 0, 1);
inline const Ipv4Address kPeer = Ipv4Address::from_octets(198, 18, 0, 2);
inline const MacAddress kUsMac{{0x02, 0, 0, 0, 0, 1}};
inline const MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 2}};
inline constexpr std::uint16_t kPeerPort = 40000;
inline constexpr std::uint16_t kPort = 80;

class TcpScript : public ::testing::Test {
 protected:
  TcpScript() {
    StackConfig cfg;
    cfg.name = "script";
    cfg.seed = 99;
    stack = std::make_unique<Stack>(cfg);
    const auto idx = stack->add_interface("script0", dev, kUsMac);
    EXPECT_TRUE(idx);
    EXPECT_TRUE(stack->add_address(*idx, *Ipv4Cidr::parse("198.18.0.1/24")));
    stack->poll(now);
    dev.sent.clear();  // the gratuitous ARP
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

  void inject(const Seg& s) {
    wire::TcpHeader h;
    h.src_port = s.sport != 0 ? s.sport : kPeerPort;
    h.dst_port = s.dport != 0 ? s.dport : kPort;
    h.seq = s.seq;
    h.ack = s.ack;
    h.flags = s.flags;
    h.window = s.window;
    h.options = s.options;
    dev.in.push_back(frames::tcp_frame(h, s.data, kPeer, kUs, kPeerMac, kUsMac));
    stack->poll(now);
    answer_arp();
  }

  // Puts an Ethernet header from the peer in front and hands the frame to the stack.
  void deliver(Packet p, std::uint16_t ethertype) {
    frames::push_ethernet(p, kPeerMac, kUsMac, ethertype);
    dev.in.push_back(std::move(p));
    stack->poll(now);
  }

  // The next TCP segment the stack sent, or nullopt.
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
      if (!ip || ip->protocol != 6) continue;
      f.truncate(ip->total_length);
      f.pull(ip->header_length);
      auto tcp = wire::TcpHeader::parse(f.data(), ip->src, ip->dst);
      EXPECT_TRUE(tcp) << "the stack sent a malformed segment";
      if (!tcp) return std::nullopt;
      if (data != nullptr) {
        auto payload = ByteSpan(f.data()).subspan(tcp->header_length);
        data->assign(payload.begin(), payload.end());
      }
      return *tcp;
    }
    return std::nullopt;
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

  static TcpState state(const Socket* s) { return static_cast<const TcpSock*>(s)->state; }

  ScriptDevice dev;  // before the stack: it must outlive it
  std::unique_ptr<Stack> stack;
  Instant now = kEpoch + std::chrono::seconds(100);

  // Answers the stack's ARP requests for the peer (and drops every ARP frame it sent).
  void answer_arp() {
    // Take the ARP frames out first: answering polls the stack, which may send more.
    bool asked = false;
    for (auto it = dev.sent.begin(); it != dev.sent.end();) {
      auto eth = wire::EthernetHeader::parse(it->data());
      if (!eth || eth->ethertype != 0x0806) {
        ++it;
        continue;
      }
      auto req = wire::ArpPacket::parse(ByteSpan(it->data()).subspan(eth->size()));
      if (req && req->op == wire::ArpOp::kRequest && req->target_ip == kPeer) asked = true;
      it = dev.sent.erase(it);
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

inline std::vector<std::byte> bytes(std::string_view s) {
  auto b = as_bytes(s);
  return {b.begin(), b.end()};
}

}  // namespace usnet::script
