// DNS answers (src/preload/dns_message.h), every byte from the wire untrusted. Two ways in:
// the input as a whole message, and the input as the records that follow a question this
// harness asked (so the parser gets past the ID and question checks and into the records,
// compression pointers and CNAME chains). Invariants: names stay within RFC 1035's bounds,
// records come only for the chain's end, and a query this code encodes, answered empty, is
// accepted as the answer to itself.
#include <cstdlib>
#include <string>
#include <vector>

#include "preload/dns_message.h"

namespace {

using namespace usnet::dns;  // NOLINT(google-build-using-namespace)

void check(const ParseResult& r) {
  if (!r.answer) return;
  if (r.answer->canonical.size() > kMaxName) std::abort();
  for (const auto& p : r.answer->ptr) {
    if (p.size() > kMaxName) std::abort();
  }
  if (r.answer->canonical.empty() &&
      (!r.answer->a.empty() || !r.answer->aaaa.empty() || !r.answer->ptr.empty())) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* b = reinterpret_cast<const std::byte*>(data);
  const usnet::ByteSpan whole(b, size);
  check(parse_answer(whole, 0x1234, "www.example.test", kTypeA));

  if (size >= 2) {
    static constexpr std::uint16_t kTypes[] = {kTypeA, kTypeAaaa, kTypePtr, kTypeCname};
    const std::uint16_t qtype = kTypes[data[0] % 4];
    auto msg = encode_query(0x1234, "www.example.test", qtype);
    if (!msg) std::abort();
    (*msg)[2] |= std::byte{0x80};    // QR: an answer
    (*msg)[7] = std::byte{data[1]};  // ANCOUNT
    msg->insert(msg->end(), b + 2, b + size);
    check(parse_answer(*msg, 0x1234, "www.example.test", qtype));
  }

  // The input as a name: a query for it, answered with no records, parses as its answer.
  const std::string name(reinterpret_cast<const char*>(data), size);
  if (auto q = encode_query(7, name, kTypeA)) {
    (*q)[2] |= std::byte{0x80};
    const auto r = parse_answer(*q, 7, name, kTypeA);
    bool plain = true;
    for (char c : name)
      plain = plain && c > ' ' && c < 0x7F;
    if (plain && (!r.answer || r.answer->canonical != normalize_name(name))) std::abort();
  }
  return 0;
}
