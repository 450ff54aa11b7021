// A simulated Ethernet switch joining any number of devices: it learns which port each
// source MAC lives behind and forwards unicast there; broadcast, multicast and unknown
// destinations are flooded to every other port. Each port has its own impairments (the
// scheduling of dev/impairments.h, applied on the way out of the switch to that port).
// Deterministic from its seed; reads no clock. The MAC table is bounded (oldest entry
// evicted), so a flood of made-up source addresses cannot grow it.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dev/device.h"
#include "dev/impairments.h"

namespace usnet {

struct SwitchStats {
  std::uint64_t forwarded = 0;  // frames sent to one learned port
  std::uint64_t flooded = 0;    // frames copied to every other port
  std::uint64_t dropped = 0;    // runts, oversize, or destined back to their own port
};

class MemorySwitch {
 public:
  static constexpr std::size_t kMaxMacs = 4096;

  explicit MemorySwitch(std::uint64_t seed, std::string name = "switch0",
                        std::size_t max_frame = 1514)
      : seed_(seed), name_(std::move(name)), max_frame_(max_frame) {}
  MemorySwitch(const MemorySwitch&) = delete;
  MemorySwitch& operator=(const MemorySwitch&) = delete;

  // A new port; `to_port` impairs what the switch delivers to the device on that port.
  Device& add_port(Impairments to_port = {});
  const SwitchStats& stats() const noexcept { return stats_; }
  std::size_t learned() const noexcept { return macs_.size(); }

 private:
  class Port final : public Device {
   public:
    Port(MemorySwitch& sw, std::size_t index, Impairments imp, std::uint64_t seed);
    const std::string& name() const override { return name_; }
    std::size_t max_frame_size() const override { return sw_.max_frame_; }
    std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) override;
    void transmit(Instant now, Packet frame) override;
    Instant next_deadline() const override { return to_device_.next_deadline(); }
    void deliver(Instant now, Packet frame) { to_device_.send(now, std::move(frame)); }

   private:
    MemorySwitch& sw_;
    std::size_t index_;
    std::string name_;
    Channel to_device_;
  };

  void forward(Instant now, std::size_t from, Packet frame);

  std::uint64_t seed_;
  std::string name_;
  std::size_t max_frame_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::map<std::array<std::uint8_t, 6>, std::size_t> macs_;  // MAC -> port
  std::vector<std::array<std::uint8_t, 6>> mac_order_;       // learning order, for eviction
  SwitchStats stats_;
};

}  // namespace usnet
