// DNS messages (RFC 1035 section 4) for the preload's resolver: a query for one name and
// type, and a checked parse of the answer to it. Every byte of an answer is untrusted: the
// parser checks each length against the message before it reads, follows compression
// pointers only backwards and a bounded number of times (RFC 1035 4.1.4), bounds names at
// 255 octets and labels at 63 (RFC 1035 2.3.4), and accepts an answer only for the question
// it asked (ID and question section matched, as RFC 5452 section 4 asks). No I/O here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace usnet::dns {

// RFC 1035 3.2.2 and RFC 3596 2.1.
inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypePtr = 12;
inline constexpr std::uint16_t kTypeAaaa = 28;
inline constexpr std::uint16_t kClassIn = 1;

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxName = 255;  // octets on the wire (RFC 1035 2.3.4)
inline constexpr std::size_t kMaxLabel = 63;
inline constexpr std::size_t kMaxUdp = 512;  // without EDNS (RFC 1035 4.2.1)
// CNAME records followed from the name asked before giving up (glibc follows as many as
// the answer holds; a loop or a longer chain is a broken or hostile answer).
inline constexpr int kMaxCnameChain = 16;

// RCODE values (RFC 1035 4.1.1).
enum class Rcode : std::uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// The wire form of a query for `name` (dotted, an optional final dot) of `qtype`, class IN,
// recursion desired; nullopt if the name cannot be encoded (empty label, a label over 63
// octets, over 255 octets in all).
std::optional<std::vector<std::byte>> encode_query(std::uint16_t id, std::string_view name,
                                                   std::uint16_t qtype);

enum class ParseError {
  kTooShort,       // shorter than its header or a record it announces
  kNotAnAnswer,    // QR clear, or an opcode other than QUERY
  kWrongId,        // not the ID asked with
  kWrongQuestion,  // QDCOUNT != 1, or another name, type or class
  kBadName,        // a label or pointer that breaks RFC 1035 4.1.4
  kBadRecord,      // RDATA of the wrong length for its type
};
const char* parse_error_name(ParseError e);

struct Answer {
  Rcode rcode = Rcode::kNoError;
  bool truncated = false;  // TC: the rest needs TCP (RFC 1035 4.2.1)
  std::string canonical;   // the name the CNAME chain ends at (lowercase, no dot)
  std::vector<std::array<std::uint8_t, 4>> a;      // A records of `canonical`
  std::vector<std::array<std::uint8_t, 16>> aaaa;  // AAAA records of `canonical`
  std::vector<std::string> ptr;                    // PTR targets of `canonical`
  std::uint32_t ttl = 0;                           // the smallest TTL of the records used
};

struct ParseResult {
  std::optional<Answer> answer;  // set on success
  ParseError error = ParseError::kTooShort;
};

// Parses `msg` as the answer to the query (`id`, `name`, `qtype`) and follows the CNAME
// chain from `name` through the answer section. Records of other names, types or classes
// are skipped, as are records that follow a chain of more than kMaxCnameChain links.
ParseResult parse_answer(ByteSpan msg, std::uint16_t id, std::string_view name,
                         std::uint16_t qtype);

// A name as the resolver compares it: lowercase ASCII (RFC 4343), no final dot.
std::string normalize_name(std::string_view name);

// The reverse-lookup name of an IPv4 or IPv6 address (RFC 1035 3.5, RFC 3596 2.5).
std::string reverse_name_v4(const std::array<std::uint8_t, 4>& addr);
std::string reverse_name_v6(const std::array<std::uint8_t, 16>& addr);

}  // namespace usnet::dns
