// An attacker driving TCP connections: the input is a script of segments (with correct
// checksums, and sequence and acknowledgment numbers chosen relative to the connection's
// own so that the fuzzer reaches every state) interleaved with the application's calls
// (accept, send, recv, shutdown, close) and jumps of virtual time. Checks: no crash or
// sanitizer report, and every queue within its bound whatever the peer does.
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "../support/frames.h"
#include "base/bytes.h"
#include "dev/device.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"
#include "transport/tcp/tcp.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"

namespace {

using namespace usnet;  // NOLINT(google-build-using-namespace): a fuzz harness

const Ipv4Address kUs = Ipv4Address::from_octets(198, 18, 0, 2);
const Ipv4Address kPeer = Ipv4Address::from_octets(198, 18, 0, 1);
const MacAddress kUsMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};

class FuzzDevice final : public Device {
 public:
  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return 1514; }
  std::size_t receive(Instant, std::vector<Packet>& out, std::size_t max) override {
    std::size_t n = 0;
    while (n < max && !in_.empty()) {
      out.push_back(std::move(in_.back()));
      in_.pop_back();
      ++n;
    }
    return n;
  }
  void transmit(Instant, Packet frame) override {
    if (frame.size() > max_frame_size()) std::abort();  // the stack must respect the MTU
  }
  void push(Packet p) { in_.push_back(std::move(p)); }

 private:
  std::string name_ = "fuzz0";
  std::vector<Packet> in_;
};

// Reads bytes off the front of the input; zeros when it runs out.
struct Reader {
  ByteSpan in;
  std::uint8_t u8() {
    if (in.empty()) return 0;
    const auto v = static_cast<std::uint8_t>(in[0]);
    in = in.subspan(1);
    return v;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  ByteSpan bytes(std::size_t n) {
    n = std::min(n, in.size());
    ByteSpan b = in.first(n);
    in = in.subspan(n);
    return b;
  }
};

void inject(Stack& stack, FuzzDevice& dev, Reader& r, std::uint16_t client_port) {
  const std::uint8_t sel = r.u8();
  wire::TcpHeader h;
  // Two peers: a client of our listener on :80, and the server our client connects to.
  const bool to_listener = (sel & 1) == 0;
  h.src_port = to_listener ? static_cast<std::uint16_t>(40000 + ((sel >> 1) & 3)) : 5000;
  h.dst_port = to_listener ? 80 : client_port;
  h.flags = r.u8();
  const auto dseq = static_cast<std::int16_t>(r.u16());
  const auto dack = static_cast<std::int16_t>(r.u16());
  h.window = r.u16();
  TcpSock* sk = stack.tcp().lookup(FourTuple{kUs, h.dst_port, kPeer, h.src_port});
  if (sk != nullptr && (sel & 0x80) == 0) {
    h.seq = (sk->rcv_nxt + static_cast<std::uint32_t>(static_cast<std::int32_t>(dseq))).raw();
    h.ack = (sk->snd_una + static_cast<std::uint32_t>(static_cast<std::int32_t>(dack))).raw();
  } else {
    h.seq = static_cast<std::uint32_t>(dseq) * 65537U;
    h.ack = sk != nullptr ? (sk->snd_nxt + static_cast<std::uint32_t>(dack)).raw()
                          : static_cast<std::uint32_t>(dack);
  }
  // Options: some well-formed, then raw bytes the parser must survive.
  const std::uint8_t o = r.u8();
  if (o & 1) h.options.mss = static_cast<std::uint16_t>(r.u16());
  if (o & 2) h.options.window_scale = static_cast<std::uint8_t>(r.u8() % 15);
  if (o & 4) h.options.sack_permitted = true;
  if (o & 8) {
    h.options.ts_val = static_cast<std::uint32_t>(r.u16()) << 8;
    h.options.ts_ecr = static_cast<std::uint32_t>(r.u16());
  }
  if (o & 16 && sk != nullptr) {
    const std::uint8_t n = (o >> 5) % 4 + 1;
    for (std::uint8_t i = 0; i < n && (h.options.ts_val ? i < 3 : true); ++i) {
      const SeqNum left = sk->snd_una + r.u16();
      h.options.sack[h.options.sack_count++] = {left.raw(), (left + r.u16()).raw()};
    }
  }
  const ByteSpan payload = r.bytes(r.u8() * 8U);
  dev.push(usnet::frames::tcp_frame(h, payload, kPeer, kUs, kPeerMac, kUsMac));
}

void check_bounds(Stack& stack) {
  stack.tcp().for_each([](const TcpSock& sk) {
    // The window we offer bounds what we keep; a scale unit of slack for rounding.
    const std::size_t slack = std::size_t{1} << sk.rcv_wscale;
    if (sk.rcvq.size() + sk.ooo.bytes() > sk.rcv_space_max() + slack) std::abort();
    if (sk.sndq.size() > sk.snd_space_max()) std::abort();
    if (sk.scoreboard.size() > kMaxScoreboard) std::abort();
    if (sk.syn_queue.size() > static_cast<std::size_t>(std::max(sk.backlog, 1))) std::abort();
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzDevice dev;
  StackConfig cfg;
  cfg.seed = 1;
  Stack stack(cfg);
  auto idx = stack.add_interface("fuzz0", dev, kUsMac);
  if (!idx) std::abort();
  (void)stack.add_address(*idx, Ipv4Cidr{kUs, 24});
  Instant now = kEpoch + std::chrono::seconds(1);
  stack.poll(now);
  // The peer asks for our MAC (RFC 826: we learn its own on the way), so what the stack
  // sends goes out without waiting for ARP.
  {
    wire::ArpPacket req;
    req.op = wire::ArpOp::kRequest;
    req.sender_mac = kPeerMac;
    req.sender_ip = kPeer;
    req.target_ip = kUs;
    Packet p(wire::ArpPacket::kSize);
    req.emit(p.append(wire::ArpPacket::kSize));
    usnet::frames::push_ethernet(p, kPeerMac, MacAddress{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
                                 0x0806);
    dev.push(std::move(p));
    stack.poll(now);
  }
  Reader r{ByteSpan(reinterpret_cast<const std::byte*>(data), size)};
  auto l = sock_create(stack, AF_INET, SOCK_STREAM, 0);
  auto c = sock_create(stack, AF_INET, SOCK_STREAM, 0);
  if (!l || !c) std::abort();
  (void)sock_bind(**l, SockAddr::inet({}, 80));
  (void)sock_listen(**l, 4);
  (void)sock_connect(**c, SockAddr::inet(kPeer, 5000), 0);
  const std::uint16_t client_port = (*c)->local.port;
  std::vector<Socket*> accepted;
  std::vector<std::byte> buf(70000);

  while (!r.in.empty()) {
    const std::uint8_t op = r.u8();
    switch (op % 16) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 6:
      case 7:
        inject(stack, dev, r, client_port);
        break;
      case 8:
        if (auto a = sock_accept(**l, 0)) accepted.push_back(*a);
        break;
      case 9: {
        Socket* s = accepted.empty() || (op & 0x10) ? *c : accepted[op % accepted.size()];
        const ByteSpan iov[] = {ByteSpan(buf).first(r.u16() % 20000)};
        (void)sock_sendmsg(*s, SendMsg{iov, nullptr}, MSG_DONTWAIT | (op & 0x20 ? MSG_MORE : 0));
        break;
      }
      case 10: {
        Socket* s = accepted.empty() || (op & 0x10) ? *c : accepted[op % accepted.size()];
        const MutableByteSpan iov[] = {MutableByteSpan(buf).first(r.u16())};
        (void)sock_recvmsg(*s, RecvMsg{iov}, MSG_DONTWAIT | (op & 0x20 ? MSG_PEEK : 0));
        break;
      }
      case 11:
        if (!accepted.empty()) (void)sock_shutdown(*accepted[op % accepted.size()], 1 + op % 3 - 1);
        break;
      case 12:
        if (!accepted.empty()) {
          Socket* s = accepted.back();
          accepted.pop_back();
          (void)sock_close(stack, s->fd);
        }
        break;
      default:
        now += std::chrono::milliseconds(r.u16() * (op & 0x10 ? 100 : 1));
        break;
    }
    stack.poll(now);
    check_bounds(stack);
  }
  // Long after: every timer has had its say, and the bounds still hold.
  for (int i = 0; i < 20; ++i) {
    now += std::chrono::seconds(30);
    stack.poll(now);
  }
  check_bounds(stack);
  return 0;
}
