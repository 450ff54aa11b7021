// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, the pseudo-random
// function F of RFC 6528 (TCP initial sequence numbers) and of SYN cookies (RFC 4987).
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"

namespace usnet {

using SipKey = std::array<std::uint64_t, 2>;

std::uint64_t siphash24(const SipKey& key, ByteSpan data) noexcept;

}  // namespace usnet
