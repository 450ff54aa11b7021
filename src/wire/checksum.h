// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// The sum is kept as a 32/64-bit accumulator of 16-bit big-endian words and folded at the
// end; summing wide words is valid because one's-complement addition is associative and
// byte-order independent (RFC 1071 section 2, (B) and (C)).
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "wire/addresses.h"

namespace usnet::wire {

// Adds `bytes` to a running 32-bit partial sum. `sum` must come from a previous call on data
// that ended at an even offset (all headers do), or be 0.
std::uint32_t checksum_partial(ByteSpan bytes, std::uint32_t sum = 0) noexcept;

// The reference byte loop from RFC 1071, kept for the tests and the benchmark.
std::uint32_t checksum_partial_naive(ByteSpan bytes, std::uint32_t sum = 0) noexcept;

// Folds a partial sum to 16 bits and complements it: the value to store in a header.
std::uint16_t checksum_finish(std::uint32_t sum) noexcept;

inline std::uint16_t checksum(ByteSpan bytes) noexcept {
  return checksum_finish(checksum_partial(bytes));
}

// Partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 section 3.1).
std::uint32_t pseudo_header_sum_v4(Ipv4Address src, Ipv4Address dst, std::uint8_t protocol,
                                   std::uint32_t length) noexcept;

// Partial sum of the pseudo-header of either family: IPv4's above, or IPv6's (RFC 8200
// 8.1: source, destination, the upper-layer length as 32 bits, next header). Precondition:
// src and dst are of one family.
std::uint32_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                std::uint32_t length) noexcept;

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for a 16-bit field changing from m to m'.
std::uint16_t checksum_update16(std::uint16_t old_checksum, std::uint16_t old_word,
                                std::uint16_t new_word) noexcept;
std::uint16_t checksum_update32(std::uint16_t old_checksum, std::uint32_t old_value,
                                std::uint32_t new_value) noexcept;

}  // namespace usnet::wire
