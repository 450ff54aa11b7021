// Whole IPv6 packets: the fixed header re-emits to the same 40 bytes; the extension-header
// chain stays within the packet and moves forward; options stay within their header;
// fragment headers re-emit to the same bytes but the reserved ones; and every address's
// RFC 5952 text parses back to it.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/ipv6.h"
#include "wire/ipv6_ext.h"

namespace {

void check_address(const usnet::Ipv6Address& a) {
  auto back = usnet::Ipv6Address::parse(a.to_string());
  if (!back || *back != a) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  const usnet::ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  auto h = Ipv6Header::parse(in);
  if (!h) return 0;
  if (Ipv6Header::kSize + h->payload_length > size) std::abort();
  std::vector<std::byte> out(Ipv6Header::kSize);
  h->emit(out);
  if (std::memcmp(out.data(), data, out.size()) != 0) std::abort();
  check_address(h->src);
  check_address(h->dst);

  const usnet::ByteSpan packet = in.first(Ipv6Header::kSize + h->payload_length);
  Ipv6ExtWalker w(packet);
  std::size_t last = 0;
  while (w.at_extension()) {
    Ipv6ExtError err;
    auto ext = w.next(err);
    if (!ext) {
      if (err.pointer >= packet.size() && err.error != ParseError::kTruncated) std::abort();
      break;
    }
    if (ext->offset < 40 || ext->offset < last || ext->bytes.size() < 8 ||
        ext->offset + ext->bytes.size() > packet.size() || w.offset() <= ext->offset) {
      std::abort();
    }
    last = w.offset();
    if (ext->type == 0 || ext->type == 60) {
      Ipv6OptionIter it(*ext);
      while (auto o = it.next(err)) {
        if (o->offset < ext->offset + 2 ||
            o->offset + (o->type == 0 ? 1 : 2) + o->data.size() > ext->offset + ext->bytes.size())
          std::abort();
      }
    } else if (ext->type == 43) {
      auto rt = Ipv6RoutingHeader::from(*ext);
      if (rt.type_data.size() + 4 != ext->bytes.size()) std::abort();
    } else if (ext->type == 44) {
      auto f = Ipv6FragmentHeader::parse(ext->bytes);
      if (!f) std::abort();
      std::vector<std::byte> fb(8);
      f->emit(fb);
      // Byte 1 and the two bits between offset and M are reserved (RFC 8200 4.5).
      auto masked = [](usnet::ByteSpan b, std::size_t i) {
        const auto v = std::to_integer<std::uint8_t>(b[i]);
        return i == 1 ? 0 : i == 3 ? (v & 0xf9) : v;
      };
      for (std::size_t i = 0; i < 8; ++i)
        if (masked(fb, i) != masked(ext->bytes, i)) std::abort();
    }
  }
  // The walker stands behind the last header it returned, which lay within the packet.
  if (w.offset() > packet.size()) std::abort();
  return 0;
}
