// Ethernet II / 802.1Q: whatever parses must emit the same header bytes back.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/ethernet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  const usnet::ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  auto h = EthernetHeader::parse(in);
  if (!h) return 0;
  if (h->size() > size) std::abort();
  std::vector<std::byte> out(h->size());
  h->emit(out);
  if (std::memcmp(out.data(), data, out.size()) != 0) std::abort();
  return 0;
}
