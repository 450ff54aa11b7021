// UDP: the length field never exceeds the input; a recomputed checksum always verifies.
#include <cstdlib>
#include <vector>

#include "wire/udp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet;  // NOLINT(google-build-using-namespace)
  const Ipv4Address src = Ipv4Address::from_octets(198, 18, 0, 1);
  const Ipv4Address dst = Ipv4Address::from_octets(198, 18, 0, 2);
  std::vector<std::byte> d(reinterpret_cast<const std::byte*>(data),
                           reinterpret_cast<const std::byte*>(data) + size);
  auto h = wire::UdpHeader::parse(d, src, dst);
  if (h && h->length > size) std::abort();
  if (size < wire::UdpHeader::kSize || size > 65535) return 0;
  store_be<std::uint16_t>(d, 4, static_cast<std::uint16_t>(size));
  wire::UdpHeader::finish_checksum(d, src, dst);
  auto again = wire::UdpHeader::parse(d, src, dst);
  if (!again || again->length != size) std::abort();
  return 0;
}
