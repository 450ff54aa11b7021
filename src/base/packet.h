// The one packet type (STYLE habit 6). A Packet owns its bytes in a single buffer with room
// in front, so each layer on the way down pushes its header without copying the payload,
// and each layer on the way up pulls its header off.
//
// Invariants:
//   head_ <= tail_ <= buf_.size()
//   data() is buf_[head_, tail_): the bytes of the outermost header still present and all
//   that follows it. Bytes outside that range are scratch and carry no meaning.
//   A Packet is move-only; clone() is the one, explicit, way to copy (duplication on a
//   simulated wire, retransmission queues).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.h"

namespace usnet {

class Packet {
 public:
  // Ethernet (14) + 802.1Q (4) + IPv6 (40) + TCP with options (60) = 118: every header a
  // send path pushes fits in front without moving the payload.
  static constexpr std::size_t kDefaultHeadroom = 128;

  Packet() = default;
  // An empty packet ready to take `payload` bytes with `headroom` bytes of headers in front.
  explicit Packet(std::size_t payload_capacity, std::size_t headroom = kDefaultHeadroom)
      : buf_(headroom + payload_capacity), head_(headroom), tail_(headroom) {}

  static Packet copy_of(ByteSpan bytes, std::size_t headroom = kDefaultHeadroom);

  Packet(Packet&&) noexcept = default;
  Packet& operator=(Packet&&) noexcept = default;
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;

  Packet clone() const;

  MutableByteSpan data() noexcept { return {buf_.data() + head_, tail_ - head_}; }
  ByteSpan data() const noexcept { return {buf_.data() + head_, tail_ - head_}; }
  std::size_t size() const noexcept { return tail_ - head_; }
  bool empty() const noexcept { return head_ == tail_; }
  std::size_t headroom() const noexcept { return head_; }
  std::size_t tailroom() const noexcept { return buf_.size() - tail_; }

  // Makes room for an n-byte header in front and returns it (uninitialised bytes). Grows the
  // buffer if the headroom is short, so a caller never has to check.
  MutableByteSpan push(std::size_t n);
  // Drops n bytes from the front (a parsed header). Precondition: n <= size().
  void pull(std::size_t n) noexcept { head_ += n; }
  // Gives back n bytes that an earlier pull() took, unchanged: the IP layer pulls its header
  // before delivering to a transport, and a transport that must quote the datagram in an
  // ICMP error (port unreachable) unpulls it. Precondition: the last n pulled bytes have not
  // been overwritten by push() since.
  void unpull(std::size_t n) noexcept { head_ -= n; }
  // Adds n bytes at the end and returns them (uninitialised).
  MutableByteSpan append(std::size_t n);
  void append(ByteSpan bytes);
  // Shortens the packet to n bytes (e.g. Ethernet padding past the IP total length).
  // Precondition: n <= size().
  void truncate(std::size_t n) noexcept { tail_ = head_ + n; }

  // Metadata that travels with the packet inside one stack; never written to the wire.
  std::uint32_t ifindex = 0;  // interface it arrived on or leaves through
  // On receive: the link-layer header's length, pulled before the network header (Linux
  // skb_mac_header_len); 0 where there is none (loopback). TCP_SAVE_SYN 2 saves it.
  std::uint16_t mac_len = 0;

 private:
  std::vector<std::byte> buf_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace usnet
