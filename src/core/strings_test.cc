#include "core/strings.h"

#include <gtest/gtest.h>

#include "core/json.h"

namespace vigil {
namespace {

TEST(StringsTest, HexDigitValue) {
  EXPECT_EQ(HexDigitValue('0'), 0);
  EXPECT_EQ(HexDigitValue('f'), 15);
  EXPECT_EQ(HexDigitValue('A'), 10);
  EXPECT_EQ(HexDigitValue('g'), -1);
}

TEST(StringsTest, SanitizeTextKeepsValidTextAndReplacesTheRest) {
  EXPECT_EQ(SanitizeText("caf\xc3\xa9 ok", 100), "caf\xc3\xa9 ok");
  EXPECT_EQ(SanitizeText("a\x1b[31mb", 100), "a [31mb");  // ESC
  EXPECT_EQ(SanitizeText("a\xc2\x9b"
                         "b",
                         100),
            "a b");                                          // C1 CSI
  EXPECT_EQ(SanitizeText("a\xffz", 100), "a\xef\xbf\xbdz");  // invalid byte
  EXPECT_EQ(SanitizeText("l1\nl2", 100), "l1 l2");
  EXPECT_EQ(SanitizeText("l1\nl2", 100, /*one_line=*/false), "l1\nl2");
  std::string cut = SanitizeText(std::string(10, 'x') + "\xc3\xa9\xc3\xa9", 11);
  EXPECT_TRUE(json::IsValidUtf8(cut)) << cut;
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
}

}  // namespace
}  // namespace vigil
