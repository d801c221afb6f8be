#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/http.h"

namespace vigil::net {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using ::testing::ElementsAre;
using ::testing::Pair;

TEST(PercentDecodeTest, DecodesEscapes) {
  EXPECT_EQ(PercentDecode("/a%20b"), "/a b");
  EXPECT_EQ(PercentDecode("/%41%62%2f"), "/Ab/");
  EXPECT_EQ(PercentDecode("/%c3%a9"), "/\xc3\xa9");
  EXPECT_EQ(PercentDecode(""), "");
}

TEST(PercentDecodeTest, PlusIsLiteralInPaths) { EXPECT_EQ(PercentDecode("/a+b"), "/a+b"); }

TEST(PercentDecodeTest, RejectsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("/a%zz"), std::nullopt);
  EXPECT_EQ(PercentDecode("/a%2"), std::nullopt);
  EXPECT_EQ(PercentDecode("/a%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0"), std::nullopt);
  EXPECT_EQ(PercentDecode("/%%41"), std::nullopt);
}

TEST(PercentDecodeTest, RejectsEncodedNul) {
  EXPECT_EQ(PercentDecode("/a%00b"), std::nullopt);
  EXPECT_EQ(PercentDecode("%00"), std::nullopt);
}

TEST(ParseQueryTest, SplitsAndDecodes) {
  EXPECT_THAT(ParseQuery("a=1&b=x%20y&c=p+q"),
              ElementsAre(Pair("a", "1"), Pair("b", "x y"), Pair("c", "p q")));
}

TEST(ParseQueryTest, EmptyInputAndEmptyPairs) {
  EXPECT_TRUE(ParseQuery("").empty());
  EXPECT_TRUE(ParseQuery("&&&").empty());
  EXPECT_THAT(ParseQuery("&a=1&&b=2&"), ElementsAre(Pair("a", "1"), Pair("b", "2")));
}

TEST(ParseQueryTest, KeysWithoutValuesAndEmptyKeys) {
  EXPECT_THAT(ParseQuery("flag&x=&=orphan"), ElementsAre(Pair("flag", ""), Pair("x", "")));
}

TEST(ParseQueryTest, OnlyTheFirstEqualsSplits) {
  EXPECT_THAT(ParseQuery("expr=a=b"), ElementsAre(Pair("expr", "a=b")));
}

TEST(ParseQueryTest, MalformedEscapesAreKeptLiterally) {
  EXPECT_THAT(ParseQuery("a=%zz&b=100%&c=%4"),
              ElementsAre(Pair("a", "%zz"), Pair("b", "100%"), Pair("c", "%4")));
}

TEST(ParseQueryTest, EncodedNulIsKeptLiterally) {
  EXPECT_THAT(ParseQuery("a=x%00y"), ElementsAre(Pair("a", "x%00y")));
}

TEST(ParseQueryTest, EncodedSeparatorsDoNotSplit) {
  EXPECT_THAT(ParseQuery("a=1%262&b%3D=%2B"), ElementsAre(Pair("a", "1&2"), Pair("b=", "+")));
}

TEST(ParseQueryTest, DuplicateKeysAreKeptInOrder) {
  EXPECT_THAT(ParseQuery("t=1&t=2"), ElementsAre(Pair("t", "1"), Pair("t", "2")));
}

TEST(HttpRequestTest, HeaderFindsFirstMatch) {
  HttpRequest req;
  req.headers = {{"accept", "a"}, {"x-id", "1"}, {"x-id", "2"}};
  EXPECT_EQ(req.Header("x-id"), "1");
  EXPECT_EQ(req.Header("accept"), "a");
  EXPECT_EQ(req.Header("missing"), std::nullopt);
}

TEST(HttpResponseTest, SetHeaderReplacesCaseInsensitively) {
  HttpResponse res;
  res.headers = {{"Content-Type", "text/plain"}, {"x-a", "1"}, {"CONTENT-TYPE", "dup"}};
  res.SetHeader("content-type", "application/json");
  EXPECT_THAT(res.headers, ElementsAre(Pair("content-type", "application/json"), Pair("x-a", "1")));
  res.SetHeader("X-New", "v");
  EXPECT_EQ(res.Header("x-new"), "v");
  EXPECT_EQ(res.Header("X-NEW"), "v");
  EXPECT_EQ(res.headers.size(), 3u);
}

TEST(HttpResponseTest, HeaderOnMissingName) {
  HttpResponse res;
  EXPECT_EQ(res.Header("content-type"), std::nullopt);
}

}  // namespace
}  // namespace vigil::net
