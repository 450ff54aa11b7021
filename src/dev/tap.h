// A Linux TAP device (IFF_TAP | IFF_NO_PI): Ethernet frames to and from the kernel, which
// sees an interface it can address, ping and route to. Non-blocking; frames are read in
// batches and written in batches at flush().
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "dev/device.h"

namespace usnet {

class TapDevice final : public Device {
 public:
  // At most this many frames wait for flush(); past it, frames are dropped and counted,
  // so a stalled kernel side cannot grow memory without bound.
  static constexpr std::size_t kMaxPending = 1024;

  // Opens (creating if needed) the TAP `name`; empty lets the kernel choose (tapN).
  // `mtu` is the IP MTU the interface carries. Needs CAP_NET_ADMIN: kPermissionDenied
  // without it, kNoDevice without /dev/net/tun, kAddressInUse if the name is taken by a
  // device that is not a free TAP.
  static Result<std::unique_ptr<TapDevice>> open(std::string_view name, std::size_t mtu);
  ~TapDevice() override;

  const std::string& name() const override { return name_; }
  std::size_t max_frame_size() const override { return mtu_ + 14; }
  std::size_t receive(Instant now, std::vector<Packet>& out, std::size_t max) override;
  void transmit(Instant now, Packet frame) override;
  void flush(Instant now) override;
  int pollable_fd() const override { return fd_; }

 private:
  TapDevice(int fd, std::string name, std::size_t mtu)
      : fd_(fd), name_(std::move(name)), mtu_(mtu) {}
  int fd_;
  std::string name_;
  std::size_t mtu_;
  std::deque<Packet> pending_;
};

}  // namespace usnet
