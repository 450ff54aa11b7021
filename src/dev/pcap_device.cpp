#include "dev/pcap_device.h"

namespace usnet {

std::size_t PcapDevice::receive(Instant now, std::vector<Packet>& out, std::size_t max) {
  const std::size_t before = out.size();
  const std::size_t n = inner_.receive(now, out, max);
  for (std::size_t i = before; i < out.size(); ++i)
    writer_.write(now, out[i].data());
  stats_.rx_packets += n;
  return n;
}

void PcapDevice::transmit(Instant now, Packet frame) {
  writer_.write(now, frame.data());
  stats_.tx_packets++;
  inner_.transmit(now, std::move(frame));
}

void PcapDevice::flush(Instant now) {
  inner_.flush(now);
  writer_.flush();
}

}  // namespace usnet
