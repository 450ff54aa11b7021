// TCP: a parsed header lies within the input; its options, re-emitted, parse to the same
// options (when they fit in a header).
#include <cstdlib>
#include <vector>

#include "wire/tcp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet;  // NOLINT(google-build-using-namespace)
  const Ipv4Address src = Ipv4Address::from_octets(198, 18, 0, 1);
  const Ipv4Address dst = Ipv4Address::from_octets(198, 18, 0, 2);
  const ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  auto h = wire::TcpHeader::parse(in, src, dst, /*verify_checksum=*/false);
  if (!h) return 0;
  if (h->header_length > size || h->header_length < 20) std::abort();
  if (h->options.sack_count > 4) std::abort();
  if (h->options.window_scale && *h->options.window_scale > 14) std::abort();
  if (h->size() > wire::TcpHeader::kMaxSize) return 0;  // too many options to re-emit
  std::vector<std::byte> out(h->size());
  h->emit(out);
  wire::TcpHeader::finish_checksum(out, src, dst);
  auto again = wire::TcpHeader::parse(out, src, dst);
  // An invalid Fast Open cookie (len -1: a length Linux refuses) is what a received option
  // can say, not what one sends: it is emitted as the empty option (a cookie request).
  wire::TcpOptions expected = h->options;
  if (expected.fastopen && expected.fastopen->len < 0) expected.fastopen->len = 0;
  if (!again || !(again->options == expected) || again->seq != h->seq || again->flags != h->flags) {
    std::abort();
  }
  return 0;
}
