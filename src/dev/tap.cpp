#include "dev/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace usnet {

Result<std::unique_ptr<TapDevice>> TapDevice::open(std::string_view name, std::size_t mtu) {
  if (name.size() >= IFNAMSIZ) return Error::kInvalidArgument;
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return errno == EACCES || errno == EPERM ? Error::kPermissionDenied : Error::kNoDevice;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    ::close(fd);
    if (err == EPERM || err == EACCES) return Error::kPermissionDenied;
    if (err == EBUSY || err == EINVAL) return Error::kAddressInUse;
    return Error::kNoDevice;
  }
  return std::unique_ptr<TapDevice>(new TapDevice(fd, ifr.ifr_name, mtu));
}

TapDevice::~TapDevice() {
  ::close(fd_);
}

std::size_t TapDevice::receive(Instant /*now*/, std::vector<Packet>& out, std::size_t max) {
  std::size_t n = 0;
  while (n < max) {
    // Room for the largest frame the kernel may hand us, plus one byte to notice a larger
    // one (counted and dropped, never truncated and passed on).
    Packet p(max_frame_size() + 1);
    auto buf = p.append(max_frame_size() + 1);
    const ssize_t r = ::read(fd_, buf.data(), buf.size());
    if (r < 0) break;  // EAGAIN: nothing more now; other errors: try again next poll
    if (static_cast<std::size_t>(r) > max_frame_size()) {
      stats_.rx_dropped++;
      continue;
    }
    p.truncate(static_cast<std::size_t>(r));
    stats_.rx_packets++;
    stats_.rx_bytes += static_cast<std::size_t>(r);
    out.push_back(std::move(p));
    ++n;
  }
  return n;
}

void TapDevice::transmit(Instant /*now*/, Packet frame) {
  if (frame.size() > max_frame_size() || pending_.size() >= kMaxPending) {
    stats_.tx_dropped++;
    return;
  }
  pending_.push_back(std::move(frame));
}

void TapDevice::flush(Instant /*now*/) {
  while (!pending_.empty()) {
    const Packet& p = pending_.front();
    const ssize_t r = ::write(fd_, p.data().data(), p.size());
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;  // keep the rest for later
    if (r < 0) {
      stats_.tx_dropped++;  // the link is down or the frame was refused
    } else {
      stats_.tx_packets++;
      stats_.tx_bytes += p.size();
    }
    pending_.pop_front();
  }
}

}  // namespace usnet
