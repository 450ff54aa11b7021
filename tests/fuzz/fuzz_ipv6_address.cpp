// IPv6 address text against glibc: Ipv6Address::parse accepts exactly what
// inet_pton(AF_INET6) accepts, to the same bytes, and to_string prints what inet_ntop
// prints, except for the deprecated IPv4-compatible form (::a.b.c.d) that glibc still
// prints for ::/96 and usnet does not (RFC 4291 2.5.5.1, RFC 5952 5).
#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "wire/ipv6.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // inet_pton reads a C string: text with a NUL in it is not comparable.
  if (size > 64 || std::memchr(data, 0, size) != nullptr) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto a = usnet::Ipv6Address::parse(text);
  std::uint8_t ref[16];
  const bool glibc = inet_pton(AF_INET6, text.c_str(), ref) == 1;
  if (a.has_value() != glibc) std::abort();
  if (!a) return 0;
  if (std::memcmp(a->bytes.data(), ref, 16) != 0) std::abort();
  const std::string ours = a->to_string();
  auto back = usnet::Ipv6Address::parse(ours);
  if (!back || *back != *a) std::abort();
  bool compat = true;
  for (int i = 0; i < 12; ++i)
    compat = compat && a->bytes[static_cast<std::size_t>(i)] == 0;
  char theirs[INET6_ADDRSTRLEN];
  if (!compat && (inet_ntop(AF_INET6, ref, theirs, sizeof theirs) == nullptr || ours != theirs))
    std::abort();
  return 0;
}
