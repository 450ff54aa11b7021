// Two stacks joined by a memory wire, driven in virtual time (DESIGN.md invariant 2): the
// clock advances straight to the next deadline, so seconds of protocol time take
// microseconds, and the same seed gives the same frames.
#pragma once

#include <netinet/in.h>
#include <poll.h>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dev/memory_wire.h"
#include "dev/pcap_device.h"
#include "dev/pcap_writer.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"

namespace usnet::sim {

inline MacAddress mac(std::uint8_t last) {
  return {{0x02, 0, 0, 0, 0, last}};
}

// Everything a SimNet can be built with. Each direction of the wire has its own
// impairments; wrap_a/wrap_b (if set) get each stack's end of the wire and return the device
// that stack is given instead (a wrapper that looks at or changes every frame).
struct SimNetOptions {
  Impairments a_to_b;
  Impairments b_to_a;
  std::uint64_t seed = 1;
  std::string pcap;  // records a's side of the wire
  StackConfig base;  // the configuration both stacks start from (name and seed are set)
  std::function<std::unique_ptr<Device>(Device&)> wrap_a;
  std::function<std::unique_ptr<Device>(Device&)> wrap_b;
};

struct SimNet {
  // a: 198.18.0.1/24, b: 198.18.0.2/24, the same impairments both ways. The pcap (if named)
  // records a's side of the wire.
  explicit SimNet(Impairments imp = {}, std::uint64_t seed = 1, const std::string& pcap = {},
                  const StackConfig& base = {})
      : SimNet(SimNetOptions{imp, imp, seed, pcap, base, {}, {}}) {}

  explicit SimNet(const SimNetOptions& o) : wire(o.a_to_b, o.b_to_a, o.seed) {
    StackConfig ca = o.base;
    ca.name = "a";
    ca.seed = o.seed * 2 + 1;
    StackConfig cb = o.base;
    cb.name = "b";
    cb.seed = o.seed * 2 + 2;
    a = std::make_unique<Stack>(ca);
    b = std::make_unique<Stack>(cb);
    Device* dev_a = &wire.end_a();
    if (!o.pcap.empty()) {
      auto w = PcapWriter::open(o.pcap);
      EXPECT_TRUE(w) << "cannot write " << o.pcap;
      if (w) {
        writer = std::move(w.value());
        recorder = std::make_unique<PcapDevice>(wire.end_a(), *writer);
        dev_a = recorder.get();
      }
    }
    Device* dev_b = &wire.end_b();
    if (o.wrap_a) {
      wrapped_a = o.wrap_a(*dev_a);
      dev_a = wrapped_a.get();
    }
    if (o.wrap_b) {
      wrapped_b = o.wrap_b(*dev_b);
      dev_b = wrapped_b.get();
    }
    const auto ia = a->add_interface("wire0", *dev_a, mac(1));
    const auto ib = b->add_interface("wire0", *dev_b, mac(2));
    EXPECT_TRUE(ia && ib);
    EXPECT_TRUE(a->add_address(*ia, *Ipv4Cidr::parse("198.18.0.1/24")));
    EXPECT_TRUE(b->add_address(*ib, *Ipv4Cidr::parse("198.18.0.2/24")));
    // Socket calls act at the time of the last poll: start both clocks now.
    a->poll(now);
    b->poll(now);
  }

  // Advances virtual time through every event until `done` holds or `limit` passes.
  // Returns whether `done` held.
  bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(60)) {
    const Instant end = now + limit;
    for (;;) {
      a->poll(now);
      b->poll(now);
      if (done && done()) return true;
      // Read after both polls: b may have just sent a frame to a.
      const Instant next = earliest(a->next_deadline(), b->next_deadline());
      if (next <= now) continue;  // work is pending at this instant
      if (next == kNever || next > end) {
        now = end;
        a->poll(now);
        b->poll(now);
        return done && done();
      }
      now = next;
    }
  }
  void run_for(Duration d) { run_until({}, d); }

  MemoryWire wire;
  std::unique_ptr<PcapWriter> writer;
  std::unique_ptr<PcapDevice> recorder;
  std::unique_ptr<Device> wrapped_a;  // outlive the stacks that use them
  std::unique_ptr<Device> wrapped_b;
  std::unique_ptr<Stack> a;
  std::unique_ptr<Stack> b;
  Instant now = kEpoch + std::chrono::seconds(1);
};

inline constexpr Ipv4Address kAddrA = Ipv4Address::from_octets(198, 18, 0, 1);
inline constexpr Ipv4Address kAddrB = Ipv4Address::from_octets(198, 18, 0, 2);

// A UDP socket on `s`, bound to `port` on any address (0: not bound).
inline Socket* udp_socket(Stack& s, std::uint16_t port = 0) {
  auto r = sock_create(s, AF_INET, SOCK_DGRAM, 0);
  EXPECT_TRUE(r);
  if (!r) return nullptr;
  if (port != 0) {
    EXPECT_TRUE(sock_bind(**r, SockAddr::inet({}, port)));
  }
  return *r;
}

inline Result<std::size_t> send_to(Socket& s, ByteSpan data, SockAddr to) {
  const ByteSpan iov[] = {data};
  return sock_sendmsg(s, SendMsg{iov, &to}, 0);
}

inline Result<RecvResult> recv_from(Socket& s, MutableByteSpan buf, int flags = 0) {
  const MutableByteSpan iov[] = {buf};
  return sock_recvmsg(s, RecvMsg{iov}, flags);
}

}  // namespace usnet::sim
