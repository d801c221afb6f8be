#include "crypto/crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace vigil::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(Init().ok()); }
};

const ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

// ---------------------------------------------------------------------------------------------
// Init

TEST(InitTest, IsIdempotent) {
  EXPECT_TRUE(Init().ok());
  EXPECT_TRUE(Init().ok());
}

// ---------------------------------------------------------------------------------------------
// TOTP: RFC 6238 Appendix B

const std::string kSeedSha1 = "12345678901234567890";
const std::string kSeedSha256 = "12345678901234567890123456789012";
const std::string kSeedSha512 = "1234567890123456789012345678901234567890123456789012345678901234";

struct TotpVector {
  int64_t time;
  TotpAlgorithm algorithm;
  const char* code;
};

const std::string& SeedFor(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return kSeedSha1;
    case TotpAlgorithm::kSha256:
      return kSeedSha256;
    case TotpAlgorithm::kSha512:
      return kSeedSha512;
  }
  return kSeedSha1;
}

class Rfc6238Test : public ::testing::TestWithParam<TotpVector> {};

TEST_P(Rfc6238Test, MatchesAppendixB) {
  const TotpVector& v = GetParam();
  const TotpParams params{.algorithm = v.algorithm, .digits = 8, .period_seconds = 30};
  Result<std::string> code = TotpCode(SeedFor(v.algorithm), v.time, params);
  ASSERT_TRUE(code.has_value()) << code.error().ToString();
  EXPECT_EQ(*code, v.code);
  EXPECT_EQ(VerifyTotp(SeedFor(v.algorithm), v.code, v.time, params), v.time / 30);
}

INSTANTIATE_TEST_SUITE_P(
    AllVectors, Rfc6238Test,
    ::testing::Values(TotpVector{59, TotpAlgorithm::kSha1, "94287082"},
                      TotpVector{59, TotpAlgorithm::kSha256, "46119246"},
                      TotpVector{59, TotpAlgorithm::kSha512, "90693936"},
                      TotpVector{1111111109, TotpAlgorithm::kSha1, "07081804"},
                      TotpVector{1111111109, TotpAlgorithm::kSha256, "68084774"},
                      TotpVector{1111111109, TotpAlgorithm::kSha512, "25091201"},
                      TotpVector{1111111111, TotpAlgorithm::kSha1, "14050471"},
                      TotpVector{1111111111, TotpAlgorithm::kSha256, "67062674"},
                      TotpVector{1111111111, TotpAlgorithm::kSha512, "99943326"},
                      TotpVector{1234567890, TotpAlgorithm::kSha1, "89005924"},
                      TotpVector{1234567890, TotpAlgorithm::kSha256, "91819424"},
                      TotpVector{1234567890, TotpAlgorithm::kSha512, "93441116"},
                      TotpVector{2000000000, TotpAlgorithm::kSha1, "69279037"},
                      TotpVector{2000000000, TotpAlgorithm::kSha256, "90698825"},
                      TotpVector{2000000000, TotpAlgorithm::kSha512, "38618901"},
                      TotpVector{20000000000, TotpAlgorithm::kSha1, "65353130"},
                      TotpVector{20000000000, TotpAlgorithm::kSha256, "77737706"},
                      TotpVector{20000000000, TotpAlgorithm::kSha512, "47863826"}));

TEST(TotpTest, SixDigitsAreTheLastSixOfTheEightDigitCode) {
  // Dynamic truncation takes the value modulo 10^digits, so the 6-digit code is the tail.
  Result<std::string> code = TotpCode(kSeedSha1, 1111111109);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, "081804");
}

TEST(TotpTest, WrongDigitsIsInvalidArgument) {
  for (int digits : {0, 5, 9, -1}) {
    Result<std::string> code = TotpCode(kSeedSha1, 59, TotpParams{.digits = digits});
    ASSERT_FALSE(code.has_value()) << digits;
    EXPECT_EQ(code.error().code(), ErrorCode::kInvalidArgument) << digits;
    EXPECT_EQ(VerifyTotp(kSeedSha1, "123456", 59, TotpParams{.digits = digits}), -1);
  }
}

TEST(TotpTest, EmptySecretIsInvalidArgument) {
  Result<std::string> code = TotpCode("", 59);
  ASSERT_FALSE(code.has_value());
  EXPECT_EQ(code.error().code(), ErrorCode::kInvalidArgument);
}

TEST(TotpTest, BadPeriodOrNegativeTimeIsInvalidArgument) {
  for (int64_t period : {int64_t{0}, int64_t{-30}, kMaxTotpPeriodSeconds + 1}) {
    Result<std::string> code = TotpCode(kSeedSha1, 59, TotpParams{.period_seconds = period});
    ASSERT_FALSE(code.has_value()) << period;
    EXPECT_EQ(code.error().code(), ErrorCode::kInvalidArgument);
  }
  Result<std::string> code = TotpCode(kSeedSha1, -1);
  ASSERT_FALSE(code.has_value());
  EXPECT_EQ(code.error().code(), ErrorCode::kInvalidArgument);
}

class VerifyTotpWindowTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 1111111111;
  static constexpr int64_t kStep = kNow / 30;

  std::string CodeAtStep(int64_t step) {
    Result<std::string> code = TotpCode(kSeedSha1, step * 30);
    VIGIL_CHECK(code.has_value());
    return *code;
  }
};

TEST_F(VerifyTotpWindowTest, AcceptsCurrentStep) {
  EXPECT_EQ(VerifyTotp(kSeedSha1, CodeAtStep(kStep), kNow), kStep);
}

TEST_F(VerifyTotpWindowTest, AcceptsPreviousAndNextStepAndReturnsThem) {
  EXPECT_EQ(VerifyTotp(kSeedSha1, CodeAtStep(kStep - 1), kNow), kStep - 1);
  EXPECT_EQ(VerifyTotp(kSeedSha1, CodeAtStep(kStep + 1), kNow), kStep + 1);
}

TEST_F(VerifyTotpWindowTest, RefusesTwoStepsAway) {
  EXPECT_EQ(VerifyTotp(kSeedSha1, CodeAtStep(kStep - 2), kNow), -1);
  EXPECT_EQ(VerifyTotp(kSeedSha1, CodeAtStep(kStep + 2), kNow), -1);
}

TEST_F(VerifyTotpWindowTest, RefusesWrongCodesAndOtherSecrets) {
  const std::string code = CodeAtStep(kStep);
  EXPECT_EQ(VerifyTotp(kSeedSha1, "", kNow), -1);
  EXPECT_EQ(VerifyTotp(kSeedSha1, code + "0", kNow), -1);
  EXPECT_EQ(VerifyTotp(kSeedSha1, code.substr(1), kNow), -1);
  EXPECT_EQ(VerifyTotp(kSeedSha256, code, kNow), -1);
  EXPECT_EQ(VerifyTotp("", code, kNow), -1);
}

TEST_F(VerifyTotpWindowTest, StepZeroHasNoPreviousStep) {
  EXPECT_EQ(VerifyTotp(kSeedSha1, *TotpCode(kSeedSha1, 0), 10), 0);
  EXPECT_EQ(VerifyTotp(kSeedSha1, *TotpCode(kSeedSha1, 30), 10), 1);
}

TEST(TotpUriTest, PercentEncodesIssuerAndAccount) {
  EXPECT_EQ(TotpUri("Acme MSP", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Acme%20MSP:alice%40example.com?secret=JBSWY3DPEHPK3PXP"
            "&issuer=Acme%20MSP");
  EXPECT_EQ(TotpUri("A:B&C", "x/y?z", "MZXW6"),
            "otpauth://totp/A%3AB%26C:x%2Fy%3Fz?secret=MZXW6&issuer=A%3AB%26C");
}

TEST(TotpUriTest, NonDefaultParamsAreSpelledOut) {
  EXPECT_EQ(
      TotpUri("Vigil", "bob", "MZXW6",
              TotpParams{.algorithm = TotpAlgorithm::kSha256, .digits = 8, .period_seconds = 60}),
      "otpauth://totp/Vigil:bob?secret=MZXW6&issuer=Vigil&algorithm=SHA256&digits=8"
      "&period=60");
}

TEST(TotpUriTest, NoIssuer) {
  EXPECT_EQ(TotpUri("", "bob", "MZXW6"), "otpauth://totp/bob?secret=MZXW6");
}

// ---------------------------------------------------------------------------------------------
// Base32: RFC 4648 section 10

struct Base32Vector {
  const char* plain;
  const char* padded;
  const char* unpadded;
};

class Rfc4648Test : public ::testing::TestWithParam<Base32Vector> {};

TEST_P(Rfc4648Test, EncodesWithoutPadding) {
  EXPECT_EQ(Base32Encode(GetParam().plain), GetParam().unpadded);
}

TEST_P(Rfc4648Test, DecodesPaddedAndUnpadded) {
  Result<std::string> padded = Base32Decode(GetParam().padded);
  ASSERT_TRUE(padded.has_value()) << padded.error().ToString();
  EXPECT_EQ(*padded, GetParam().plain);
  Result<std::string> unpadded = Base32Decode(GetParam().unpadded);
  ASSERT_TRUE(unpadded.has_value()) << unpadded.error().ToString();
  EXPECT_EQ(*unpadded, GetParam().plain);
}

INSTANTIATE_TEST_SUITE_P(
    Section10, Rfc4648Test,
    ::testing::Values(Base32Vector{"", "", ""}, Base32Vector{"f", "MY======", "MY"},
                      Base32Vector{"fo", "MZXQ====", "MZXQ"},
                      Base32Vector{"foo", "MZXW6===", "MZXW6"},
                      Base32Vector{"foob", "MZXW6YQ=", "MZXW6YQ"},
                      Base32Vector{"fooba", "MZXW6YTB", "MZXW6YTB"},
                      Base32Vector{"foobar", "MZXW6YTBOI======", "MZXW6YTBOI"}));

TEST(Base32Test, DecodeIgnoresCaseAndSpaces) {
  Result<std::string> decoded = Base32Decode("mzxw 6ytb oi==");
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "foobar");
}

TEST(Base32Test, DecodeRejectsCharactersOutsideTheAlphabet) {
  for (const char* text : {"MZXW1", "MZXW8", "MZXW0", "MZ-W6", "MZXW6\n", "MZ\xC3\xA9"}) {
    Result<std::string> decoded = Base32Decode(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code(), ErrorCode::kInvalidArgument) << text;
  }
  Result<std::string> with_nul = Base32Decode(std::string("MZ\0W6", 5));
  ASSERT_FALSE(with_nul.has_value());
  EXPECT_EQ(with_nul.error().code(), ErrorCode::kInvalidArgument);
}

TEST(Base32Test, DecodeRejectsImpossibleLengths) {
  for (const char* text : {"M", "MZX", "MZXW6Y", "MZXW6YTBO"}) {
    Result<std::string> decoded = Base32Decode(text);
    ASSERT_FALSE(decoded.has_value()) << text;
    EXPECT_EQ(decoded.error().code(), ErrorCode::kInvalidArgument) << text;
  }
}

TEST(Base32Test, RoundTripsBinary) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  for (size_t len = 0; len <= bytes.size(); len += 7) {
    const std::string slice = bytes.substr(0, len);
    Result<std::string> decoded = Base32Decode(Base32Encode(slice));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, slice);
  }
}

// ---------------------------------------------------------------------------------------------
// Passwords

TEST(PasswordTest, HashThenVerify) {
  Result<std::string> hash = HashPassword("correct horse", PasswordCost::kMinimum);
  ASSERT_TRUE(hash.has_value()) << hash.error().ToString();
  EXPECT_THAT(*hash, StartsWith("$argon2id$v=19$m="));
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsf"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct hors"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordTest, InteractiveCost) {
  Result<std::string> hash = HashPassword("s3cret!", PasswordCost::kInteractive);
  ASSERT_TRUE(hash.has_value()) << hash.error().ToString();
  EXPECT_THAT(*hash, HasSubstr("m=65536,t=2,p=1"));
  EXPECT_TRUE(VerifyPassword(*hash, "s3cret!"));
  EXPECT_FALSE(VerifyPassword(*hash, "s3cret?"));
}

TEST(PasswordTest, SamePasswordHashesDifferently) {
  Result<std::string> a = HashPassword("pw", PasswordCost::kMinimum);
  Result<std::string> b = HashPassword("pw", PasswordCost::kMinimum);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);  // random salt
}

TEST(PasswordTest, EmptyOrOverlongPasswordIsInvalidArgument) {
  Result<std::string> empty = HashPassword("", PasswordCost::kMinimum);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);

  Result<std::string> longest = HashPassword(std::string(1024, 'x'), PasswordCost::kMinimum);
  EXPECT_TRUE(longest.has_value());
  Result<std::string> too_long = HashPassword(std::string(1025, 'x'), PasswordCost::kMinimum);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code(), ErrorCode::kInvalidArgument);
}

TEST(PasswordTest, PasswordWithNulBytesIsHashedWhole) {
  const std::string password("ab\0cd", 5);
  Result<std::string> hash = HashPassword(password, PasswordCost::kMinimum);
  ASSERT_TRUE(hash.has_value());
  EXPECT_TRUE(VerifyPassword(*hash, password));
  EXPECT_FALSE(VerifyPassword(*hash, "ab"));
}

TEST(PasswordTest, MalformedEncodedIsFalseNotCrash) {
  Result<std::string> hash = HashPassword("pw", PasswordCost::kMinimum);
  ASSERT_TRUE(hash.has_value());

  EXPECT_FALSE(VerifyPassword("", "pw"));
  EXPECT_FALSE(VerifyPassword("$", "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$", "pw"));
  EXPECT_FALSE(VerifyPassword("not a hash", "pw"));
  EXPECT_FALSE(VerifyPassword(std::string(2048, 'a'), "pw"));
  EXPECT_FALSE(VerifyPassword(*hash + std::string(2048, 'a'), "pw"));
  // An embedded NUL must not let the prefix verify.
  EXPECT_FALSE(VerifyPassword(*hash + std::string(1, '\0') + "junk", "pw"));

  // Every truncation of a valid hash.
  for (size_t len = 0; len < hash->size(); ++len) {
    EXPECT_FALSE(VerifyPassword(hash->substr(0, len), "pw")) << len;
  }
  // Every single-character corruption of the salt and hash parts.
  const size_t tail = hash->rfind('$', hash->rfind('$') - 1);
  for (size_t i = tail; i < hash->size(); ++i) {
    std::string corrupt = *hash;
    corrupt[i] = corrupt[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(VerifyPassword(corrupt, "pw")) << i;
  }
}

TEST(PasswordTest, RandomBytesAreFalseNotCrash) {
  for (int i = 0; i < 200; ++i) {
    const size_t len = RandomUniform(200);
    std::string junk(len, '\0');
    for (char& c : junk) {
      c = static_cast<char>(RandomUniform(256));
    }
    EXPECT_FALSE(VerifyPassword(junk, "pw"));
    // Random bytes behind a plausible prefix exercise libsodium's own parser.
    EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=8,t=1,p=1$" + junk, "pw"));
  }
}

TEST(PasswordTest, TamperedCostParametersAreRefused) {
  // Parameters HashPassword never produces; verifying them would allocate terabytes or loop.
  const std::string rest = "$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=4294967295,t=1,p=1" + rest, "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=99999999999,t=1,p=1" + rest, "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=65536,t=4294967295,p=1" + rest, "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=65536,t=0,p=1" + rest, "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=19$m=65536,t=2,p=4" + rest, "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2i$v=19$m=65536,t=2,p=1" + rest, "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$v=16$m=65536,t=2,p=1" + rest, "pw"));
}

// ---------------------------------------------------------------------------------------------
// Tokens, hashes, comparison

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

TEST(RandomTokenTest, LengthAndAlphabet) {
  for (size_t bytes : {size_t{1}, size_t{2}, size_t{3}, size_t{16}, size_t{32}, size_t{64}}) {
    const std::string token = RandomToken(bytes);
    EXPECT_EQ(token.size(), (4 * bytes + 2) / 3) << bytes;
    for (char c : token) {
      EXPECT_TRUE(IsBase64UrlChar(c)) << token;
    }
  }
  EXPECT_EQ(RandomToken().size(), 43u);
  EXPECT_EQ(RandomToken(0), "");
}

TEST(RandomTokenTest, TokensAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(seen.insert(RandomToken()).second);
  }
}

TEST(RandomUniformTest, StaysInRange) {
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t v = RandomUniform(10);
    EXPECT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(RandomUniform(1), 0u);
  EXPECT_EQ(RandomUniform(0), 0u);
}

TEST(Sha256HexTest, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ConstantTimeEqualsTest, ComparesContentAndSize) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace vigil::crypto
