#include "dev/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "wire/checksum.h"

namespace usnet {
namespace {

// struct virtio_net_hdr (the virtio 1.x spec, 5.1.6; <linux/virtio_net.h>, which does not
// compile as C++: a member is named `class`), in the device's byte order, which for a TAP
// without TUNSETVNETBE is the host's on little-endian machines (the 10-byte legacy layout).
struct VnetHeader {
  std::uint8_t flags;
  std::uint8_t gso_type;
  std::uint16_t hdr_len;
  std::uint16_t gso_size;
  std::uint16_t csum_start;
  std::uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr std::uint8_t kVnetNeedsCsum = 1;
constexpr std::uint8_t kVnetGsoTcpv4 = 1;
constexpr std::uint8_t kVnetGsoTcpv6 = 4;
constexpr std::uint8_t kVnetGsoEcn = 0x80;

// The kernel left the transport checksum partial (kVnetNeedsCsum, the
// CHECKSUM_PARTIAL of its sk_buff): the field at csum_start + csum_offset holds the
// pseudo-header sum, and the one's-complement sum from csum_start to the end completes it.
// Returns false for offsets that do not fit the frame (the frame is dropped).
bool complete_checksum(MutableByteSpan frame, const VnetHeader& h) {
  const std::size_t start = h.csum_start;
  const std::size_t field = start + h.csum_offset;
  if (start >= frame.size() || field + 2 > frame.size()) return false;
  const std::uint16_t c = wire::checksum(frame.subspan(start));
  frame[field] = static_cast<std::byte>(c >> 8);
  frame[field + 1] = static_cast<std::byte>(c & 0xff);
  return true;
}

bool coalesced_tcp(const VnetHeader& h) {
  const unsigned type = h.gso_type & ~static_cast<unsigned>(kVnetGsoEcn);
  return type == kVnetGsoTcpv4 || type == kVnetGsoTcpv6;
}

}  // namespace

Result<std::unique_ptr<TapDevice>> TapDevice::open(std::string_view name, std::size_t mtu,
                                                   TapOffload offload) {
  if (name.size() >= IFNAMSIZ) return Error::kInvalidArgument;
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return errno == EACCES || errno == EPERM ? Error::kPermissionDenied : Error::kNoDevice;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (offload == TapOffload::kReceiveCoalesced) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    ::close(fd);
    if (err == EPERM || err == EACCES) return Error::kPermissionDenied;
    if (err == EBUSY || err == EINVAL) return Error::kAddressInUse;
    return Error::kNoDevice;
  }
  if (offload == TapOffload::kReceiveCoalesced) {
    // What a virtio NIC offers: partial checksums and TCP segmentation both ways. usnet never
    // asks the kernel to segment or checksum what it sends (its headers are empty), so this
    // only changes what arrives. TUN_F_TSO_ECN: a coalesced frame may carry CWR.
    const int sz = sizeof(VnetHeader);
    const unsigned features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (::ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 || ::ioctl(fd, TUNSETOFFLOAD, features) < 0) {
      ::close(fd);
      return Error::kOperationNotSupported;
    }
  }
  return std::unique_ptr<TapDevice>(new TapDevice(fd, ifr.ifr_name, mtu, offload));
}

TapDevice::TapDevice(int fd, std::string name, std::size_t mtu, TapOffload offload)
    : fd_(fd), name_(std::move(name)), mtu_(mtu), offload_(offload) {
  if (offload_ == TapOffload::kReceiveCoalesced) {
    overflow_.resize(kMaxCoalescedFrame - max_frame_size() + 1);
  }
}

TapDevice::~TapDevice() {
  ::close(fd_);
}

Packet TapDevice::read_vnet_frame(bool& again) {
  VnetHeader h{};
  const std::size_t first = max_frame_size();
  Packet p(first);
  auto buf = p.append(first);
  std::array<iovec, 3> iov{
      {{&h, sizeof(h)}, {buf.data(), buf.size()}, {overflow_.data(), overflow_.size()}}};
  const ssize_t r = ::readv(fd_, iov.data(), static_cast<int>(iov.size()));
  if (r < 0) {
    again = false;  // EAGAIN: nothing more now; other errors: try again next poll
    return {};
  }
  again = true;
  if (static_cast<std::size_t>(r) < sizeof(h)) {
    stats_.rx_dropped++;
    return {};
  }
  const std::size_t len = static_cast<std::size_t>(r) - sizeof(h);
  if (len > first) {
    // Only a coalesced TCP frame may pass the MTU; one byte into the overflow beyond the
    // largest GSO frame means a frame larger still (never truncated and passed on).
    if (!coalesced_tcp(h) || len > kMaxCoalescedFrame) {
      stats_.rx_dropped++;
      return {};
    }
    Packet big(len);
    big.append(buf);
    big.append(ByteSpan(overflow_.data(), len - first));
    p = std::move(big);
    rx_coalesced_++;
  } else {
    p.truncate(len);
  }
  if ((h.flags & kVnetNeedsCsum) != 0) {
    if (!complete_checksum(p.data(), h)) {
      stats_.rx_dropped++;
      return {};
    }
    rx_csum_completed_++;
  }
  return p;
}

std::size_t TapDevice::receive(Instant /*now*/, std::vector<Packet>& out, std::size_t max) {
  std::size_t n = 0;
  while (n < max) {
    Packet p;
    if (offload_ == TapOffload::kReceiveCoalesced) {
      bool again = false;
      p = read_vnet_frame(again);
      if (!again) break;
      if (p.empty()) continue;
    } else {
      // Room for the largest frame the kernel may hand us, plus one byte to notice a larger
      // one (counted and dropped, never truncated and passed on).
      p = Packet(max_frame_size() + 1);
      auto buf = p.append(max_frame_size() + 1);
      const ssize_t r = ::read(fd_, buf.data(), buf.size());
      if (r < 0) break;  // EAGAIN: nothing more now; other errors: try again next poll
      if (static_cast<std::size_t>(r) > max_frame_size()) {
        stats_.rx_dropped++;
        continue;
      }
      p.truncate(static_cast<std::size_t>(r));
    }
    stats_.rx_packets++;
    stats_.rx_bytes += p.size();
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
  // With IFF_VNET_HDR every frame written needs a header: an empty one (no checksum or
  // segmentation asked of the kernel).
  VnetHeader none{};
  const bool vnet = offload_ == TapOffload::kReceiveCoalesced;
  while (!pending_.empty()) {
    const Packet& p = pending_.front();
    std::array<iovec, 2> iov{
        {{&none, sizeof(none)}, {const_cast<std::byte*>(p.data().data()), p.size()}}};
    const ssize_t r = vnet ? ::writev(fd_, iov.data(), 2) : ::write(fd_, p.data().data(), p.size());
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
