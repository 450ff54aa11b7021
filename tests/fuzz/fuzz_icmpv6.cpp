// ICMPv6: the first 32 bytes are the source and destination of the pseudo-header, the rest
// the message. A message that parses has a valid checksum, which recomputing preserves; one
// that does not, once its checksum is computed, parses.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/icmpv6.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  if (size < 32) return 0;
  const usnet::ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  const auto src = usnet::Ipv6Address::from_bytes(in);
  const auto dst = usnet::Ipv6Address::from_bytes(in.subspan(16));
  std::vector<std::byte> msg(in.begin() + 32, in.end());
  auto h = Icmpv6Header::parse(msg, src, dst);
  if (!h) {
    if (msg.size() < Icmpv6Header::kSize) return 0;
    Icmpv6Header::finish_checksum(msg, src, dst);
    if (!Icmpv6Header::parse(msg, src, dst)) std::abort();
    return 0;
  }
  if (is_icmpv6_error(h->type) != (data[32] < 128)) std::abort();
  h->emit(msg);
  Icmpv6Header::finish_checksum(msg, src, dst);
  // 0x0000 and 0xffff are the same checksum; anything else must match exactly.
  if (std::memcmp(msg.data(), data + 32, msg.size()) != 0 &&
      !(data[34] == 0xff && data[35] == 0xff)) {
    std::abort();
  }
  if (!Icmpv6Header::parse(msg, src, dst)) std::abort();
  return 0;
}
