// The interop tests' reading of tshark's expert table, on tables tshark printed: payload
// guesses (HTTP, Thrift on random bodies, both seen in CI) are notes, errors in our own
// layers are failures, and an unreadable table is noticed.
#include <gtest/gtest.h>

#include "../support/tshark_expert.h"

namespace usnet::interop {
namespace {

const char kPayloadOnly[] = R"(
Errors (1)
=============
   Frequency      Group           Protocol  Summary
           1   Protocol             Thrift  Thrift varint value too large for target integer type.

Warns (2)
=============
   Frequency      Group           Protocol  Summary
           1   Protocol             Thrift  Not enough data to decode.
           1   Sequence                TCP  Previous segment(s) not captured (common at capture start)
)";

const char kOurError[] = R"(
Errors (2)
=============
   Frequency      Group           Protocol  Summary
           1   Checksum                TCP  Bad checksum [should be 0x1234]
           1  Malformed               HTTP  Leading CRLF previous message in the stream may have extra CRLF
)";

TEST(TsharkExpert, PayloadGuessesAreNotFailures) {
  const ExpertFindings f = read_expert_table(kPayloadOnly);
  EXPECT_TRUE(f.readable);
  EXPECT_TRUE(f.ours_bad.empty());
  ASSERT_EQ(f.payload_bad.size(), 1U);
  EXPECT_NE(f.payload_bad[0].find("Thrift varint"), std::string::npos);
}

TEST(TsharkExpert, ErrorsInOurLayersAreFailures) {
  const ExpertFindings f = read_expert_table(kOurError);
  ASSERT_EQ(f.ours_bad.size(), 1U);
  EXPECT_NE(f.ours_bad[0].find("Bad checksum"), std::string::npos);
  ASSERT_EQ(f.payload_bad.size(), 1U);
  EXPECT_NE(f.payload_bad[0].find("HTTP"), std::string::npos);
}

TEST(TsharkExpert, EmptyAndUnreadableTables) {
  EXPECT_TRUE(read_expert_table("").readable);
  EXPECT_TRUE(read_expert_table("").ours_bad.empty());
  EXPECT_FALSE(read_expert_table("Errors (1)\n=====\nsomething else entirely\n").readable);
}

}  // namespace
}  // namespace usnet::interop
