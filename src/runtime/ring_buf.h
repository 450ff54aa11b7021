// Provided-buffer rings (io_uring's IORING_REGISTER_PBUF_RING): buffers the application
// lends to one group of recv operations, so memory is committed only when data arrives.
//
// A single-producer/single-consumer ring like the SQ:
//   producer: the application writes slots past the tail (usnet_buf_ring_add), then
//             publishes them with a release store of `tail` (usnet_buf_ring_advance);
//   consumer: the ring core, under the ring lock, loads `tail` with acquire and takes the
//             slot at `head` (private to it).
// The application only re-adds buffers a CQE gave back, so it never has more than `entries`
// in the ring and never writes a slot the core has yet to read.
// A recv that took a buffer and found no data after all (a spurious wake-up) hands it back
// to `stash`, which is taken from first: the buffer stays the ring's, as io_uring recycles
// it, and the application cannot tell.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace usnet {

struct BufSlot {
  std::uint64_t addr = 0;
  std::uint32_t len = 0;
  std::uint16_t bid = 0;
};

}  // namespace usnet

// Completes the C header's opaque type.
struct usnet_buf_ring {
  usnet_buf_ring(unsigned entries, std::uint16_t bgid)
      : slots(entries), mask(entries - 1), group(bgid) {}

  std::vector<usnet::BufSlot> slots;
  const unsigned mask;
  const std::uint16_t group;
  alignas(64) std::atomic<unsigned> tail{0};  // application writes (release)
  alignas(64) unsigned head = 0;              // core only, ring lock
  std::vector<usnet::BufSlot> stash;          // core only, ring lock
};
