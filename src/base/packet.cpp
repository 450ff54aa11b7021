#include "base/packet.h"

#include <algorithm>
#include <cstring>

namespace usnet {

Packet Packet::copy_of(ByteSpan bytes, std::size_t headroom) {
  Packet p(bytes.size(), headroom);
  p.append(bytes);
  return p;
}

Packet Packet::clone() const {
  Packet p = copy_of(data(), head_);
  p.ifindex = ifindex;
  return p;
}

MutableByteSpan Packet::push(std::size_t n) {
  if (n > head_) {
    // Rare: a caller built the packet with too little headroom. Move the data back once,
    // leaving the default headroom in front of the new header.
    const std::size_t grow = n - head_ + kDefaultHeadroom;
    buf_.insert(buf_.begin(), grow, std::byte{0});
    head_ += grow;
    tail_ += grow;
  }
  head_ -= n;
  return {buf_.data() + head_, n};
}

MutableByteSpan Packet::append(std::size_t n) {
  if (tailroom() < n) buf_.resize(tail_ + n);
  tail_ += n;
  return {buf_.data() + tail_ - n, n};
}

void Packet::append(ByteSpan bytes) {
  auto dst = append(bytes.size());
  if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
}

}  // namespace usnet
