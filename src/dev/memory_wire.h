// A simulated cable between two devices, each direction with its own impairments
// (dev/impairments.h). Deterministic from its seed; reads no clock.
#pragma once

#include <string>

#include "dev/device.h"
#include "dev/impairments.h"

namespace usnet {

class MemoryWire {
 public:
  // Frames up to `max_frame` bytes (Ethernet header included) cross; larger ones are
  // dropped and counted in the sender's tx_dropped.
  MemoryWire(Impairments a_to_b, Impairments b_to_a, std::uint64_t seed,
             const std::string& name = "wire0", std::size_t max_frame = 1514);
  MemoryWire(const MemoryWire&) = delete;
  MemoryWire& operator=(const MemoryWire&) = delete;

  Device& end_a() noexcept { return a_; }
  Device& end_b() noexcept { return b_; }
  const ChannelStats& a_to_b() const noexcept { return ab_.stats(); }
  const ChannelStats& b_to_a() const noexcept { return ba_.stats(); }

 private:
  // One end: transmit() feeds `out`, receive() drains `in`.
  class End final : public Device {
   public:
    End(std::string name, std::size_t max_frame, Channel& out, Channel& in)
        : name_(std::move(name)), max_frame_(max_frame), out_(out), in_(in) {}
    const std::string& name() const override { return name_; }
    std::size_t max_frame_size() const override { return max_frame_; }
    std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) override;
    void transmit(Instant now, Packet frame) override;
    Instant next_deadline() const override { return in_.next_deadline(); }

   private:
    std::string name_;
    std::size_t max_frame_;
    Channel& out_;
    Channel& in_;
  };

  Channel ab_;
  Channel ba_;
  End a_;
  End b_;
};

}  // namespace usnet
