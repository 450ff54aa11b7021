// ICMPv4: a message that parses has a valid checksum, which recomputing must preserve.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/icmpv4.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  std::vector<std::byte> msg(reinterpret_cast<const std::byte*>(data),
                             reinterpret_cast<const std::byte*>(data) + size);
  if (!IcmpHeader::parse(msg)) {
    // Make it valid, and it must then parse.
    if (size < IcmpHeader::kSize) return 0;
    IcmpHeader::finish_checksum(msg);
    if (!IcmpHeader::parse(msg)) std::abort();
    return 0;
  }
  auto h = IcmpHeader::parse(msg);
  h->emit(msg);
  IcmpHeader::finish_checksum(msg);
  if (std::memcmp(msg.data(), data, 4) != 0 && !(data[2] == 0xff && data[3] == 0xff)) {
    // 0x0000 and 0xffff are the same checksum; anything else must match exactly.
    std::abort();
  }
  return 0;
}
