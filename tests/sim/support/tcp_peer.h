// A TCP peer written in the test, not built on usnet, so that a bug both ends would share
// cannot cancel out: it plays the other end of one connection on a memory wire, segment by
// segment, in virtual time, and can behave as real peers do when they are difficult. It
// answers ARP, listens on one port, and once usnet has connected it
//   - receives: checks every byte against the transfer pattern on arrival, ACKs each
//     segment (SACK blocks for what it holds out of order, most recent first), and offers
//     the room left in its receive buffer, which its "application" empties when allowed;
//   - sends: `send_total` pattern bytes, within usnet's window and its own fixed flight,
//     with a go-back-N retransmission timer and (optionally) fast retransmit;
// and then closes. Hooks change what it does: the options it announces (MSS, window scale,
// SACK, timestamps), when its application reads, what window it offers (shrinking it),
// reneging (dropping out-of-order data it has SACKed), and deep reordering of what it sends.
//
// Sequence numbers are kept as 64-bit offsets from the initial sequence numbers, so the
// peer itself cannot get wrapping wrong; they are converted at the wire.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "../../support/frames.h"
#include "base/packet.h"
#include "dev/device.h"
#include "tcp_helpers.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace usnet::sim {

struct PeerOptions {
  MacAddress peer_mac = mac(2);
  Ipv4Address addr = kAddrB;
  std::uint16_t port = 5001;
  // What the SYN,ACK announces (each only if usnet's SYN offered it, as RFC 7323 and
  // RFC 2018 require). nullopt MSS: no MSS option (RFC 9293 3.7.1: the peer assumes 536).
  std::optional<std::uint16_t> mss = 1460;
  std::optional<std::uint8_t> wscale = 7;
  bool sack = true;
  bool timestamps = true;
  std::uint32_t isn = 0x3a5c0000;
  std::uint32_t rcvbuf = 4 << 20;       // bytes held before the application reads them
  std::uint64_t send_total = 0;         // bytes the peer sends after the handshake
  std::uint32_t send_flight = 1 << 20;  // the most it keeps unacknowledged
  bool fast_retransmit = true;          // on three duplicate ACKs
  // Sends a whole flight only once the last one is all acknowledged (with reverse_bursts:
  // each flight arrives last segment first, a window's worth out of order).
  bool whole_flights = false;
  // The wire's fixed one-way delay, if the test wants the peer to judge what usnet sends
  // against the right edge usnet had been told of (beyond_edge): data arriving at t was
  // sent after the ACKs that left the peer by t - 2 x one_way reached usnet.
  Duration one_way{0};
  Duration rto = std::chrono::milliseconds(300);
  std::uint64_t seed = 1;  // pattern_byte seed, both directions
};

class TcpPeer {
 public:
  enum class State { kListen, kSynReceived, kEstablished, kClosing, kClosed, kReset };

  TcpPeer(Device& dev, PeerOptions o) : dev_(dev), o_(o) {}

  // --- hooks ---
  // The application reads everything held when this says so (default: always).
  std::function<bool(Instant)> may_read = [](Instant) { return true; };
  // The window advertised, given the honest one (bytes, before scaling).
  std::function<std::uint32_t(std::uint32_t honest, Instant)> window_hook;
  // Called after each segment with data has been taken (e.g. to renege()).
  std::function<void(TcpPeer&)> after_data;
  // Deep reordering of what the peer sends: each burst is sent in reverse order.
  bool reverse_bursts = false;
  // A time the peer must be polled at even without a frame or timer: when a hook (may_read,
  // window_hook) changes its answer.
  Instant wake_at = kNever;

  // Forgets every out-of-order range it holds (and has SACKed): RFC 2018 section 8.
  void renege() {
    if (ooo_.empty()) return;
    reneged_bytes += ooo_bytes();
    ooo_.clear();
    ++reneges;
  }

  // --- what it saw ---
  State state = State::kListen;
  std::uint64_t received = 0;  // in-order bytes taken (each checked)
  std::uint64_t read = 0;      // bytes the application has read
  std::uint64_t mismatched = 0;
  bool fin_received = false;
  std::uint64_t sent_acked = 0;  // of send_total
  std::uint64_t data_segments = 0;
  std::uint64_t max_payload = 0;
  std::uint64_t min_payload = UINT64_MAX;
  std::size_t max_data_options = 0;  // option bytes on a data segment
  bool saw_timestamps = false;       // on any segment after the SYN
  bool saw_sack_blocks = false;
  std::uint64_t zero_window_acks = 0;  // ACKs sent while offering window 0
  std::uint64_t answered_probes = 0;   // segments taking no data while the window was 0
  std::uint64_t beyond_window = 0;     // bytes usnet sent past the right edge offered
  std::uint64_t beyond_edge = 0;       // new bytes past the edge usnet knew of (with one_way)
  std::uint64_t reneges = 0;
  std::uint64_t reneged_bytes = 0;
  std::uint64_t retransmitted = 0;  // by the peer
  wire::TcpOptions syn_options;     // what usnet's SYN offered
  std::uint32_t usnet_isn = 0;

  Instant next_deadline() const {
    Instant t = earliest(dev_.next_deadline(), rto_at_);
    return wake_at > now_ ? earliest(t, wake_at) : t;
  }

  void poll(Instant now) {
    now_ = now;
    std::vector<Packet> in;
    dev_.receive(now, in, 1 << 16);
    for (Packet& f : in)
      on_frame(f);
    if (state == State::kEstablished || state == State::kClosing) {
      if (may_read(now) && read < received) {
        const std::uint32_t before = free_space();
        read = received;
        // A window update once the application has made room (RFC 9293 3.8.6.2.2).
        if (before < mss_eff() || free_space() >= before + o_.rcvbuf / 2) send_ack();
      }
      if (rto_at_ != kNever && now >= rto_at_) on_rto();
      push_data();
      maybe_close();
    }
    dev_.flush(now);
  }

 private:
  std::uint32_t ooo_bytes() const {
    std::uint64_t n = 0;
    for (const auto& [l, r] : ooo_)
      n += r - l;
    return static_cast<std::uint32_t>(n);
  }
  // Room in the receive buffer: not read yet, or held out of order.
  std::uint32_t free_space() const {
    const std::uint64_t used = (received - read) + ooo_bytes();
    return used >= o_.rcvbuf ? 0 : static_cast<std::uint32_t>(o_.rcvbuf - used);
  }
  std::uint32_t mss_eff() const { return usnet_mss_ - (ts_ ? 12U : 0U); }
  std::uint32_t seq_of(std::uint64_t off) const {  // our sequence space
    return o_.isn + 1 + static_cast<std::uint32_t>(off);
  }
  // An offset in usnet's sequence space near `rcv_nxt_`, from a 32-bit number.
  std::uint64_t rcv_off(std::uint32_t seq) const {
    const std::uint32_t base = usnet_isn + 1 + static_cast<std::uint32_t>(rcv_nxt_);
    const auto d = static_cast<std::int32_t>(seq - base);
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(rcv_nxt_) + d);
  }
  std::uint64_t snd_off(std::uint32_t ack) const {
    const auto d = static_cast<std::int32_t>(ack - seq_of(snd_una_));
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(snd_una_) + d);
  }

  void on_frame(Packet& f) {
    auto eth = wire::EthernetHeader::parse(f.data());
    if (!eth) return;
    if (eth->ethertype == 0x0806) {
      on_arp(f, *eth);
      return;
    }
    if (eth->ethertype != 0x0800) return;
    f.pull(eth->size());
    auto ip = wire::Ipv4Header::parse(f.data());
    if (!ip || ip->dst != o_.addr || ip->protocol != 6) return;
    f.truncate(ip->total_length);
    f.pull(ip->header_length);
    // The bytes were checked by the checksum on usnet's side of the wire already; the
    // data itself is checked against the pattern below.
    auto h = wire::TcpHeader::parse(f.data(), ip->src, ip->dst, false);
    if (!h || h->dst_port != o_.port) return;
    usnet_addr_ = ip->src;
    usnet_mac_ = eth->src;
    on_segment(*h, ByteSpan(f.data()).subspan(h->header_length));
  }

  void on_arp(Packet& f, const wire::EthernetHeader& eth) {
    f.pull(eth.size());
    auto a = wire::ArpPacket::parse(f.data());
    if (!a || a->op != wire::ArpOp::kRequest || a->target_ip != o_.addr) return;
    wire::ArpPacket r;
    r.op = wire::ArpOp::kReply;
    r.sender_mac = o_.peer_mac;
    r.sender_ip = o_.addr;
    r.target_mac = a->sender_mac;
    r.target_ip = a->sender_ip;
    Packet p(wire::ArpPacket::kSize);
    r.emit(p.append(wire::ArpPacket::kSize));
    frames::push_ethernet(p, o_.peer_mac, a->sender_mac, 0x0806);
    dev_.transmit(now_, std::move(p));
  }

  void on_segment(const wire::TcpHeader& h, ByteSpan data) {
    if (h.has(wire::kTcpRst)) {
      state = State::kReset;
      rto_at_ = kNever;
      return;
    }
    if (state == State::kListen || (state == State::kSynReceived && h.has(wire::kTcpSyn))) {
      if (!h.has(wire::kTcpSyn)) return;
      syn_options = h.options;
      usnet_isn = h.seq;
      usnet_port_ = h.src_port;
      usnet_mss_ = h.options.mss.value_or(536);
      ts_ = o_.timestamps && h.options.ts_val.has_value();
      sack_ = o_.sack && h.options.sack_permitted;
      wscale_ok_ = o_.wscale.has_value() && h.options.window_scale.has_value();
      snd_shift_ = wscale_ok_ ? *h.options.window_scale : 0;
      rcv_shift_ = wscale_ok_ ? *o_.wscale : 0;
      if (ts_) ts_recent_ = *h.options.ts_val;
      state = State::kSynReceived;
      send_synack();
      return;
    }
    if (ts_ && h.options.ts_val) ts_recent_ = *h.options.ts_val;
    if (h.options.ts_val) saw_timestamps = true;
    if (h.options.sack_count != 0) saw_sack_blocks = true;
    if (h.has(wire::kTcpAck)) on_ack(h, data.empty());
    if (state == State::kSynReceived) return;  // the handshake's ACK did not arrive yet
    const std::uint64_t off = rcv_off(h.seq);
    if (!data.empty()) {
      data_segments++;
      max_payload = std::max<std::uint64_t>(max_payload, data.size());
      min_payload = std::min<std::uint64_t>(min_payload, data.size());
      max_data_options = std::max<std::size_t>(max_data_options, h.header_length - 20U);
      take(off, data);
      if (h.has(wire::kTcpFin) && off + data.size() == rcv_nxt_ && ooo_.empty()) {
        rcv_nxt_++;
        fin_received = true;
        if (fin_acked_) state = State::kClosed;
      }
      if (after_data) after_data(*this);
      send_ack();
      return;
    }
    if (h.has(wire::kTcpFin)) {
      if (off == rcv_nxt_ && ooo_.empty()) {
        if (!fin_received) rcv_nxt_++;
        fin_received = true;
        if (fin_acked_) state = State::kClosed;
      }
      send_ack();
      return;
    }
    // No data and no FIN: a window probe or keepalive (sequence number behind rcv_nxt) is
    // answered with an ACK (RFC 9293 3.10.7.4).
    if (off < rcv_nxt_) {
      if (adv_window_ == 0) answered_probes++;
      send_ack();
    }
  }

  // Takes the bytes of a segment at offset `off` that fit the buffer.
  void take(std::uint64_t off, ByteSpan data) {
    std::uint64_t end = off + data.size();
    // Data past the right edge last offered: counted (a sender must not send it), and
    // only what the buffer can hold is kept.
    // (A zero-window probe may carry one byte past a zero window: RFC 9293 3.8.6.1.)
    if (adv_window_ > 0 && end > rcv_nxt_ + adv_window_)
      beyond_window += end - std::max(off, rcv_nxt_ + adv_window_);
    if (o_.one_way.count() > 0) judge_edge(off, end);
    if (adv_window_ == 0) answered_probes++;
    const std::uint64_t room_end = rcv_nxt_ + free_space() + ooo_bytes();
    end = std::min(end, room_end);
    if (end <= rcv_nxt_ || off >= end) return;
    // Check every byte where it lands in the stream.
    const std::uint64_t from = std::max(off, rcv_nxt_);
    expected_.resize(static_cast<std::size_t>(end - from));
    fill_pattern(from, expected_, o_.seed);
    const ByteSpan got = data.subspan(static_cast<std::size_t>(from - off), expected_.size());
    if (!std::equal(got.begin(), got.end(), expected_.begin())) {
      for (std::size_t i = 0; i < got.size(); ++i)
        mismatched += got[i] != expected_[i] ? 1 : 0;
    }
    if (off <= rcv_nxt_) {
      rcv_nxt_ = end;
      // Out-of-order ranges the hole filled.
      for (auto it = ooo_.begin(); it != ooo_.end() && it->first <= rcv_nxt_;) {
        rcv_nxt_ = std::max(rcv_nxt_, it->second);
        it = ooo_.erase(it);
      }
      received = rcv_nxt_;
    } else {
      add_ooo(off, end);
    }
  }

  // New data (past anything seen before) beyond the right edge of the latest ACK usnet can
  // have seen when it sent it (RFC 9293 3.8.6: a sender does not send past the window,
  // also when the receiver has shrunk it). ACKs the peer sent in the same instant arrive
  // together, and usnet may send after the first of them: the widest edge among those
  // counts.
  void judge_edge(std::uint64_t off, std::uint64_t end) {
    const Instant seen_by = now_ - 2 * o_.one_way;
    auto later_instant = [&] {
      for (std::size_t i = 1; i < edges_.size(); ++i) {
        if (edges_[i].first != edges_[0].first) return edges_[i].first <= seen_by;
      }
      return false;
    };
    while (later_instant())
      edges_.pop_front();
    if (!edges_.empty() && edges_.front().first <= seen_by && end > highest_seen_) {
      std::uint64_t edge = 0;
      for (const auto& [t, e] : edges_) {
        if (t != edges_.front().first) break;
        edge = std::max(edge, e);
      }
      const std::uint64_t from = std::max({off, highest_seen_, edge});
      if (end > from) beyond_edge += end - from;
    }
    highest_seen_ = std::max(highest_seen_, end);
  }

  void add_ooo(std::uint64_t l, std::uint64_t r) {
    last_ooo_ = {l, r};
    auto it = ooo_.lower_bound(l);
    if (it != ooo_.begin() && std::prev(it)->second >= l) --it;
    while (it != ooo_.end() && it->first <= r) {
      l = std::min(l, it->first);
      r = std::max(r, it->second);
      it = ooo_.erase(it);
    }
    ooo_[l] = r;
    last_ooo_ = {l, r};
  }

  void on_ack(const wire::TcpHeader& h, bool no_data) {
    if (state == State::kSynReceived) {
      if (h.ack != o_.isn + 1) return;
      state = State::kEstablished;
    }
    const std::uint32_t wnd = static_cast<std::uint32_t>(h.window) << snd_shift_;
    const bool same_window = wnd == usnet_wnd_;
    usnet_wnd_ = wnd;
    const std::uint64_t a = snd_off(h.ack);
    const std::uint64_t top =
        std::min<std::uint64_t>(snd_max_, o_.send_total) + (fin_sent_ ? 1 : 0);
    if (a > snd_una_ && a <= top) {
      snd_una_ = a;
      sent_acked = std::min<std::uint64_t>(snd_una_, o_.send_total);
      dupacks_ = 0;
      rto_at_ = snd_una_ < snd_max_ + (fin_sent_ ? 1 : 0) ? now_ + o_.rto : kNever;
      if (fin_sent_ && snd_una_ == o_.send_total + 1) fin_acked_ = true;
      if (fin_acked_ && fin_received) state = State::kClosed;
    } else if (a == snd_una_ && snd_una_ < snd_max_ && no_data && same_window) {
      // A duplicate ACK (RFC 5681 2): no data, no window change, data outstanding.
      if (++dupacks_ == 3 && o_.fast_retransmit) {
        send_data(snd_una_, std::min<std::uint64_t>(mss_eff(), snd_max_ - snd_una_));
        retransmitted++;
      }
    }
  }

  void on_rto() {
    rto_at_ = kNever;
    if (fin_sent_ && !fin_acked_ && snd_una_ >= o_.send_total) {
      send_segment(seq_of(o_.send_total), wire::kTcpAck | wire::kTcpFin, {});
      rto_at_ = now_ + o_.rto;
      retransmitted++;
      return;
    }
    if (snd_una_ >= snd_max_) return;
    snd_nxt_ = snd_una_;  // go back N
    retransmitted++;
  }

  void push_data() {
    if (state != State::kEstablished) return;
    if (o_.whole_flights && snd_una_ < snd_nxt_) return;
    std::vector<Packet> burst;
    while (snd_nxt_ < o_.send_total) {
      const std::uint64_t wnd_end = snd_una_ + std::min<std::uint32_t>(usnet_wnd_, o_.send_flight);
      if (snd_nxt_ >= wnd_end) break;
      const auto len = static_cast<std::uint32_t>(
          std::min<std::uint64_t>({mss_eff(), o_.send_total - snd_nxt_, wnd_end - snd_nxt_}));
      if (len == 0) break;
      Packet p = make_data(snd_nxt_, len);
      if (snd_nxt_ < snd_max_) retransmitted++;
      snd_nxt_ += len;
      snd_max_ = std::max(snd_max_, snd_nxt_);
      if (reverse_bursts) {
        burst.push_back(std::move(p));
      } else {
        dev_.transmit(now_, std::move(p));
      }
    }
    for (auto it = burst.rbegin(); it != burst.rend(); ++it)
      dev_.transmit(now_, std::move(*it));
    if (snd_nxt_ > snd_una_ && rto_at_ == kNever) rto_at_ = now_ + o_.rto;
  }

  void maybe_close() {
    // The peer's application closes once everything it sent is acknowledged: a sender at
    // once, a receiver (send_total 0) once it has read up to usnet's FIN.
    if (state != State::kEstablished || fin_sent_ || snd_una_ < o_.send_total) return;
    if (o_.send_total == 0 && (!fin_received || read < received)) return;
    fin_sent_ = true;
    send_segment(seq_of(o_.send_total), wire::kTcpAck | wire::kTcpFin, {});
    rto_at_ = now_ + o_.rto;
    state = State::kClosing;
  }

  Packet make_data(std::uint64_t off, std::uint32_t len) {
    expected_.resize(len);
    fill_pattern(off, expected_, o_.seed);
    return frame(seq_of(off), wire::kTcpAck | wire::kTcpPsh, expected_);
  }
  void send_data(std::uint64_t off, std::uint64_t len) {
    if (len == 0) return;
    dev_.transmit(now_, make_data(off, static_cast<std::uint32_t>(len)));
  }

  void send_synack() {
    wire::TcpHeader h = header(o_.isn, wire::kTcpSyn | wire::kTcpAck);
    h.options = {};
    h.options.mss = o_.mss;
    if (wscale_ok_) h.options.window_scale = o_.wscale;
    h.options.sack_permitted = sack_;
    if (ts_) {
      h.options.ts_val = ts_now();
      h.options.ts_ecr = ts_recent_;
    }
    h.window = static_cast<std::uint16_t>(std::min<std::uint32_t>(o_.rcvbuf, 65535));
    adv_window_ = h.window;
    transmit(h, {});
  }

  void send_ack() { send_segment(seq_of(snd_nxt_on_wire()), wire::kTcpAck, {}); }
  std::uint64_t snd_nxt_on_wire() const {
    return fin_sent_ ? o_.send_total + 1 : std::max(snd_nxt_, snd_max_);
  }

  void send_segment(std::uint32_t seq, std::uint8_t flags, ByteSpan data) {
    transmit(header(seq, flags), data);
  }
  Packet frame(std::uint32_t seq, std::uint8_t flags, ByteSpan data) {
    wire::TcpHeader h = header(seq, flags);
    return frames::tcp_frame(h, data, o_.addr, usnet_addr_, o_.peer_mac, usnet_mac_);
  }
  void transmit(const wire::TcpHeader& h, ByteSpan data) {
    dev_.transmit(now_, frames::tcp_frame(h, data, o_.addr, usnet_addr_, o_.peer_mac, usnet_mac_));
  }

  wire::TcpHeader header(std::uint32_t seq, std::uint8_t flags) {
    wire::TcpHeader h;
    h.src_port = o_.port;
    h.dst_port = usnet_port_;
    h.seq = seq;
    h.ack = usnet_isn + 1 + static_cast<std::uint32_t>(rcv_nxt_);
    h.flags = flags;
    // The room left, but never moving the right edge left (RFC 9293 3.8.6.2.2; Linux
    // tcp_select_window): data held out of order does not shrink what was offered.
    const std::uint64_t kept = adv_edge_ > rcv_nxt_ ? adv_edge_ - rcv_nxt_ : 0;
    const auto honest = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(std::max<std::uint64_t>(free_space(), kept), o_.rcvbuf));
    std::uint32_t w = window_hook ? window_hook(honest, now_) : honest;
    w = std::min<std::uint32_t>(w, 65535U << rcv_shift_);
    h.window = static_cast<std::uint16_t>(w >> rcv_shift_);
    adv_window_ = static_cast<std::uint32_t>(h.window) << rcv_shift_;
    adv_edge_ = rcv_nxt_ + adv_window_;
    if (adv_window_ == 0) zero_window_acks++;
    if (o_.one_way.count() > 0 && state != State::kListen)
      edges_.emplace_back(now_, rcv_nxt_ + adv_window_);
    if (ts_) {
      h.options.ts_val = ts_now();
      h.options.ts_ecr = ts_recent_;
    }
    if (sack_ && !ooo_.empty()) {
      // RFC 2018 4: the block of the latest segment first, then the others.
      const std::size_t room = ts_ ? 3 : 4;
      auto block = [&](std::uint64_t l, std::uint64_t r) {
        h.options.sack[h.options.sack_count++] = {usnet_isn + 1 + static_cast<std::uint32_t>(l),
                                                  usnet_isn + 1 + static_cast<std::uint32_t>(r)};
      };
      auto latest = ooo_.find(last_ooo_.first);
      if (latest != ooo_.end()) block(latest->first, latest->second);
      for (auto it = ooo_.rbegin(); it != ooo_.rend() && h.options.sack_count < room; ++it) {
        if (latest != ooo_.end() && it->first == latest->first) continue;
        block(it->first, it->second);
      }
    }
    return h;
  }
  std::uint32_t ts_now() const {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now_ - kEpoch).count());
  }

  Device& dev_;
  PeerOptions o_;
  Instant now_ = kEpoch;
  Ipv4Address usnet_addr_ = kAddrA;
  MacAddress usnet_mac_ = mac(1);
  std::uint16_t usnet_port_ = 0;
  std::uint16_t usnet_mss_ = 536;
  bool ts_ = false;
  bool sack_ = false;
  bool wscale_ok_ = false;
  std::uint8_t snd_shift_ = 0;  // for windows usnet sends
  std::uint8_t rcv_shift_ = 0;  // for windows the peer sends
  std::uint32_t ts_recent_ = 0;
  // Receiving (offsets in usnet's sequence space, from its ISN + 1).
  std::uint64_t rcv_nxt_ = 0;
  std::map<std::uint64_t, std::uint64_t> ooo_;  // [left, right)
  std::pair<std::uint64_t, std::uint64_t> last_ooo_{0, 0};
  std::uint32_t adv_window_ = 0;  // bytes, the right edge is rcv_nxt_ + this
  std::uint64_t adv_edge_ = 0;    // that right edge, as last advertised
  // Sending (offsets in ours, from isn + 1).
  std::uint64_t snd_una_ = 0;
  std::uint64_t snd_nxt_ = 0;
  std::uint64_t snd_max_ = 0;
  std::uint32_t usnet_wnd_ = 0;
  int dupacks_ = 0;
  bool fin_sent_ = false;
  bool fin_acked_ = false;
  Instant rto_at_ = kNever;
  std::deque<std::pair<Instant, std::uint64_t>> edges_;  // (sent, right edge) of ACKs
  std::uint64_t highest_seen_ = 0;
  std::vector<std::byte> expected_;  // scratch: pattern bytes
};

// One usnet stack (a: 198.18.0.1) and a TcpPeer (198.18.0.2) on a memory wire, in virtual
// time.
struct PeerNet {
  // `mtu`: the IP MTU of the wire (jumbo frames make gigabyte transfers cheaper).
  explicit PeerNet(PeerOptions po, Impairments to_peer = {}, Impairments to_usnet = {},
                   std::uint64_t seed = 1, std::size_t mtu = 1500)
      : wire(to_peer, to_usnet, seed, "wire0", mtu + 14), peer(wire.end_b(), po) {
    StackConfig c;
    c.name = "usnet";
    c.seed = seed * 2 + 1;
    stack = std::make_unique<Stack>(c);
    const auto i = stack->add_interface("wire0", wire.end_a(), mac(1), mtu);
    EXPECT_TRUE(i);
    EXPECT_TRUE(stack->add_address(*i, *Ipv4Cidr::parse("198.18.0.1/24")));
    stack->poll(now);
  }

  bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(60)) {
    const Instant end = now + limit;
    for (;;) {
      stack->poll(now);
      peer.poll(now);
      if (done && done()) return true;
      const Instant next = earliest(stack->next_deadline(), peer.next_deadline());
      if (next <= now) continue;
      if (next == kNever || next > end) {
        now = end;
        stack->poll(now);
        peer.poll(now);
        return done && done();
      }
      now = next;
    }
  }
  void run_for(Duration d) { run_until({}, d); }

  // A usnet socket connected to the peer (ESTABLISHED), or nullptr.
  Socket* connect() {
    Socket* s = tcp_socket(*stack);
    EXPECT_EQ(sock_connect(*s, SockAddr::inet(kAddrB, 5001), 0).error(), Error::kInProgress);
    run_until([&] { return state_of(*s) != TcpState::kSynSent; }, std::chrono::seconds(200));
    EXPECT_EQ(state_of(*s), TcpState::kEstablished);
    return state_of(*s) == TcpState::kEstablished ? s : nullptr;
  }

  MemoryWire wire;
  TcpPeer peer;
  std::unique_ptr<Stack> stack;
  Instant now = kEpoch + std::chrono::seconds(1);
};

}  // namespace usnet::sim
