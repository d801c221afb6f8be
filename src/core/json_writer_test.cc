#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/json.h"

namespace vigil::json {
namespace {

TEST(JsonWriterTest, StringsReadBackAsWritten) {
  for (std::string_view s :
       {std::string_view(""), std::string_view("plain"),
        std::string_view("quote \" backslash \\ slash /"),
        std::string_view("tab\tnl\ncr\rbell\x07 del\x7f"), std::string_view("nul\0inside", 10),
        std::string_view("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80")}) {
    std::string out;
    AppendString(out, s);
    EXPECT_EQ(out, Json(std::string(s)).dump()) << out;
    EXPECT_EQ(Json::parse(out).get<std::string>(), s);
  }
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacters) {
  std::string out;
  AppendString(out, "bad \xff byte");
  EXPECT_EQ(Json::parse(out).get<std::string>(), "bad \xEF\xBF\xBD byte");
}

TEST(JsonWriterTest, NumbersAreShortestAndExact) {
  auto number = [](double v) {
    std::string out;
    AppendNumber(out, v);
    return out;
  };
  EXPECT_EQ(number(41.0), "41.0");
  EXPECT_EQ(number(0.1), "0.1");
  EXPECT_EQ(number(-0.0), "-0.0");
  EXPECT_EQ(number(-7.0), "-7.0");
  EXPECT_EQ(number(9999.0), "9999.0");
  EXPECT_EQ(number(10000.0), "10000.0");
  EXPECT_EQ(number(100000.0), "1e+05");
  EXPECT_EQ(number(1e300), "1e+300");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(number(std::nan("")), "null");
  for (double v : {3.141592653589793, 1e-300, 123456789012.0, 2.5e-7, 1.7976931348623157e308,
                   4.9e-324, 9007199254740993.0}) {
    EXPECT_EQ(Json::parse(number(v)).get<double>(), v) << number(v);
  }
}

}  // namespace
}  // namespace vigil::json
