// Why a header was refused. Each layer maps these to its own drop counter.
#pragma once

#include <cstdint>

#include "base/result.h"

namespace usnet::wire {

enum class ParseError : std::uint8_t {
  kTruncated,        // fewer bytes than the fixed header or than a length field claims
  kBadVersion,       // IP version field is not the one expected
  kBadHeaderLength,  // IHL/data offset below the minimum or beyond the packet
  kBadLength,        // a length field is impossible (e.g. IPv4 total length < IHL)
  kBadChecksum,
  kUnsupported,  // well-formed, but a kind this view does not handle (ARP over non-IPv4)
  kMalformed,    // any other impossible field value (bad option length, ...)
};

template <typename T>
using Parsed = Result<T, ParseError>;

}  // namespace usnet::wire
