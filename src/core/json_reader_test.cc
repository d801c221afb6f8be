#include "core/json_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace vigil::json {
namespace {

using Type = Reader::Type;

// Skips the whole text as one value: what a decoder that refuses everything would do.
Status SkipAll(std::string_view text, int max_depth = 32) {
  Reader in(text, {.max_bytes = 1 << 20, .max_depth = max_depth});
  in.Skip();
  return in.Finish();
}

TEST(JsonReaderTest, ReadsAnObjectMemberByMember) {
  Reader in(R"( {"name":"disk","value":41.5,"n":-3,"big":18446744073709551615,"ok":true,
                 "none":null,"list":[1,"two",{"three":[]}],"empty":{}} )",
            {});
  ASSERT_TRUE(in.BeginObject());
  std::vector<std::string> keys;
  while (in.NextMember()) {
    keys.push_back(in.key());
    if (in.key() == "name") {
      EXPECT_EQ(in.String(), "disk");
    } else if (in.key() == "value") {
      EXPECT_EQ(in.Peek(), Type::kNumber);
      auto n = in.ReadNumber();
      ASSERT_TRUE(n);
      EXPECT_FALSE(n->integer);
      EXPECT_DOUBLE_EQ(n->value, 41.5);
    } else if (in.key() == "n") {
      auto n = in.ReadNumber();
      ASSERT_TRUE(n && n->integer && n->negative);
      EXPECT_EQ(n->as_signed, -3);
    } else if (in.key() == "big") {
      EXPECT_EQ(in.Peek(), Type::kInteger);
      auto n = in.ReadNumber();
      ASSERT_TRUE(n && n->integer && !n->negative);
      EXPECT_EQ(n->as_unsigned, UINT64_MAX);
    } else if (in.key() == "ok") {
      EXPECT_EQ(in.Bool(), true);
    } else if (in.key() == "none") {
      EXPECT_TRUE(in.Null());
    } else if (in.key() == "list") {
      ASSERT_TRUE(in.BeginArray());
      int n = 0;
      while (in.NextElement()) {
        ++n;
        EXPECT_TRUE(in.Skip());
      }
      EXPECT_EQ(n, 3);
    } else {
      EXPECT_EQ(in.Peek(), Type::kObject);
      EXPECT_TRUE(in.Skip());
    }
  }
  EXPECT_TRUE(in.Finish().ok()) << in.Finish().ToString();
  EXPECT_EQ(keys,
            (std::vector<std::string>{"name", "value", "n", "big", "ok", "none", "list", "empty"}));
}

TEST(JsonReaderTest, DecodesEscapesAndSurrogatePairs) {
  Reader in(R"(["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20ac\ud83d\ude00", "plain é"])", {});
  ASSERT_TRUE(in.BeginArray());
  ASSERT_TRUE(in.NextElement());
  EXPECT_EQ(in.String(), "a\"b\\c/d\b\f\n\r\t");
  ASSERT_TRUE(in.NextElement());
  EXPECT_EQ(in.String(), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  ASSERT_TRUE(in.NextElement());
  EXPECT_EQ(in.String(), "plain \xC3\xA9");
  EXPECT_FALSE(in.NextElement());
  EXPECT_TRUE(in.Finish().ok());
}

TEST(JsonReaderTest, ExactIntegersAndDoubles) {
  auto read = [](std::string_view text) {
    Reader in(text, {});
    auto n = in.ReadNumber();
    EXPECT_TRUE(in.Finish().ok()) << text;
    return n.value_or(Reader::Number{});
  };
  EXPECT_EQ(read("0").as_unsigned, 0u);
  EXPECT_EQ(read("-9223372036854775808").as_signed, INT64_MIN);
  EXPECT_FALSE(read("-9223372036854775809").integer);  // past int64: a double
  EXPECT_FALSE(read("18446744073709551616").integer);  // past uint64: a double
  EXPECT_DOUBLE_EQ(read("18446744073709551616").value, 18446744073709551616.0);
  EXPECT_FALSE(read("1e2").integer);
  EXPECT_DOUBLE_EQ(read("1E+2").value, 100.0);
  EXPECT_DOUBLE_EQ(read("-0.5e-1").value, -0.05);
  EXPECT_DOUBLE_EQ(read("1e-400").value, 0.0);  // underflow is zero, as strtod says
  // Short decimals take a fast path, longer ones the general conversion: both exactly as strtod.
  for (const char* text :
       {"0.1", "41.5", "-85.25", "0.000000000000001", "123456789012345", "1234567890123456",
        "999999999999999.9", "0.30000000000000004", "9007199254740993", "-1.7976931348623157",
        "3.141592653589793", "100.000", "-0"}) {
    Reader::Number n = read(text);
    EXPECT_EQ(n.value, std::strtod(text, nullptr)) << text;
    EXPECT_EQ(std::signbit(n.value), text[0] == '-') << text;
  }
  EXPECT_TRUE(read("123456789012345").integer);
  EXPECT_EQ(read("123456789012345").as_signed, 123456789012345);
  EXPECT_EQ(read("-42").as_signed, -42);
  EXPECT_TRUE(std::signbit(read("-0.0").value));
}

TEST(JsonReaderTest, RefusesMalformedJson) {
  for (std::string_view bad : {"",
                               " ",
                               "{",
                               "}",
                               "[",
                               "[1,]",
                               "[,1]",
                               "{\"a\":1,}",
                               "{\"a\" 1}",
                               "{a:1}",
                               "{\"a\":1]",
                               "[1}",
                               "[1 2]",
                               "01",
                               "-",
                               "1.",
                               ".5",
                               "1e",
                               "+1",
                               "0x10",
                               "NaN",
                               "Infinity",
                               "1e999",
                               "-1e999",
                               "tru",
                               "nul",
                               "falsey",
                               "\"abc",
                               "\"\\x\"",
                               "\"\\u12\"",
                               "\"\\ud800\"",
                               "\"\\udc00\"",
                               "\"\\ud800\\u0041\"",
                               "\"tab\there\"",
                               "\"nl\nhere\"",
                               "[1] 2",
                               "{} {}",
                               "'single'",
                               "[1]x",
                               "{\"a\":1}}"}) {
    Status s = SkipAll(bad);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << "accepted: " << bad;
  }
}

TEST(JsonReaderTest, AcceptsWhatJsonAccepts) {
  for (std::string_view good :
       {"0", "-0", "1.5e10", "\"\"", "[]", "{}", " [ 1 , [ ] , { } ] ", "{\"\":null}",
        "\"\\u0000\"", "[true,false,null]", "{\"a\":{\"b\":{\"c\":[[[]]]}}}"}) {
    Status s = SkipAll(good);
    EXPECT_TRUE(s.ok()) << good << ": " << s.ToString();
  }
}

TEST(JsonReaderTest, AgreesWithParseOnValidity) {
  // The same verdict as json::Parse (nlohmann) for a spread of inputs, valid and not.
  using namespace std::string_view_literals;
  const std::string_view texts[] = {"{\"a\":[1,2,{\"b\":\"c\"}]}",
                                    "[1,2",
                                    "{\"a\":1,\"a\":2}",
                                    "[\"\\ud83d\\ude00\"]",
                                    "[1.0e+308]",
                                    "[-1.7976931348623157e309]",
                                    "[\"a\\u0000b\"]",
                                    "[[[[[]]]]]",
                                    "{\"x\":}",
                                    "[\"\xff\"]",
                                    "[1,\n2\r\n]",
                                    "{}\0{}"sv,
                                    "[\"a\0\"]"sv};
  for (std::string_view text : texts) {
    EXPECT_EQ(SkipAll(text).ok(), Parse(text).has_value()) << text;
  }
}

TEST(JsonReaderTest, RefusesDeepNestingWithoutRecursion) {
  std::string deep(100'000, '[');
  Status s = SkipAll(deep, 8);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nested deeper than 8"), std::string::npos) << s.ToString();
  EXPECT_TRUE(SkipAll("[[[[[[[[]]]]]]]]", 8).ok());
  EXPECT_FALSE(SkipAll("[[[[[[[[[]]]]]]]]]", 8).ok());
}

TEST(JsonReaderTest, RefusesOversizedAndInvalidUtf8BeforeReading) {
  Reader big(std::string(100, ' ') + "1", {.max_bytes = 50, .max_depth = 8});
  EXPECT_EQ(big.Peek(), Type::kNone);
  EXPECT_EQ(big.Finish().code(), ErrorCode::kPayloadTooLarge);
  Reader utf8("\"\xC0\xAF\"", {});
  EXPECT_FALSE(utf8.String());
  EXPECT_EQ(utf8.Finish().message(), "body is not valid UTF-8");
}

TEST(JsonReaderTest, ErrorsAreStickyAndNameTheByte) {
  Reader in("[1, 2, x, 4]", {});
  ASSERT_TRUE(in.BeginArray());
  ASSERT_TRUE(in.NextElement());
  EXPECT_TRUE(in.Skip());
  ASSERT_TRUE(in.NextElement());
  EXPECT_TRUE(in.Skip());
  ASSERT_TRUE(in.NextElement());
  EXPECT_FALSE(in.Skip());
  EXPECT_FALSE(in.NextElement());
  EXPECT_EQ(in.Peek(), Type::kNone);
  EXPECT_EQ(in.Finish().message(), "body is not valid JSON (byte 8)");
}

TEST(JsonReaderTest, TypeNamesMatchTheDomOnes) {
  EXPECT_STREQ(TypeName(Type::kInteger), TypeName(Json(3)));
  EXPECT_STREQ(TypeName(Type::kNumber), TypeName(Json(3.5)));
  EXPECT_STREQ(TypeName(Type::kString), TypeName(Json("s")));
  EXPECT_STREQ(TypeName(Type::kArray), TypeName(Json::array()));
  EXPECT_STREQ(TypeName(Type::kObject), TypeName(Json::object()));
  EXPECT_STREQ(TypeName(Type::kNull), TypeName(Json()));
  EXPECT_STREQ(TypeName(Type::kBool), TypeName(Json(true)));
}

}  // namespace
}  // namespace vigil::json
