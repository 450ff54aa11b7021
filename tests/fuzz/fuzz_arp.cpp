// ARP: whatever parses must emit the same 28 bytes back.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/arp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  auto p = ArpPacket::parse(usnet::ByteSpan(reinterpret_cast<const std::byte*>(data), size));
  if (!p) return 0;
  std::vector<std::byte> out(ArpPacket::kSize);
  p->emit(out);
  if (std::memcmp(out.data(), data, out.size()) != 0) std::abort();
  return 0;
}
