// Devices: the memory wire's scheduling and impairments, the switch, the pcap writer, and
// the TAP device against the kernel.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "dev/kernel_netif.h"
#include "dev/memory_switch.h"
#include "dev/memory_wire.h"
#include "dev/pcap_device.h"
#include "dev/pcap_writer.h"
#include "dev/tap.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

namespace usnet {
namespace {

constexpr Instant kT0 = kEpoch + std::chrono::seconds(10);

Packet frame(std::size_t size, std::uint32_t tag, std::uint8_t dst_last = 0xff,
             std::uint8_t src_last = 1) {
  Packet p(size);
  auto b = p.append(size);
  std::fill(b.begin(), b.end(), std::byte{0});
  b[0] = std::byte{0x02};  // 02:00:00:00:00:<dst_last>, or broadcast
  b[5] = static_cast<std::byte>(dst_last);
  if (dst_last == 0xff) {
    for (int i = 0; i < 6; ++i)
      b[i] = std::byte{0xff};
  }
  b[6] = std::byte{0x02};
  b[11] = static_cast<std::byte>(src_last);
  store_be<std::uint32_t>(b, 16, tag);
  return p;
}

struct Arrival {
  Instant at;
  std::uint32_t tag;
  std::vector<std::byte> bytes;
  bool operator==(const Arrival&) const = default;
};

// Sends `n` frames a->b, one every `gap`, and collects what arrives, stepping to each deadline.
std::vector<Arrival> run_wire(MemoryWire& w, int n, Duration gap, std::size_t size = 100) {
  std::vector<Arrival> got;
  Instant now = kT0;
  for (int i = 0; i < n; ++i) {
    w.end_a().transmit(now + gap * i, frame(size, static_cast<std::uint32_t>(i)));
  }
  std::vector<Packet> out;
  for (Instant t = w.end_b().next_deadline(); t != kNever; t = w.end_b().next_deadline()) {
    out.clear();
    w.end_b().receive(t, out, 1000);
    for (auto& p : out) {
      got.push_back({t, load_be<std::uint32_t>(p.data(), 16),
                     std::vector<std::byte>(p.data().begin(), p.data().end())});
    }
  }
  return got;
}

TEST(MemoryWire, DelayIsExactAndOrderKept) {
  Impairments imp;
  imp.delay = std::chrono::milliseconds(5);
  MemoryWire w(imp, imp, 1);
  auto got = run_wire(w, 10, std::chrono::microseconds(100));
  ASSERT_EQ(got.size(), 10u);
  for (std::uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(got[i].tag, i);
    EXPECT_EQ(got[i].at, kT0 + std::chrono::microseconds(100) * i + std::chrono::milliseconds(5));
  }
  EXPECT_EQ(w.a_to_b().delivered, 10u);
  EXPECT_EQ(w.end_b().next_deadline(), kNever);
}

TEST(MemoryWire, RateLimitSerialisesFrames) {
  Impairments imp;
  imp.rate_bps = 12'000'000;  // a 1500-byte frame takes exactly 1 ms
  MemoryWire w(imp, imp, 1);
  auto got = run_wire(w, 5, Duration{0}, 1500);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(got[i].at, kT0 + std::chrono::milliseconds(i + 1));
}

TEST(MemoryWire, JitterKeepsFifoOrder) {
  Impairments imp;
  imp.delay = std::chrono::milliseconds(1);
  imp.jitter = std::chrono::milliseconds(10);
  MemoryWire w(imp, imp, 3);
  auto got = run_wire(w, 200, std::chrono::microseconds(50));
  ASSERT_EQ(got.size(), 200u);
  for (std::uint32_t i = 0; i < 200; ++i)
    EXPECT_EQ(got[i].tag, i);
}

TEST(MemoryWire, ReorderLetsLaterFramesOvertake) {
  Impairments imp;
  imp.reorder = 0.2;
  imp.delay = std::chrono::milliseconds(1);
  MemoryWire w(imp, imp, 4);
  auto got = run_wire(w, 500, std::chrono::microseconds(100));
  ASSERT_EQ(got.size(), 500u);
  int inversions = 0;
  for (std::size_t i = 1; i < got.size(); ++i)
    inversions += got[i].tag < got[i - 1].tag;
  EXPECT_GT(inversions, 20);
  EXPECT_NEAR(static_cast<double>(w.a_to_b().reordered), 100.0, 40.0);
}

TEST(MemoryWire, LossRateIsAsConfigured) {
  Impairments imp;
  imp.loss = 0.1;
  imp.queue_limit = 200000;  // all frames are handed over before any is taken out
  MemoryWire w(imp, imp, 5);
  auto got = run_wire(w, 100000, Duration{1000});
  // 10% of 100000 with a standard deviation of ~95: within 5 sigma.
  EXPECT_NEAR(static_cast<double>(100000 - got.size()), 10000.0, 500.0);
  EXPECT_EQ(w.a_to_b().lost + got.size(), 100000u);
}

TEST(MemoryWire, DuplicatesAreCountedAndIdentical) {
  Impairments imp;
  imp.duplicate = 0.25;
  MemoryWire w(imp, imp, 6);
  auto got = run_wire(w, 1000, Duration{1000});
  EXPECT_EQ(got.size(), 1000u + w.a_to_b().duplicated);
  EXPECT_NEAR(static_cast<double>(w.a_to_b().duplicated), 250.0, 60.0);
}

// The flipping kinds (the frames are mostly zeros: nothing to swap). Each kind, and what
// the Internet checksum makes of it, is tested in tests/sim/corruption_sim_test.cpp.
TEST(MemoryWire, CorruptionFlipsSeveralBits) {
  Impairments imp;
  imp.corrupt = 1.0;
  imp.corrupt_kinds = kCorruptBurst | kCorruptScatter;
  MemoryWire w(imp, imp, 7);
  auto got = run_wire(w, 300, Duration{1000});
  ASSERT_EQ(got.size(), 300u);
  for (std::size_t k = 0; k < got.size(); ++k) {
    Packet orig = frame(100, static_cast<std::uint32_t>(k));  // in order: no reordering
    int flipped = 0;
    for (std::size_t i = 0; i < 100; ++i) {
      std::uint8_t x =
          static_cast<std::uint8_t>(got[k].bytes[i]) ^ static_cast<std::uint8_t>(orig.data()[i]);
      flipped += __builtin_popcount(x);
    }
    EXPECT_GE(flipped, 2);
    EXPECT_LE(flipped, 15);
  }
  EXPECT_EQ(w.a_to_b().corrupted, 300u);
  EXPECT_EQ(w.a_to_b().corrupted_burst + w.a_to_b().corrupted_scatter, 300u);
  EXPECT_GT(w.a_to_b().corrupted_burst, 100u);
  EXPECT_GT(w.a_to_b().corrupted_scatter, 100u);
}

TEST(MemoryWire, QueueIsBoundedAndOversizeDropped) {
  Impairments imp;
  imp.delay = std::chrono::seconds(1);
  imp.queue_limit = 64;
  MemoryWire w(imp, imp, 8);
  for (int i = 0; i < 100; ++i)
    w.end_a().transmit(kT0, frame(100, static_cast<std::uint32_t>(i)));
  EXPECT_EQ(w.a_to_b().queue_dropped, 36u);
  w.end_a().transmit(kT0, frame(1515, 0));
  EXPECT_EQ(w.end_a().stats().tx_dropped, 1u);
  EXPECT_EQ(w.end_b().next_deadline(), kT0 + std::chrono::seconds(1));
}

TEST(MemoryWire, SameSeedSameDeliveries) {
  Impairments imp;
  imp.loss = 0.1;
  imp.duplicate = 0.1;
  imp.reorder = 0.1;
  imp.corrupt = 0.1;
  imp.delay = std::chrono::microseconds(500);
  imp.jitter = std::chrono::microseconds(300);
  MemoryWire w1(imp, imp, 42), w2(imp, imp, 42), w3(imp, imp, 43);
  const auto a = run_wire(w1, 2000, Duration{10000});
  const auto b = run_wire(w2, 2000, Duration{10000});
  const auto c = run_wire(w3, 2000, Duration{10000});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(MemorySwitch, LearnsThenForwardsUnicastAndFloodsTheRest) {
  MemorySwitch sw(1);
  Device& p0 = sw.add_port();
  Device& p1 = sw.add_port();
  Device& p2 = sw.add_port();
  std::vector<Packet> out;
  // Unknown destination: flooded to the two other ports.
  p0.transmit(kT0, frame(60, 1, /*dst=*/2, /*src=*/1));
  EXPECT_EQ(p1.receive(kT0, out, 10), 1u);
  EXPECT_EQ(p2.receive(kT0, out, 10), 1u);
  EXPECT_EQ(p0.receive(kT0, out, 10), 0u);
  // Port 2 answers: its MAC is learned, and the reply goes only to port 0, already known.
  p2.transmit(kT0, frame(60, 2, /*dst=*/1, /*src=*/2));
  EXPECT_EQ(p0.receive(kT0, out, 10), 1u);
  EXPECT_EQ(p1.receive(kT0, out, 10), 0u);
  p0.transmit(kT0, frame(60, 3, /*dst=*/2, /*src=*/1));
  EXPECT_EQ(p2.receive(kT0, out, 10), 1u);
  EXPECT_EQ(p1.receive(kT0, out, 10), 0u);
  EXPECT_EQ(sw.stats().flooded, 1u);
  EXPECT_EQ(sw.stats().forwarded, 2u);
  // Broadcast always floods; runts are dropped.
  p1.transmit(kT0, frame(60, 4, 0xff, /*src=*/3));
  EXPECT_EQ(p0.receive(kT0, out, 10) + p2.receive(kT0, out, 10), 2u);
  p1.transmit(kT0, Packet::copy_of(ByteSpan(out[0].data()).first(10)));
  EXPECT_EQ(sw.stats().dropped, 1u);
  EXPECT_EQ(sw.learned(), 3u);
}

TEST(MemorySwitch, MacTableIsBounded) {
  MemorySwitch sw(2);
  Device& p0 = sw.add_port();
  sw.add_port();
  for (std::uint32_t i = 0; i < MemorySwitch::kMaxMacs + 500; ++i) {
    Packet f = frame(60, i);
    store_be<std::uint32_t>(f.data(), 8, i);  // a new source MAC each time
    p0.transmit(kT0, std::move(f));
  }
  EXPECT_LE(sw.learned(), MemorySwitch::kMaxMacs);
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> raw{std::istreambuf_iterator<char>(f), {}};
  return {reinterpret_cast<std::byte*>(raw.data()),
          reinterpret_cast<std::byte*>(raw.data()) + raw.size()};
}

TEST(Pcap, FileBytesAreExactAndTsharkReadsThem) {
  const std::string path = ::testing::TempDir() + "usnet-dev-test.pcap";
  {
    MemoryWire w({}, {}, 1);
    auto writer = PcapWriter::open(path);
    ASSERT_TRUE(writer);
    PcapDevice rec(w.end_a(), **writer);
    // A real ARP request, so tshark has something to dissect.
    wire::EthernetHeader eth;
    eth.dst = MacAddress::broadcast();
    eth.src = MacAddress{{0x02, 0, 0, 0, 0, 1}};
    eth.ethertype = 0x0806;
    wire::ArpPacket arp;
    arp.sender_mac = eth.src;
    arp.sender_ip = Ipv4Address::from_octets(198, 18, 0, 1);
    arp.target_ip = Ipv4Address::from_octets(198, 18, 0, 2);
    Packet p(60);
    eth.emit(p.append(14));
    arp.emit(p.append(28));
    auto pad = p.append(18);
    std::fill(pad.begin(), pad.end(), std::byte{0});
    rec.transmit(kEpoch + std::chrono::nanoseconds(1'500'000'123), p.clone());
    rec.flush(kEpoch);
  }
  const auto bytes = read_file(path);
  ASSERT_EQ(bytes.size(), 24u + 16u + 60u);
  EXPECT_EQ(load_be<std::uint32_t>(bytes, 0), 0x4d3cb2a1u);  // 0xa1b23c4d, little-endian
  std::uint32_t sec, nsec, caplen;
  std::memcpy(&sec, bytes.data() + 24, 4);
  std::memcpy(&nsec, bytes.data() + 28, 4);
  std::memcpy(&caplen, bytes.data() + 32, 4);
  EXPECT_EQ(sec, 1u);
  EXPECT_EQ(nsec, 500'000'123u);
  EXPECT_EQ(caplen, 60u);
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "\n*** SKIPPED tshark check: tshark is not installed ***\n\n");
    GTEST_SKIP() << "tshark missing";
  }
  const std::string cmd = "tshark -r " + path + " 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), f) != nullptr)
    out += buf;
  EXPECT_EQ(::pclose(f), 0) << out;
  EXPECT_NE(out.find("Who has 198.18.0.2? Tell 198.18.0.1"), std::string::npos) << out;
  EXPECT_EQ(out.find("Malformed"), std::string::npos) << out;
  std::remove(path.c_str());
}

// The TAP device against the kernel: in a child process with a network namespace of its own
// (gone when the child exits), usnet asks the kernel's side of the TAP for its MAC with ARP.
TEST(Tap, KernelAnswersArpThroughTheTap) {
  if (::geteuid() != 0 || ::access("/dev/net/tun", R_OK | W_OK) != 0) {
    std::fprintf(stderr, "\n*** SKIPPED TAP TEST: needs root and /dev/net/tun; NOT run ***\n\n");
    GTEST_SKIP() << "needs root and /dev/net/tun";
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) _exit(10);
    auto tap = TapDevice::open("usnettest0", 1500);
    if (!tap) _exit(11);
    const Ipv4Cidr kernel{Ipv4Address::from_octets(198, 18, 7, 1), 24};
    if (!kernel_netif_set_ipv4("usnettest0", kernel) || !kernel_netif_set_up("usnettest0")) {
      _exit(12);
    }
    const MacAddress me{{0x02, 0, 0, 0, 0x07, 0x02}};
    wire::EthernetHeader eth;
    eth.dst = MacAddress::broadcast();
    eth.src = me;
    eth.ethertype = 0x0806;
    wire::ArpPacket req;
    req.sender_mac = me;
    req.sender_ip = Ipv4Address::from_octets(198, 18, 7, 2);
    req.target_ip = kernel.address;
    Packet p(60);
    eth.emit(p.append(14));
    req.emit(p.append(28));
    auto pad = p.append(18);
    std::fill(pad.begin(), pad.end(), std::byte{0});
    for (int attempt = 0; attempt < 30; ++attempt) {
      (*tap)->transmit(kEpoch, p.clone());
      (*tap)->flush(kEpoch);
      pollfd pf{(*tap)->pollable_fd(), POLLIN, 0};
      ::poll(&pf, 1, 100);
      std::vector<Packet> in;
      (*tap)->receive(kEpoch, in, 64);
      for (auto& f : in) {
        auto e = wire::EthernetHeader::parse(f.data());
        if (!e || e->ethertype != 0x0806) continue;
        auto a = wire::ArpPacket::parse(f.data().subspan(14));
        if (a && a->op == wire::ArpOp::kReply && a->sender_ip == kernel.address &&
            a->target_mac == me) {
          _exit(0);
        }
      }
    }
    _exit(13);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child failed at step " << WEXITSTATUS(status);
}

}  // namespace
}  // namespace usnet
