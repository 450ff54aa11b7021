// One bit per descriptor, read without a lock: the preload's own per-descriptor facts
// (preload/pending.h), laid out as api::FdMap's kinds are.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_set>

namespace usnet::preload {

class FdMarks {
 public:
  bool test(int fd) const noexcept {
    if (fd < 0 || !any_.load(std::memory_order_relaxed)) return false;
    const auto c = static_cast<std::size_t>(fd) >> kChunkBits;
    if (c >= kChunks) {
      std::lock_guard lock(mu_);
      return far_.contains(fd);
    }
    const auto* chunk = chunks_[c].load(std::memory_order_acquire);
    return chunk != nullptr && chunk[static_cast<std::size_t>(fd) & (kChunkSize - 1)].load(
                                   std::memory_order_acquire) != 0;
  }

  void set(int fd, bool on) {
    if (fd < 0) return;
    if (on) any_.store(true, std::memory_order_relaxed);
    const auto c = static_cast<std::size_t>(fd) >> kChunkBits;
    if (c >= kChunks) {
      std::lock_guard lock(mu_);
      if (on) {
        far_.insert(fd);
      } else {
        far_.erase(fd);
      }
      return;
    }
    auto* chunk = chunks_[c].load(std::memory_order_acquire);
    if (chunk == nullptr) {
      if (!on) return;
      // Chunks are never freed, so a lock-free reader never sees one go.
      auto* fresh = new std::atomic<std::uint8_t>[kChunkSize]();  // NOLINT: immortal
      if (chunks_[c].compare_exchange_strong(chunk, fresh, std::memory_order_acq_rel)) {
        chunk = fresh;
      } else {
        delete[] fresh;  // NOLINT: lost the race; `chunk` holds the winner
      }
    }
    chunk[static_cast<std::size_t>(fd) & (kChunkSize - 1)].store(on ? 1 : 0,
                                                                 std::memory_order_release);
  }

 private:
  static constexpr int kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kChunks = 4096;  // lock-free below 2^24
  std::array<std::atomic<std::atomic<std::uint8_t>*>, kChunks> chunks_{};
  std::atomic<bool> any_{false};  // nothing was ever marked: one relaxed load
  mutable std::mutex mu_;         // only for descriptors beyond the chunks
  std::unordered_set<int> far_;
};

}  // namespace usnet::preload
