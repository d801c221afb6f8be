#include "core/json.h"

#include <gtest/gtest.h>

namespace vigil::json {
namespace {

TEST(JsonParseTest, RefusesMalformedOversizedDeepAndInvalidUtf8) {
  EXPECT_EQ(Parse("{\"a\":").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Parse("").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Parse("{} trailing").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Parse(std::string(2 << 20, ' ')).error().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(Parse(std::string(100, '[') + std::string(100, ']')).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Parse("{\"a\":\"\xff\"}").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Parse("{\"a\":\"\xc0\xaf\"}").error().code(), ErrorCode::kInvalidArgument);  // overlong
  EXPECT_EQ(Parse("{\"a\":\"\xed\xa0\x80\"}").error().code(),
            ErrorCode::kInvalidArgument);  // surrogate
  // Brackets inside strings do not count toward depth.
  EXPECT_TRUE(Parse("{\"a\":\"" + std::string(100, '[') + "\"}").has_value());
  EXPECT_TRUE(Parse("{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}").has_value());
}

TEST(JsonParseTest, ParseObjectRefusesOtherTypes) {
  EXPECT_EQ(ParseObject("[1]").error().message(), "body must be a JSON object");
  EXPECT_EQ(ParseObject("null").error().code(), ErrorCode::kInvalidArgument);
}

TEST(ObjectReaderTest, ReadsTypedFieldsAndNamesEveryWrongOne) {
  auto j = *Parse(R"({"name":"", "count": 1.5, "big": 99999999999999999999, "flag": "yes",
                      "role": "king", "extra": 1, "ok": "fine", "tags": ["a", 2]})");
  ObjectReader r(j);
  r.String("name", 1, 10);
  r.OptInt("count", 0, 10);
  r.OptInt("big", 0, 1000);
  r.OptBool("flag");
  r.OptEnum("role", {"owner", "admin"});
  EXPECT_EQ(*r.OptString("ok", 1, 10), "fine");
  r.OptStringArray("tags", 5, 1, 10);
  r.String("missing", 1, 10);
  Status s = r.Finish();
  ASSERT_EQ(s.code(), ErrorCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& e : s.field_errors()) {
    fields.push_back(e.field);
  }
  EXPECT_EQ(fields, (std::vector<std::string>{"name", "count", "big", "flag", "role", "tags[1]",
                                              "missing", "extra"}));
  EXPECT_EQ(s.field_errors()[0].detail, "must not be empty");
  EXPECT_EQ(s.field_errors()[7].detail, "is not a known field");
}

TEST(ObjectReaderTest, RefusesControlCharactersInOneLineText) {
  auto j = *Parse(R"({"a":"x\u0000y", "b":"line1\nline2", "c": "line1\nline2"})");
  ObjectReader r(j);
  r.OptString("a", 0, 10);
  r.OptString("b", 0, 20);
  EXPECT_TRUE(r.OptString("c", 0, 20, Text::kMultiline).has_value());
  Status s = r.Finish();
  ASSERT_EQ(s.field_errors().size(), 2u);
  EXPECT_EQ(s.field_errors()[0].detail, "must not contain control characters");
}

TEST(ObjectReaderTest, CountsCodePointsNotBytes) {
  auto j = *Parse("{\"a\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}");
  ObjectReader r(j);
  EXPECT_TRUE(r.OptString("a", 3, 3).has_value());
  EXPECT_TRUE(r.Finish().ok());
}

TEST(ObjectReaderTest, TakeNullClearsAndCountsAsRead) {
  auto j = *Parse(R"({"employees": null})");
  ObjectReader r(j);
  EXPECT_TRUE(r.TakeNull("employees"));
  EXPECT_FALSE(r.TakeNull("other"));
  EXPECT_TRUE(r.Finish().ok());
}

TEST(ObjectReaderTest, IntegersAtTheEdges) {
  auto j = *Parse(R"({"a": -9223372036854775808, "b": 18446744073709551615, "c": 0})");
  ObjectReader r(j);
  EXPECT_EQ(*r.OptInt("a", INT64_MIN, 0), INT64_MIN);
  EXPECT_FALSE(r.OptInt("b", 0, INT64_MAX).has_value());
  EXPECT_EQ(r.Int("c", 0, 0), 0);
  EXPECT_EQ(r.Finish().field_errors().size(), 1u);
}

TEST(ObjectReaderTest, NonObjectBodyIsOneError) {
  auto j = *Parse("[1,2]");
  ObjectReader r(j);
  r.String("name", 1, 2);
  Status s = r.Finish();
  ASSERT_EQ(s.field_errors().size(), 1u);
  EXPECT_EQ(s.field_errors()[0].detail, "must be a JSON object");
}

TEST(Utf8Test, Validates) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

}  // namespace
}  // namespace vigil::json
