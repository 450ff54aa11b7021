// The Internet checksum: usnet's wide-word sum against the RFC 1071 byte loop, in the same
// run, with the ratio printed at the end.
//
//   cmake --preset release && cmake --build --preset release --target bench_checksum
//   build/release/bench/bench_checksum
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "base/rng.h"
#include "wire/checksum.h"

namespace {

std::vector<std::byte> data_of(std::size_t n) {
  usnet::Rng rng(1);
  std::vector<std::byte> v(n + 1);
  for (auto& b : v)
    b = static_cast<std::byte>(rng.next());
  return v;
}

template <std::uint32_t (*Sum)(usnet::ByteSpan, std::uint32_t) noexcept>
void run(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto buf = data_of(n);
  // Odd start (+1): packets are not aligned for us in real life either.
  const usnet::ByteSpan s(buf.data() + 1, n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(usnet::wire::checksum_finish(Sum(s, 0)));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_ChecksumWide(benchmark::State& s) {
  run<usnet::wire::checksum_partial>(s);
}
void BM_ChecksumNaive(benchmark::State& s) {
  run<usnet::wire::checksum_partial_naive>(s);
}

#define USNET_SIZES Arg(20)->Arg(64)->Arg(576)->Arg(1500)->Arg(9000)->Arg(65535)
BENCHMARK(BM_ChecksumWide)->USNET_SIZES;
BENCHMARK(BM_ChecksumNaive)->USNET_SIZES;

// Keeps the console output and remembers throughput per size for the ratio table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      const std::string name = r.benchmark_name();
      const auto slash = name.find('/');
      const std::string kind = name.substr(0, slash);
      const std::string size = name.substr(slash + 1);
      const auto it = r.counters.find("bytes_per_second");
      if (it != r.counters.end()) rates_[std::stol(size)][kind] = it->second.value;
    }
  }
  void print_ratios() const {
    std::printf("\n%8s %14s %14s %8s\n", "bytes", "wide GB/s", "naive GB/s", "ratio");
    for (const auto& [size, by] : rates_) {
      const double w = by.count("BM_ChecksumWide") ? by.at("BM_ChecksumWide") : 0;
      const double n = by.count("BM_ChecksumNaive") ? by.at("BM_ChecksumNaive") : 0;
      std::printf("%8ld %14.2f %14.2f %7.1fx\n", size, w / 1e9, n / 1e9, n > 0 ? w / n : 0);
    }
  }

 private:
  std::map<long, std::map<std::string, double>> rates_;  // by size in bytes
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
