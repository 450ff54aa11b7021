// A FIFO of bytes in fixed-size chunks: TCP's send queue (bytes from SND.UNA on, so a
// retransmission copies from an offset) and receive queue. Appending never moves bytes
// already queued; popping frees whole chunks as they empty.
//
// Invariant: size() == sum of chunk lengths - head_; only the last chunk is partly filled
// at its end and only the first is partly consumed at its front.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>

#include "base/bytes.h"

namespace usnet {

class ByteQueue {
 public:
  static constexpr std::size_t kChunk = 16 * 1024;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void append(ByteSpan bytes);
  // Copies up to out.size() bytes starting `offset` bytes from the front; returns the count.
  std::size_t copy_out(std::size_t offset, MutableByteSpan out) const noexcept;
  // Drops n bytes from the front (n <= size()).
  void pop(std::size_t n) noexcept;
  void clear() noexcept;

 private:
  struct Chunk {
    std::unique_ptr<std::byte[]> bytes;
    std::size_t len = 0;
  };
  std::deque<Chunk> chunks_;
  std::size_t head_ = 0;  // consumed bytes of chunks_.front()
  std::size_t size_ = 0;
};

}  // namespace usnet
