// The narrow interface between the link layer and anything that moves frames: a memory
// wire, a switch port, a TAP device, a pcap recorder wrapped around any of these.
//
// A Device carries whole Ethernet frames (no FCS, no preamble). It never blocks and never
// reads a clock: every call gets `now` from the caller (DESIGN.md invariants 2 and 3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/packet.h"
#include "base/time.h"

namespace usnet {

// What a device counted. Names follow `ip -s link`.
struct DeviceStats {
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t rx_dropped = 0;  // arrived but could not be kept (queue full, too long)
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_dropped = 0;  // handed to transmit() but never sent (queue full, error)
};

class Device {
 public:
  virtual ~Device() = default;
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  virtual const std::string& name() const = 0;

  // Largest frame the device carries, counting the 14-byte Ethernet header (MTU + 14).
  virtual std::size_t max_frame_size() const = 0;

  // Largest frame receive() may hand up. Larger than max_frame_size() only for a device
  // that coalesces a peer's TCP segments before the stack sees them, as GRO hands Linux's
  // TCP segments of up to 64 KiB: the link and IP layers take such a frame whole, and TCP
  // treats it as the run of segments it stands for. The MSS a stack announces still comes
  // from the MTU (max_frame_size()), never from this.
  virtual std::size_t max_receive_frame_size() const { return max_frame_size(); }

  // Moves up to `max` frames that have arrived by `now` to the end of `out`; returns how
  // many. Never blocks.
  virtual std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) = 0;

  // Takes one frame to send. Never blocks: a device that cannot take it drops it and counts
  // tx_dropped. Devices may hold frames until flush() to send them in a batch.
  virtual void transmit(Instant now, Packet frame) = 0;

  // Sends what transmit() batched. The stack calls it at the end of every poll().
  virtual void flush(Instant /*now*/) {}

  // The earliest time at which receive() will have a frame that it does not have now, for
  // devices whose frames arrive on a schedule (the memory wire's delay). kNever when frames
  // arrive only from outside (then pollable_fd() says when).
  virtual Instant next_deadline() const { return kNever; }

  // A kernel descriptor that becomes readable when receive() has frames, or -1.
  virtual int pollable_fd() const { return -1; }

  const DeviceStats& stats() const noexcept { return stats_; }

 protected:
  DeviceStats stats_;
};

}  // namespace usnet
