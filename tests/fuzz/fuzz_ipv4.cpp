// IPv4: a parsed header lies within the input; re-emitted (options dropped) it parses again
// to the same fields, with a valid checksum.
#include <cstdlib>
#include <vector>

#include "wire/ipv4.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  const usnet::ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  auto h = Ipv4Header::parse(in, /*verify_checksum=*/(size & 1) == 0);
  if (!h) return 0;
  if (h->header_length < 20 || h->header_length > h->total_length || h->total_length > size) {
    std::abort();
  }
  Ipv4Header plain = *h;
  plain.header_length = 20;
  plain.total_length = static_cast<std::uint16_t>(20 + h->payload_length());
  std::vector<std::byte> out(plain.total_length);
  plain.emit(out);
  auto again = Ipv4Header::parse(out);
  if (!again || again->src != h->src || again->dst != h->dst || again->id != h->id ||
      again->fragment_offset != h->fragment_offset || again->more_fragments != h->more_fragments ||
      again->protocol != h->protocol || again->ttl != h->ttl) {
    std::abort();
  }
  return 0;
}
