// The preload resolver's DNS messages (src/preload/dns_message.h): queries byte for byte,
// answers with compression and CNAME chains, and the answers a resolver must refuse.
#include "preload/dns_message.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace usnet::dns {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v)
    out.push_back(static_cast<std::byte>(b));
  return out;
}

void append(std::vector<std::byte>& m, std::initializer_list<int> v) {
  for (int b : v)
    m.push_back(static_cast<std::byte>(b));
}

// An answer header: ID 0x1234, QR RD RA, rcode, one question, `an` answers; then the
// question www.example.test A IN (name at offset 12).
std::vector<std::byte> answer_head(int an, int rcode = 0, bool tc = false, int qtype = 1) {
  auto m = bytes({0x12, 0x34, 0x81 | (tc ? 0x02 : 0), 0x80 | rcode, 0, 1, 0, an, 0, 0, 0, 0});
  append(m, {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0});
  append(m, {0, qtype, 0, 1});
  return m;
}

TEST(DnsMessage, QueryBytesAreRfc1035) {
  const auto q = encode_query(0xBEEF, "www.Example.test.", kTypeA);
  ASSERT_TRUE(q.has_value());
  auto want = bytes({0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0});
  append(want, {3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0});
  append(want, {0, 1, 0, 1});
  EXPECT_EQ(*q, want);
}

TEST(DnsMessage, QueryRefusesNamesThatCannotBeEncoded) {
  EXPECT_FALSE(encode_query(1, "", kTypeA).has_value());
  EXPECT_FALSE(encode_query(1, ".", kTypeA).has_value());
  EXPECT_FALSE(encode_query(1, "a..b", kTypeA).has_value());
  EXPECT_FALSE(encode_query(1, std::string(64, 'a') + ".test", kTypeA).has_value());
  EXPECT_TRUE(encode_query(1, std::string(63, 'a') + ".test", kTypeA).has_value());
  // 4 labels of 63 octets: 4 * 64 + 1 = 257 > 255.
  const std::string l(63, 'x');
  EXPECT_FALSE(encode_query(1, l + "." + l + "." + l + "." + l, kTypeA).has_value());
  EXPECT_TRUE(encode_query(1, l + "." + l + "." + l + "." + std::string(61, 'x'), kTypeA));
}

TEST(DnsMessage, ARecordsWithCompressedOwner) {
  auto m = answer_head(2);
  // www.example.test (pointer to 12) A IN ttl 300 198.18.7.1, and a second with ttl 60.
  append(m, {0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2C, 0, 4, 198, 18, 7, 1});
  append(m, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 7, 2});
  const auto r = parse_answer(m, 0x1234, "WWW.example.test.", kTypeA);
  ASSERT_TRUE(r.answer.has_value()) << parse_error_name(r.error);
  EXPECT_EQ(r.answer->rcode, Rcode::kNoError);
  EXPECT_EQ(r.answer->canonical, "www.example.test");
  ASSERT_EQ(r.answer->a.size(), 2U);
  EXPECT_EQ(r.answer->a[0], (std::array<std::uint8_t, 4>{198, 18, 7, 1}));
  EXPECT_EQ(r.answer->a[1], (std::array<std::uint8_t, 4>{198, 18, 7, 2}));
  EXPECT_EQ(r.answer->ttl, 60U);
}

TEST(DnsMessage, CnameChainEndsAtTheCanonicalName) {
  auto m = answer_head(4);
  // An A record of an unrelated name first: it must not be taken.
  append(m, {5, 'o', 't', 'h', 'e', 'r', 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 10, 0, 0, 1});
  // www.example.test CNAME a.example.test (a + pointer to "example.test" at 16)
  const std::size_t cname1 = m.size();
  append(m, {0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 100, 0, 4, 1, 'a', 0xC0, 16});
  // a.example.test CNAME b.example.test
  append(m, {0xC0, static_cast<int>(cname1 + 12), 0, 5, 0, 1, 0, 0, 0, 50, 0, 4, 1, 'b', 0xC0, 16});
  const std::size_t b = m.size() - 4;  // "b" label inside the last RDATA
  append(m, {0xC0, static_cast<int>(b), 0, 1, 0, 1, 0, 0, 0, 70, 0, 4, 198, 18, 9, 9});
  const auto r = parse_answer(m, 0x1234, "www.example.test", kTypeA);
  ASSERT_TRUE(r.answer.has_value()) << parse_error_name(r.error);
  EXPECT_EQ(r.answer->canonical, "b.example.test");
  ASSERT_EQ(r.answer->a.size(), 1U);
  EXPECT_EQ(r.answer->a[0], (std::array<std::uint8_t, 4>{198, 18, 9, 9}));
  EXPECT_EQ(r.answer->ttl, 50U);
}

TEST(DnsMessage, CnameLoopGivesNoAddress) {
  auto m = answer_head(2);
  // www CNAME a.example.test, a.example.test CNAME www.example.test (pointer to 12).
  const std::size_t first = m.size();
  append(m, {0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 4, 1, 'a', 0xC0, 16});
  append(m, {0xC0, static_cast<int>(first + 12), 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xC0, 12});
  append(m, {});
  const auto r = parse_answer(m, 0x1234, "www.example.test", kTypeA);
  ASSERT_TRUE(r.answer.has_value()) << parse_error_name(r.error);
  EXPECT_TRUE(r.answer->a.empty());
  EXPECT_TRUE(r.answer->canonical.empty());
}

TEST(DnsMessage, NxDomainAndServFailKeepTheirRcode) {
  for (int rcode : {2, 3, 5}) {
    const auto r = parse_answer(answer_head(0, rcode), 0x1234, "www.example.test", kTypeA);
    ASSERT_TRUE(r.answer.has_value());
    EXPECT_EQ(static_cast<int>(r.answer->rcode), rcode);
    EXPECT_TRUE(r.answer->a.empty());
  }
}

TEST(DnsMessage, RefusesAnswersToAnotherQuestion) {
  EXPECT_EQ(parse_answer(answer_head(0), 0x1235, "www.example.test", kTypeA).error,
            ParseError::kWrongId);
  EXPECT_EQ(parse_answer(answer_head(0), 0x1234, "ww.example.test", kTypeA).error,
            ParseError::kWrongQuestion);
  EXPECT_EQ(parse_answer(answer_head(0), 0x1234, "www.example.test", kTypeAaaa).error,
            ParseError::kWrongQuestion);
  auto query = answer_head(0);
  query[2] = std::byte{0x01};  // QR clear: a query, not an answer
  EXPECT_EQ(parse_answer(query, 0x1234, "www.example.test", kTypeA).error,
            ParseError::kNotAnAnswer);
  auto two = answer_head(0);
  two[5] = std::byte{2};
  EXPECT_EQ(parse_answer(two, 0x1234, "www.example.test", kTypeA).error,
            ParseError::kWrongQuestion);
}

TEST(DnsMessage, RefusesMalformedNamesAndRecords) {
  auto forward = answer_head(1);
  const std::size_t at = forward.size();
  append(forward, {0xC0, static_cast<int>(at), 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4});
  EXPECT_EQ(parse_answer(forward, 0x1234, "www.example.test", kTypeA).error, ParseError::kBadName);

  auto shortA = answer_head(1);
  append(shortA, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3});
  EXPECT_EQ(parse_answer(shortA, 0x1234, "www.example.test", kTypeA).error, ParseError::kBadRecord);

  auto overrun = answer_head(1);
  append(overrun, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 40, 1, 2, 3, 4});
  EXPECT_EQ(parse_answer(overrun, 0x1234, "www.example.test", kTypeA).error, ParseError::kTooShort);

  auto dotted = answer_head(1);
  append(dotted, {3, 'a', '.', 'b', 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4});
  EXPECT_EQ(parse_answer(dotted, 0x1234, "www.example.test", kTypeA).error, ParseError::kBadName);

  auto reserved = answer_head(1);
  append(reserved, {0x40, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4});
  EXPECT_EQ(parse_answer(reserved, 0x1234, "www.example.test", kTypeA).error, ParseError::kBadName);

  for (std::size_t n = 0; n < answer_head(0).size(); ++n) {
    auto cut = answer_head(0);
    cut.resize(n);
    EXPECT_FALSE(parse_answer(cut, 0x1234, "www.example.test", kTypeA).answer.has_value()) << n;
  }
}

TEST(DnsMessage, TruncatedAnswerKeepsTheRecordsBeforeTheCut) {
  auto m = answer_head(2, 0, true);
  append(m, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 198, 18, 0, 1});
  append(m, {0xC0, 12, 0, 1});  // the second record, cut
  const auto r = parse_answer(m, 0x1234, "www.example.test", kTypeA);
  ASSERT_TRUE(r.answer.has_value()) << parse_error_name(r.error);
  EXPECT_TRUE(r.answer->truncated);
  EXPECT_EQ(r.answer->a.size(), 1U);
}

TEST(DnsMessage, AaaaAndPtr) {
  auto m = answer_head(1, 0, false, kTypeAaaa);
  append(m, {0xC0, 12,   0, 28, 0, 1, 0, 0, 0, 1, 0, 16, 0x20, 0x01,
             0x0d, 0xb8, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  0,    1});
  const auto r = parse_answer(m, 0x1234, "www.example.test", kTypeAaaa);
  ASSERT_TRUE(r.answer.has_value()) << parse_error_name(r.error);
  ASSERT_EQ(r.answer->aaaa.size(), 1U);
  EXPECT_EQ(r.answer->aaaa[0][15], 1);

  EXPECT_EQ(reverse_name_v4({198, 18, 7, 1}), "1.7.18.198.in-addr.arpa");
  std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 0x1f;
  EXPECT_EQ(reverse_name_v6(v6),
            "f.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

}  // namespace
}  // namespace usnet::dns
