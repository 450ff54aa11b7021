// A main() for fuzz harnesses in builds without libFuzzer (gcc): runs the harness over every
// file named on the command line (directories are walked: the seed corpus), then over a
// bounded, seeded stream of random inputs and mutations of the corpus, so that every build
// of the suite exercises every harness.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "base/rng.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::vector<std::uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) corpus.push_back(read_file(e.path()));
      }
    } else if (std::filesystem::is_regular_file(p)) {
      corpus.push_back(read_file(p));
    }
  }
  for (const auto& c : corpus)
    LLVMFuzzerTestOneInput(c.data(), c.size());

  constexpr int kRuns = 20000;
  usnet::Rng rng(1);
  std::vector<std::uint8_t> in;
  for (int run = 0; run < kRuns; ++run) {
    if (!corpus.empty() && rng.chance(0.7)) {
      // Mutate a corpus entry: flip bytes, cut, or extend.
      in = corpus[rng.below(corpus.size())];
      const auto edits = 1 + rng.below(8);
      for (std::uint64_t e = 0; e < edits && !in.empty(); ++e) {
        switch (rng.below(3)) {
          case 0:
            in[rng.below(in.size())] = static_cast<std::uint8_t>(rng.next());
            break;
          case 1:
            in.resize(rng.below(in.size() + 1));
            break;
          default:
            in.push_back(static_cast<std::uint8_t>(rng.next()));
            break;
        }
      }
    } else {
      in.resize(rng.below(2048));
      for (auto& b : in)
        b = static_cast<std::uint8_t>(rng.next());
    }
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
  std::printf("ran %zu corpus inputs and %d generated inputs\n", corpus.size(), kRuns);
  return 0;
}
