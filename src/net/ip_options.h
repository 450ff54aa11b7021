// IPv4 options on input (RFC 791 3.1), judged as Linux's ip_options_compile and
// ip_rcv_options judge the options of a datagram for this host: a malformed option is
// answered with ICMP Parameter Problem pointing at the offending byte (RFC 1122 3.2.2.5),
// and a source route (LSRR, SSRR) is refused by a host that does not route
// (net.ipv4.conf.*.accept_source_route 0). The options are not acted on otherwise: a host
// that is the final destination has nothing to record (RFC 1122 3.2.1.8).
#pragma once

#include <cstdint>

#include "base/bytes.h"

namespace usnet {

struct IpOptionsVerdict {
  enum class Kind : std::uint8_t {
    kOk,
    kMalformed,    // answer with Parameter Problem at `pointer`, drop (IpInHdrErrors)
    kSourceRoute,  // drop silently
  };
  Kind kind = Kind::kOk;
  std::uint8_t pointer = 0;  // offset of the offending byte from the start of the header
};

// `header` is the whole IPv4 header, options included (its length already checked).
IpOptionsVerdict ip_options_check(ByteSpan header) noexcept;

}  // namespace usnet
