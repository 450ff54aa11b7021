// Whole frames from an attacker into a stack: the input is cut into frames that arrive on
// one interface at advancing virtual times, with UDP and ping sockets open. Checks the
// stack's promises (DESIGN.md invariant 4): no crash or sanitizer report, and memory that
// stays within its bounds (reassembly, neighbour cache, socket queues).
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/bytes.h"
#include "dev/device.h"
#include "net/arp.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"
#include "transport/datagram.h"

namespace {

using namespace usnet;  // NOLINT(google-build-using-namespace): a fuzz harness

// Hands out the frames it was given; swallows what the stack sends.
class FuzzDevice final : public Device {
 public:
  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return 1514; }
  std::size_t receive(Instant, std::vector<Packet>& out, std::size_t max) override {
    std::size_t n = 0;
    while (n < max && next_ < frames_.size()) {
      out.push_back(std::move(frames_[next_++]));
      ++n;
    }
    return n;
  }
  void transmit(Instant, Packet frame) override {
    if (frame.size() > max_frame_size()) std::abort();  // the stack must respect the MTU
    ++sent_;
  }
  void push(Packet p) { frames_.push_back(std::move(p)); }

 private:
  std::string name_ = "fuzz0";
  std::vector<Packet> frames_;
  std::size_t next_ = 0;
  std::size_t sent_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzDevice dev;
  StackConfig cfg;
  cfg.seed = 1;
  Stack stack(cfg);
  const MacAddress mac{{0x02, 0, 0, 0, 0, 0x02}};
  auto idx = stack.add_interface("fuzz0", dev, mac);
  if (!idx) std::abort();
  (void)stack.add_address(*idx, Ipv4Cidr{Ipv4Address::from_octets(198, 18, 0, 2), 24});
  auto udp = sock_create(stack, AF_INET, SOCK_DGRAM, 0);
  auto ping = sock_create(stack, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (!udp || !ping) std::abort();
  (void)sock_bind(**udp, SockAddr::inet({}, 7));
  (void)sock_connect(**ping, SockAddr::inet(Ipv4Address::from_octets(198, 18, 0, 1), 0), 0);

  // Frames: [len:2][bytes...] repeated; each frame is followed by a time step taken from
  // the length's top bits, so timers (ARP, reassembly) fire along the way.
  Instant now = kEpoch + std::chrono::seconds(1);
  ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  while (in.size() >= 2) {
    const std::uint16_t hdr = load_be<std::uint16_t>(in, 0);
    in = in.subspan(2);
    const std::size_t len = std::min<std::size_t>(hdr & 0x7ff, in.size());
    dev.push(Packet::copy_of(in.first(len)));
    in = in.subspan(len);
    now += std::chrono::milliseconds((hdr >> 11) * 1000);
    stack.poll(now);
  }
  stack.poll(now + std::chrono::seconds(120));

  // Bounds that must hold whatever arrived.
  if (stack.ipv4().reassembly().memory() > 4 * 1024 * 1024) std::abort();
  if (stack.ipv6().reassembly().memory() > 4 * 1024 * 1024) std::abort();
  if (stack.arp().entries().size() > stack.arp().config().max_entries) std::abort();
  std::vector<std::byte> buf(65536);
  const MutableByteSpan iov[] = {buf};
  while (sock_recvmsg(**udp, RecvMsg{iov}, 0)) {
  }
  return 0;
}
