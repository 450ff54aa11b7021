#include "preload/dns_message.h"

#include <algorithm>

namespace usnet::dns {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Reads the (possibly compressed) name at `*pos` into `out` (dotted, lowercase, no final
// dot) and moves `*pos` past it in the message. False if the name breaks RFC 1035 4.1.4:
// a label runs past the end, a pointer points forward or at itself (the only way a loop
// can form), the name exceeds 255 octets, or a label type other than 00 or 11 appears.
bool read_name(ByteSpan msg, std::size_t* pos, std::string* out) {
  out->clear();
  std::size_t p = *pos;
  std::size_t wire_len = 0;  // octets the name would take uncompressed
  bool jumped = false;
  for (;;) {
    if (p >= msg.size()) return false;
    const std::uint8_t len = load_u8(msg, p);
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= msg.size()) return false;
      const std::size_t target = load_be<std::uint16_t>(msg, p) & 0x3FFF;
      // Strictly backwards: every jump lowers p, so the walk ends.
      if (target >= p) return false;
      if (!jumped) *pos = p + 2;
      jumped = true;
      p = target;
      continue;
    }
    if ((len & 0xC0) != 0) return false;  // 01 and 10: extended/reserved (RFC 6891 5)
    wire_len += 1 + len;
    if (wire_len > kMaxName) return false;
    if (len == 0) {
      if (!jumped) *pos = p + 1;
      return true;
    }
    if (p + 1 + len > msg.size()) return false;
    if (!out->empty()) out->push_back('.');
    for (std::size_t i = 0; i < len; ++i) {
      const std::uint8_t c = load_u8(msg, p + 1 + i);
      // A dot inside a label would let a label pass for two; control and non-ASCII octets
      // are in no host name (RFC 952, RFC 1123 2.1), so the names compared and handed to
      // programs stay plain text.
      if (c == '.' || c <= ' ' || c >= 0x7F) return false;
      out->push_back(lower(static_cast<char>(c)));
    }
    p += 1 + len;
  }
}

struct Record {
  std::string name;
  std::uint16_t type;
  std::uint16_t klass;
  std::uint32_t ttl;
  std::size_t rdata;  // offset of RDATA in the message
  std::uint16_t rdlength;
};

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

const char* parse_error_name(ParseError e) {
  switch (e) {
    case ParseError::kTooShort:
      return "message too short";
    case ParseError::kNotAnAnswer:
      return "not an answer to a query";
    case ParseError::kWrongId:
      return "wrong ID";
    case ParseError::kWrongQuestion:
      return "answer to another question";
    case ParseError::kBadName:
      return "malformed name";
    case ParseError::kBadRecord:
      return "malformed record";
  }
  return "?";
}

std::optional<std::vector<std::byte>> encode_query(std::uint16_t id, std::string_view name,
                                                   std::uint16_t qtype) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return std::nullopt;
  std::vector<std::byte> q(kHeaderSize);
  store_be<std::uint16_t>(q, 0, id);
  store_be<std::uint16_t>(q, 2, 0x0100);  // QR=0 OPCODE=QUERY RD=1 (RFC 1035 4.1.1)
  store_be<std::uint16_t>(q, 4, 1);       // QDCOUNT
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t dot = std::min(name.find('.', start), name.size());
    const std::size_t len = dot - start;
    if (len == 0 || len > kMaxLabel) return std::nullopt;
    q.push_back(static_cast<std::byte>(len));
    for (std::size_t i = start; i < dot; ++i)
      q.push_back(static_cast<std::byte>(name[i]));
    start = dot + 1;
  }
  q.push_back(std::byte{0});
  if (q.size() - kHeaderSize > kMaxName) return std::nullopt;
  const std::size_t at = q.size();
  q.resize(at + 4);
  store_be<std::uint16_t>(q, at, qtype);
  store_be<std::uint16_t>(q, at + 2, kClassIn);
  return q;
}

ParseResult parse_answer(ByteSpan msg, std::uint16_t id, std::string_view name,
                         std::uint16_t qtype) {
  ParseResult r;
  if (msg.size() < kHeaderSize) return r;
  const std::uint16_t flags = load_be<std::uint16_t>(msg, 2);
  if ((flags & 0x8000) == 0 || ((flags >> 11) & 0xF) != 0) {
    r.error = ParseError::kNotAnAnswer;
    return r;
  }
  if (load_be<std::uint16_t>(msg, 0) != id) {
    r.error = ParseError::kWrongId;
    return r;
  }
  const std::uint16_t qdcount = load_be<std::uint16_t>(msg, 4);
  const std::uint16_t ancount = load_be<std::uint16_t>(msg, 6);
  if (qdcount != 1) {
    r.error = ParseError::kWrongQuestion;
    return r;
  }
  std::size_t pos = kHeaderSize;
  std::string qname;
  if (!read_name(msg, &pos, &qname)) {
    r.error = ParseError::kBadName;
    return r;
  }
  if (pos + 4 > msg.size()) return r;
  const std::string asked = normalize_name(name);
  if (qname != asked || load_be<std::uint16_t>(msg, pos) != qtype ||
      load_be<std::uint16_t>(msg, pos + 2) != kClassIn) {
    r.error = ParseError::kWrongQuestion;
    return r;
  }
  pos += 4;

  Answer ans;
  ans.rcode = static_cast<Rcode>(flags & 0xF);
  ans.truncated = (flags & 0x0200) != 0;
  std::vector<Record> records;
  for (std::uint16_t i = 0; i < ancount; ++i) {
    Record rec{};
    if (!read_name(msg, &pos, &rec.name)) {
      // A truncated answer may end inside a record: keep those before it.
      if (ans.truncated) break;
      r.error = ParseError::kBadName;
      return r;
    }
    if (pos + 10 > msg.size()) {
      if (ans.truncated) break;
      r.error = ParseError::kTooShort;
      return r;
    }
    rec.type = load_be<std::uint16_t>(msg, pos);
    rec.klass = load_be<std::uint16_t>(msg, pos + 2);
    rec.ttl = load_be<std::uint32_t>(msg, pos + 4);
    rec.rdlength = load_be<std::uint16_t>(msg, pos + 8);
    rec.rdata = pos + 10;
    if (rec.rdata + rec.rdlength > msg.size()) {
      if (ans.truncated) break;
      r.error = ParseError::kTooShort;
      return r;
    }
    pos = rec.rdata + rec.rdlength;
    records.push_back(std::move(rec));
  }

  // The chain: from the name asked, through CNAMEs, to the name whose records answer.
  std::string current = asked;
  std::uint32_t ttl = UINT32_MAX;
  for (int links = 0; links <= kMaxCnameChain; ++links) {
    const auto cname = std::find_if(records.begin(), records.end(), [&](const Record& rec) {
      return rec.klass == kClassIn && rec.type == kTypeCname && rec.name == current;
    });
    if (cname == records.end() || qtype == kTypeCname) break;
    std::size_t p = cname->rdata;
    std::string target;
    if (!read_name(msg, &p, &target) || p != cname->rdata + cname->rdlength) {
      r.error = ParseError::kBadRecord;
      return r;
    }
    ttl = std::min(ttl, cname->ttl);
    current = target;
    if (links == kMaxCnameChain) {
      current.clear();  // too long (or a loop): nothing below answers
    }
  }
  ans.canonical = current;
  for (const Record& rec : records) {
    if (rec.klass != kClassIn || rec.name != current || current.empty() || rec.type != qtype)
      continue;
    if (rec.type == kTypeA) {
      if (rec.rdlength != 4) {
        r.error = ParseError::kBadRecord;
        return r;
      }
      std::array<std::uint8_t, 4> a{};
      for (std::size_t i = 0; i < 4; ++i)
        a[i] = load_u8(msg, rec.rdata + i);
      ans.a.push_back(a);
    } else if (rec.type == kTypeAaaa) {
      if (rec.rdlength != 16) {
        r.error = ParseError::kBadRecord;
        return r;
      }
      std::array<std::uint8_t, 16> a{};
      for (std::size_t i = 0; i < 16; ++i)
        a[i] = load_u8(msg, rec.rdata + i);
      ans.aaaa.push_back(a);
    } else if (rec.type == kTypePtr) {
      std::size_t p = rec.rdata;
      std::string target;
      if (!read_name(msg, &p, &target) || p != rec.rdata + rec.rdlength) {
        r.error = ParseError::kBadRecord;
        return r;
      }
      ans.ptr.push_back(std::move(target));
    } else {
      continue;
    }
    ttl = std::min(ttl, rec.ttl);
  }
  ans.ttl = ttl == UINT32_MAX ? 0 : ttl;
  r.answer = std::move(ans);
  return r;
}

std::string reverse_name_v4(const std::array<std::uint8_t, 4>& a) {
  return std::to_string(a[3]) + "." + std::to_string(a[2]) + "." + std::to_string(a[1]) + "." +
         std::to_string(a[0]) + ".in-addr.arpa";
}

std::string reverse_name_v6(const std::array<std::uint8_t, 16>& a) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 15; i >= 0; --i) {
    out.push_back(kHex[a[static_cast<std::size_t>(i)] & 0xF]);
    out.push_back('.');
    out.push_back(kHex[a[static_cast<std::size_t>(i)] >> 4]);
    out.push_back('.');
  }
  return out + "ip6.arpa";
}

}  // namespace usnet::dns
