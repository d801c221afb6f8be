#include "core/status.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, EveryCodeMapsToAnHttpStatusAndName) {
  struct Case {
    ErrorCode code;
    int http;
    std::string_view name;
  };
  const Case cases[] = {
      {ErrorCode::kInvalidArgument, 400, "invalid_argument"},
      {ErrorCode::kUnauthenticated, 401, "unauthenticated"},
      {ErrorCode::kPermissionDenied, 403, "permission_denied"},
      {ErrorCode::kNotFound, 404, "not_found"},
      {ErrorCode::kMethodNotAllowed, 405, "method_not_allowed"},
      {ErrorCode::kAlreadyExists, 409, "already_exists"},
      {ErrorCode::kFailedPrecondition, 409, "failed_precondition"},
      {ErrorCode::kPayloadTooLarge, 413, "payload_too_large"},
      {ErrorCode::kUnsupportedMediaType, 415, "unsupported_media_type"},
      {ErrorCode::kUnprocessable, 422, "unprocessable"},
      {ErrorCode::kResourceExhausted, 429, "resource_exhausted"},
      {ErrorCode::kInternal, 500, "internal"},
      {ErrorCode::kUnavailable, 503, "unavailable"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HttpStatusFor(c.code), c.http) << c.name;
    EXPECT_EQ(ErrorCodeName(c.code), c.name);
    EXPECT_FALSE(ErrorCodeTitle(c.code).empty());
  }
}

TEST(StatusTest, FieldErrorsAccumulateAndNameTheMessage) {
  Status s = FieldInvalid("name", "must not be empty");
  s.WithField("email", "is required");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "name: must not be empty");
  ASSERT_EQ(s.field_errors().size(), 2u);
  EXPECT_EQ(s.field_errors()[1], (FieldError{"email", "is required"}));
}

Result<int> Half(int x) {
  if (x % 2 != 0) {
    return InvalidArgument("odd");
  }
  return x / 2;
}

Result<int> Quarter(int x) {
  VIGIL_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(ResultDeathTest, ValueOfErrorIsABug) {
  auto r = Half(3);
  EXPECT_DEATH((void)r.value(), "VIGIL_CHECK failed");
}

}  // namespace
}  // namespace vigil
