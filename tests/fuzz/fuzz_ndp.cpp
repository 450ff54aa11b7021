// Neighbour discovery bodies (the input is one ICMPv6 message; the checksum is
// Icmpv6Header's and not checked here): whatever parses re-emits to the same bytes in
// every field it represents, its options lie within the message, and the option views
// re-emit to their bytes. An MLDv2 report built from the input's groups has its size.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "wire/ndp.h"

namespace {

using usnet::ByteSpan;
using usnet::MutableByteSpan;

// Whether a and b agree on bytes [from, to) under mask (applied to both).
bool same(ByteSpan a, ByteSpan b, std::size_t from, std::size_t to, std::uint8_t mask = 0xff) {
  for (std::size_t i = from; i < to; ++i)
    if ((std::to_integer<std::uint8_t>(a[i]) & mask) !=
        (std::to_integer<std::uint8_t>(b[i]) & mask))
      return false;
  return true;
}

void check_options(ByteSpan message, ByteSpan options, std::size_t base) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  if (base + options.size() != message.size()) std::abort();
  NdpOptionIter it(options, base);
  std::optional<ParseError> err;
  while (auto o = it.next(err)) {
    if (o->bytes.empty() || o->bytes.size() % 8 != 0 ||
        o->offset + o->bytes.size() > message.size())
      std::abort();
    std::vector<std::byte> out(o->bytes.size());
    if (auto mac = link_layer_address(*o)) {
      emit_link_layer_option(out, static_cast<NdpOptionType>(o->type), *mac);
      if (!same(out, o->bytes, 0, 8)) std::abort();
    }
    if (o->type == 3) {
      if (auto p = NdpPrefixInfo::parse(*o)) {
        p->emit(out);
        if (!same(out, o->bytes, 0, 3) || !same(out, o->bytes, 3, 4, 0xc0) ||
            !same(out, o->bytes, 4, 12) || !same(out, o->bytes, 16, 32))
          std::abort();
      }
    }
    if (o->type == 5) {
      if (auto m = NdpMtu::parse(*o)) {
        m->emit(out);
        if (!same(out, o->bytes, 0, 2) || !same(out, o->bytes, 4, 8)) std::abort();
      }
    }
  }
  if (err) std::abort();  // the message parsed, so its options are valid
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace usnet::wire;  // NOLINT(google-build-using-namespace)
  const ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  std::vector<std::byte> out(std::max<std::size_t>(size, 40));
  if (auto rs = NdpRouterSolicitation::parse(in)) {
    rs->emit(out);
    if (!same(out, in, 0, 2)) std::abort();
    check_options(in, rs->options, NdpRouterSolicitation::kSize);
  }
  if (auto ra = NdpRouterAdvertisement::parse(in)) {
    ra->emit(out);
    // Byte 5: M, O and the preference are kept; H, proxy and reserved bits are not.
    if (!same(out, in, 0, 2) || !same(out, in, 4, 5) || !same(out, in, 5, 6, 0xd8) ||
        !same(out, in, 6, 16))
      std::abort();
    check_options(in, ra->options, NdpRouterAdvertisement::kSize);
  }
  if (auto ns = NdpNeighborSolicitation::parse(in)) {
    ns->emit(out);
    if (!same(out, in, 0, 2) || !same(out, in, 8, 24) || ns->target.is_multicast()) std::abort();
    check_options(in, ns->options, NdpNeighborSolicitation::kSize);
  }
  if (auto na = NdpNeighborAdvertisement::parse(in)) {
    na->emit(out);
    if (!same(out, in, 0, 2) || !same(out, in, 4, 5, 0xe0) || !same(out, in, 8, 24)) std::abort();
    check_options(in, na->options, NdpNeighborAdvertisement::kSize);
  }
  if (auto r = NdpRedirect::parse(in)) {
    if (r->destination.is_multicast()) std::abort();
    check_options(in, r->options, NdpRedirect::kSize);
  }
  // Up to four groups from the input's bytes, as a report.
  std::vector<MldRecord> records;
  for (std::size_t off = 0; off + 17 <= size && records.size() < 4; off += 17)
    records.push_back({static_cast<MldRecordType>(1 + data[off] % 4),
                       usnet::Ipv6Address::from_bytes(in.subspan(off + 1))});
  std::vector<std::byte> report(mldv2_report_size(records.size()) + 1, std::byte{0xa5});
  emit_mldv2_report(MutableByteSpan(report).first(report.size() - 1), records);
  if (report.back() != std::byte{0xa5} || std::to_integer<std::size_t>(report[7]) != records.size())
    std::abort();
  return 0;
}
