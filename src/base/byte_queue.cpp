#include "base/byte_queue.h"

#include <algorithm>
#include <cstring>

namespace usnet {

void ByteQueue::append(ByteSpan bytes) {
  while (!bytes.empty()) {
    if (chunks_.empty() || chunks_.back().len == kChunk) {
      chunks_.push_back(Chunk{std::make_unique_for_overwrite<std::byte[]>(kChunk), 0});
    }
    Chunk& c = chunks_.back();
    const std::size_t n = std::min(bytes.size(), kChunk - c.len);
    std::memcpy(c.bytes.get() + c.len, bytes.data(), n);
    c.len += n;
    size_ += n;
    bytes = bytes.subspan(n);
  }
}

std::size_t ByteQueue::copy_out(std::size_t offset, MutableByteSpan out) const noexcept {
  if (offset >= size_) return 0;
  std::size_t want = std::min(out.size(), size_ - offset);
  std::size_t pos = offset + head_;  // position counted from the front of chunks_[0]
  std::size_t i = pos / kChunk;      // every chunk but the last is full
  pos %= kChunk;
  std::size_t done = 0;
  while (want > 0) {
    const Chunk& c = chunks_[i];
    const std::size_t n = std::min(want, c.len - pos);
    std::memcpy(out.data() + done, c.bytes.get() + pos, n);
    done += n;
    want -= n;
    pos = 0;
    ++i;
  }
  return done;
}

void ByteQueue::pop(std::size_t n) noexcept {
  n = std::min(n, size_);
  size_ -= n;
  head_ += n;
  while (!chunks_.empty() && head_ >= chunks_.front().len &&
         (chunks_.front().len == kChunk || size_ == 0)) {
    head_ -= chunks_.front().len;
    chunks_.pop_front();
  }
  if (chunks_.empty()) head_ = 0;
}

void ByteQueue::clear() noexcept {
  chunks_.clear();
  head_ = 0;
  size_ = 0;
}

}  // namespace usnet
