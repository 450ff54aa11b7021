// A seeded, reproducible random number generator (xoshiro256**, seeded through splitmix64).
// Each Stack and each simulated wire owns one, so the same seed gives the same bytes on the
// wire. Not for secrets: its outputs (ephemeral ports, IP ids) reveal its state. A Stack
// draws its secrets from it only when it was given a seed (a simulation that must replay
// exactly); otherwise it seeds it, and draws every secret, from os_random().
#pragma once

#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace usnet {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0x5eed) noexcept { reseed(seed); }

  void reseed(std::uint64_t seed) noexcept {
    for (auto& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound). bound == 0 yields 0. Lemire's multiply-shift; the tiny bias for
  // huge bounds does not matter for impairments or port choice.
  std::uint64_t below(std::uint64_t bound) noexcept {
    __extension__ using U128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<U128>(next()) * bound) >> 64);
  }

  // True with probability p (0 <= p <= 1).
  bool chance(double p) noexcept {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

// Fills `out` from the kernel's random pool (getrandom(2), where Linux's own TCP secrets come
// from). Blocks only until the pool is first initialised at boot. Aborts if the kernel has
// no pool: a stack must not run with secrets a peer can guess.
inline void os_random(std::span<std::byte> out) noexcept {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fputs("usnet: getrandom() failed; refusing to run with guessable secrets\n", stderr);
      std::abort();
    }
    done += static_cast<std::size_t>(n);
  }
}

inline std::uint64_t os_random_u64() noexcept {
  std::uint64_t v = 0;
  os_random(std::as_writable_bytes(std::span(&v, 1)));
  return v;
}

}  // namespace usnet
