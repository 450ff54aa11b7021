#include "dev/memory_switch.h"

#include <algorithm>
#include <cstring>

namespace usnet {

MemorySwitch::Port::Port(MemorySwitch& sw, std::size_t index, Impairments imp, std::uint64_t seed)
    : sw_(sw),
      index_(index),
      name_(sw.name_ + ".p" + std::to_string(index)),
      to_device_(imp, seed) {}

std::size_t MemorySwitch::Port::receive(Instant now, std::vector<Packet>& out, std::size_t max) {
  const std::size_t n = to_device_.receive(now, out, max);
  stats_.rx_packets += n;
  return n;
}

void MemorySwitch::Port::transmit(Instant now, Packet frame) {
  stats_.tx_packets++;
  stats_.tx_bytes += frame.size();
  sw_.forward(now, index_, std::move(frame));
}

Device& MemorySwitch::add_port(Impairments to_port) {
  const std::size_t index = ports_.size();
  // Each port's impairments draw from their own stream, derived from the switch seed.
  const std::uint64_t seed = seed_ ^ (0x9e3779b97f4a7c15ULL * (index + 1));
  ports_.push_back(std::make_unique<Port>(*this, index, to_port, seed));
  return *ports_.back();
}

void MemorySwitch::forward(Instant now, std::size_t from, Packet frame) {
  if (frame.size() < 14 || frame.size() > max_frame_) {
    stats_.dropped++;
    return;
  }
  std::array<std::uint8_t, 6> dst{};
  std::array<std::uint8_t, 6> src{};
  std::memcpy(dst.data(), frame.data().data(), 6);
  std::memcpy(src.data(), frame.data().data() + 6, 6);
  // Learn the source (never a group address, which no port owns).
  if ((src[0] & 1) == 0) {
    auto [it, inserted] = macs_.insert_or_assign(src, from);
    if (inserted) {
      mac_order_.push_back(src);
      if (macs_.size() > kMaxMacs) {
        macs_.erase(mac_order_.front());
        mac_order_.erase(mac_order_.begin());
      }
    }
  }
  if ((dst[0] & 1) == 0) {
    auto it = macs_.find(dst);
    if (it != macs_.end()) {
      if (it->second == from) {
        stats_.dropped++;  // the destination is on the port it came from
        return;
      }
      stats_.forwarded++;
      ports_[it->second]->deliver(now, std::move(frame));
      return;
    }
  }
  stats_.flooded++;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    if (i != from) ports_[i]->deliver(now, frame.clone());
  }
}

}  // namespace usnet
