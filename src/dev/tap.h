// A Linux TAP device (IFF_TAP | IFF_NO_PI): Ethernet frames to and from the kernel, which
// sees an interface it can address, ping and route to. Non-blocking; frames are read in
// batches and written in batches at flush().
//
// With TapOffload::kReceiveCoalesced the device is opened with IFF_VNET_HDR and tells the
// kernel (TUNSETOFFLOAD) that it takes partial checksums and TCP segmentation offload, as a
// virtio NIC does: the kernel's TCP then hands over up to 64 KiB of a connection's data in
// one frame (a GSO frame) instead of MTU-sized segments, which is what GRO gives Linux's own
// receive path. Every frame then carries a struct virtio_net_hdr in front; the device
// completes the checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM), so that the
// stack verifies every checksum as it does for any frame, and frames it sends carry an empty
// header (no offload asked of the kernel: usnet segments and checksums itself).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dev/device.h"

namespace usnet {

enum class TapOffload : std::uint8_t {
  kNone,              // plain frames, at most MTU + 14 bytes each way
  kReceiveCoalesced,  // IFF_VNET_HDR + TSO from the kernel: received frames up to 64 KiB
};

class TapDevice final : public Device {
 public:
  // At most this many frames wait for flush(); past it, frames are dropped and counted,
  // so a stalled kernel side cannot grow memory without bound.
  static constexpr std::size_t kMaxPending = 1024;
  // The largest GSO frame the kernel hands a TAP: an IP datagram of 65535 bytes and its
  // Ethernet header.
  static constexpr std::size_t kMaxCoalescedFrame = 65535 + 14;

  // Opens (creating if needed) the TAP `name`; empty lets the kernel choose (tapN).
  // `mtu` is the IP MTU the interface carries. Needs CAP_NET_ADMIN: kPermissionDenied
  // without it, kNoDevice without /dev/net/tun, kAddressInUse if the name is taken by a
  // device that is not a free TAP; kOperationNotSupported if the kernel refuses the
  // offload asked for.
  static Result<std::unique_ptr<TapDevice>> open(std::string_view name, std::size_t mtu,
                                                 TapOffload offload = TapOffload::kNone);
  ~TapDevice() override;

  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return mtu_ + 14; }
  std::size_t max_receive_frame_size() const override {
    return offload_ == TapOffload::kReceiveCoalesced ? kMaxCoalescedFrame : max_frame_size();
  }
  std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) override;
  void transmit(Instant now, Packet frame) override;
  void flush(Instant now) override;
  int pollable_fd() const override { return fd_; }

  // Frames that arrived coalesced (larger than the MTU) and checksums completed for the
  // kernel: what the offload did, for tests and `usnet stats`.
  std::uint64_t rx_coalesced() const noexcept { return rx_coalesced_; }
  std::uint64_t rx_csum_completed() const noexcept { return rx_csum_completed_; }

 private:
  TapDevice(int fd, std::string name, std::size_t mtu, TapOffload offload);
  // One read with a virtio_net_hdr in front: the frame, or an empty packet to drop.
  Packet read_vnet_frame(bool& again);
  int fd_;
  std::string name_;
  std::size_t mtu_;
  TapOffload offload_;
  std::deque<Packet> pending_;
  // Where a coalesced frame's bytes past the first max_frame_size() land (readv's third
  // buffer), so that ordinary frames are read straight into a packet of ordinary size and
  // only a large one is copied once into a packet of its own size. Empty without offload.
  std::vector<std::byte> overflow_;
  std::uint64_t rx_coalesced_ = 0;
  std::uint64_t rx_csum_completed_ = 0;
};

}  // namespace usnet
