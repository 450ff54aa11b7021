// TCP bulk transfer: two usnet stacks over a memory wire, driven as fast as the CPU allows
// (virtual time, one thread, Ethernet MTU 1500), against the Linux kernel's TCP over its
// loopback (two threads, MTU 65536), in the same run, with the ratio printed at the end.
// The setups differ as described, so the ratio says how much CPU usnet spends per byte
// relative to the kernel's fastest path, not which wins on a real link.
//
//   cmake --preset release && cmake --build --preset release --target bench_tcp
//   build/release/bench/bench_tcp
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dev/memory_wire.h"
#include "socket/fd_table.h"
#include "socket/sock_calls.h"
#include "stack/stack.h"
#include "transport/tcp/tcp.h"

namespace {

using namespace usnet;  // NOLINT(google-build-using-namespace): a benchmark

constexpr std::size_t kTransfer = 64 << 20;

// Moves kTransfer bytes from a to b over a fresh connection; returns false on a stall.
bool usnet_transfer() {
  MemoryWire wire(Impairments{}, Impairments{}, 1);
  StackConfig ca;
  ca.seed = 1;
  StackConfig cb;
  cb.seed = 2;
  Stack a(ca);
  Stack b(cb);
  const auto ia = a.add_interface("w0", wire.end_a(), MacAddress{{2, 0, 0, 0, 0, 1}});
  const auto ib = b.add_interface("w0", wire.end_b(), MacAddress{{2, 0, 0, 0, 0, 2}});
  (void)a.add_address(*ia, *Ipv4Cidr::parse("198.18.0.1/24"));
  (void)b.add_address(*ib, *Ipv4Cidr::parse("198.18.0.2/24"));
  Instant now = kEpoch + std::chrono::seconds(1);
  a.poll(now);
  b.poll(now);
  Socket* l = *sock_create(b, AF_INET, SOCK_STREAM, 0);
  (void)sock_bind(*l, SockAddr::inet({}, 5001));
  (void)sock_listen(*l, 8);
  Socket* c = *sock_create(a, AF_INET, SOCK_STREAM, 0);
  (void)sock_connect(*c, SockAddr::inet(Ipv4Address::from_octets(198, 18, 0, 2), 5001), 0);
  Socket* s = nullptr;
  std::vector<std::byte> buf(256 * 1024);
  std::size_t sent = 0;
  std::size_t got = 0;
  for (int steps = 0; got < kTransfer && steps < 10'000'000; ++steps) {
    a.poll(now);
    b.poll(now);
    if (s == nullptr) {
      if (auto r = sock_accept(*l, 0)) s = *r;
    }
    while (sent < kTransfer) {
      const ByteSpan iov[] = {ByteSpan(buf).first(std::min(buf.size(), kTransfer - sent))};
      auto r = sock_sendmsg(*c, SendMsg{iov, nullptr}, MSG_DONTWAIT);
      if (!r) break;
      sent += *r;
    }
    while (s != nullptr) {
      const MutableByteSpan iov[] = {MutableByteSpan(buf)};
      auto r = sock_recvmsg(*s, RecvMsg{iov}, MSG_DONTWAIT);
      if (!r || r->copied == 0) break;
      got += r->copied;
    }
    const Instant next = earliest(a.next_deadline(), b.next_deadline());
    if (next > now && next != kNever) now = next;
  }
  return got == kTransfer;
}

void BM_UsnetTcpBulk(benchmark::State& state) {
  for (auto _ : state) {
    if (!usnet_transfer()) state.SkipWithError("usnet transfer stalled");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kTransfer);
}

void BM_KernelTcpLoopback(benchmark::State& state) {
  for (auto _ : state) {
    const int l = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(l, 8);
    ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    std::thread sender([a] {
      const int c = ::socket(AF_INET, SOCK_STREAM, 0);
      ::connect(c, reinterpret_cast<const sockaddr*>(&a), sizeof(a));
      std::vector<char> buf(256 * 1024);
      std::size_t sent = 0;
      while (sent < kTransfer) {
        const ssize_t n = ::send(c, buf.data(), std::min(buf.size(), kTransfer - sent), 0);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::close(c);
    });
    const int s = ::accept(l, nullptr, nullptr);
    std::vector<char> buf(256 * 1024);
    std::size_t got = 0;
    for (;;) {
      const ssize_t n = ::recv(s, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    sender.join();
    ::close(s);
    ::close(l);
    if (got != kTransfer) state.SkipWithError("kernel transfer short");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kTransfer);
}

BENCHMARK(BM_UsnetTcpBulk)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_KernelTcpLoopback)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      const auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) rates_[r.benchmark_name()] = it->second.value;
    }
  }
  void print_ratio() const {
    const double u = rates_.count("BM_UsnetTcpBulk/min_time:2.000/real_time")
                         ? rates_.at("BM_UsnetTcpBulk/min_time:2.000/real_time")
                         : 0;
    const double k = rates_.count("BM_KernelTcpLoopback/min_time:2.000/real_time")
                         ? rates_.at("BM_KernelTcpLoopback/min_time:2.000/real_time")
                         : 0;
    std::printf(
        "\nTCP bulk, 64 MiB per transfer: usnet %.2f Gbit/s (one thread, MTU 1500), "
        "kernel loopback %.2f Gbit/s (two threads, MTU 65536): usnet/kernel %.2fx\n",
        u * 8 / 1e9, k * 8 / 1e9, k > 0 ? u / k : 0);
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratio();
  benchmark::Shutdown();
  return 0;
}
