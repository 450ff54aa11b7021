// Path MTUs learned from ICMP "fragmentation needed" (RFC 1191) and ICMPv6 "packet too
// big" (RFC 8201), per destination, as Linux keeps them in route exceptions
// (__ip_rt_update_pmtu, rt6_do_update_pmtu): only ever lowered by a report, forgotten after
// ip_rt_mtu_expires (10 minutes, RFC 1191 6.3 / RFC 8201 4), so that a larger path MTU is
// found again. A fixed table: an entry past its capacity replaces the one that expires
// first, so a flood of reports costs no memory.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "base/time.h"
#include "wire/addresses.h"

namespace usnet {

class PmtuCache {
 public:
  static constexpr std::size_t kCapacity = 64;
  static constexpr Duration kExpires = std::chrono::minutes(10);  // ip_rt_mtu_expires

  // The learned path MTU to `dst`, or 0 if none is known (still) valid at `now`.
  std::uint32_t lookup(const IpAddress& dst, Instant now) const noexcept {
    for (const Entry& e : entries_) {
      if (e.mtu != 0 && e.dst == dst && now < e.expires) return e.mtu;
    }
    return 0;
  }

  // A report that the path to `dst` carries only `mtu` bytes: kept if lower than what is
  // known (RFC 1191 6.3: never raised by a report), with a fresh expiry.
  void update(const IpAddress& dst, std::uint32_t mtu, Instant now) noexcept {
    Entry* slot = nullptr;
    for (Entry& e : entries_) {
      if (e.mtu != 0 && e.dst == dst && now < e.expires) {
        if (mtu >= e.mtu) return;
        slot = &e;
        break;
      }
    }
    if (slot == nullptr) {
      slot = &entries_[0];
      for (Entry& e : entries_) {
        if (e.mtu == 0 || now >= e.expires) {
          slot = &e;
          break;
        }
        if (e.expires < slot->expires) slot = &e;
      }
    }
    *slot = {dst, mtu, now + kExpires};
  }

 private:
  struct Entry {
    IpAddress dst;
    std::uint32_t mtu = 0;  // 0: free
    Instant expires{};
  };
  std::array<Entry, kCapacity> entries_{};
};

}  // namespace usnet
