#include "dev/memory_wire.h"

namespace usnet {

MemoryWire::MemoryWire(Impairments a_to_b, Impairments b_to_a, std::uint64_t seed,
                       const std::string& name, std::size_t max_frame)
    : ab_(a_to_b, seed),
      ba_(b_to_a, seed ^ 0x9e3779b97f4a7c15ULL),
      a_(name + ".a", max_frame, ab_, ba_),
      b_(name + ".b", max_frame, ba_, ab_) {}

std::size_t MemoryWire::End::receive(Instant now, std::vector<Packet>& out, std::size_t max) {
  const std::size_t before = out.size();
  const std::size_t n = in_.receive(now, out, max);
  stats_.rx_packets += n;
  for (std::size_t i = before; i < out.size(); ++i)
    stats_.rx_bytes += out[i].size();
  return n;
}

void MemoryWire::End::transmit(Instant now, Packet frame) {
  if (frame.size() > max_frame_) {
    stats_.tx_dropped++;
    return;
  }
  stats_.tx_packets++;
  stats_.tx_bytes += frame.size();
  out_.send(now, std::move(frame));
}

}  // namespace usnet
