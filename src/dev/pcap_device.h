// Records every frame a device receives or transmits into a PcapWriter, then passes the
// call on. Wraps any Device; owns neither the device nor the writer (both must outlive it).
#pragma once

#include "dev/device.h"
#include "dev/pcap_writer.h"

namespace usnet {

class PcapDevice final : public Device {
 public:
  PcapDevice(Device& inner, PcapWriter& writer) : inner_(inner), writer_(writer) {}

  const std::string& name() const override { return inner_.name(); }
  std::size_t max_frame_size() const override { return inner_.max_frame_size(); }
  std::size_t max_receive_frame_size() const override { return inner_.max_receive_frame_size(); }
  std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) override;
  void transmit(Instant now, Packet frame) override;
  void flush(Instant now) override;
  Instant next_deadline() const override { return inner_.next_deadline(); }
  int pollable_fd() const override { return inner_.pollable_fd(); }

 private:
  Device& inner_;
  PcapWriter& writer_;
};

}  // namespace usnet
