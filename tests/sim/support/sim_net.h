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

struct SimNet {
  // a: 198.18.0.1/24, b: 198.18.0.2/24. The pcap (if named) records a's side of the wire.
  // `base` is the configuration both stacks start from (name and seed are set here).
  explicit SimNet(Impairments imp = {}, std::uint64_t seed = 1, const std::string& pcap = {},
                  const StackConfig& base = {})
      : wire(imp, imp, seed) {
    StackConfig ca = base;
    ca.name = "a";
    ca.seed = seed * 2 + 1;
    StackConfig cb = base;
    cb.name = "b";
    cb.seed = seed * 2 + 2;
    a = std::make_unique<Stack>(ca);
    b = std::make_unique<Stack>(cb);
    Device* dev_a = &wire.end_a();
    if (!pcap.empty()) {
      auto w = PcapWriter::open(pcap);
      EXPECT_TRUE(w) << "cannot write " << pcap;
      if (w) {
        writer = std::move(w.value());
        recorder = std::make_unique<PcapDevice>(wire.end_a(), *writer);
        dev_a = recorder.get();
      }
    }
    const auto ia = a->add_interface("wire0", *dev_a, mac(1));
    const auto ib = b->add_interface("wire0", wire.end_b(), mac(2));
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
  std::unique_ptr<Stack> a;
  std::unique_ptr<Stack> b;
  Instant now = kEpoch + std::chrono::seconds(1);
};

inline const Ipv4Address kAddrA = Ipv4Address::from_octets(198, 18, 0, 1);
inline const Ipv4Address kAddrB = Ipv4Address::from_octets(198, 18, 0, 2);

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
