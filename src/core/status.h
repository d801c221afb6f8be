#pragma once

// Status and Result<T>: expected failures as values.
//
// One canonical list of error codes (ErrorCode). Each code maps once to an HTTP status
// (HttpStatusFor) and to an RFC 9457 problem type; the API layer turns a failed Status into a
// problem+json body. A Status may carry field errors, so a 400 names the fields that were wrong.
//
// Thread safety: values; copy freely.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/check.h"

namespace vigil {

enum class ErrorCode : uint8_t {
  kOk = 0,
  kInvalidArgument,       // 400: the request is malformed or a field is wrong
  kUnauthenticated,       // 401: no or bad credentials
  kPermissionDenied,      // 403: authenticated but not allowed
  kNotFound,              // 404
  kAlreadyExists,         // 409
  kFailedPrecondition,    // 409: the state of the system does not allow this
  kUnprocessable,         // 422: well-formed but semantically invalid
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415: a body that is not JSON
  kMethodNotAllowed,      // 405
  kResourceExhausted,     // 429: throttled
  kUnavailable,           // 503: try again later
  kInternal,              // 500: a bug or an unexpected failure
};

// "invalid_argument", ... : the stable name used in problem types and logs.
std::string_view ErrorCodeName(ErrorCode code);
// The HTTP status a code maps to.
int HttpStatusFor(ErrorCode code);
// The short human title used in problem bodies ("Invalid argument").
std::string_view ErrorCodeTitle(ErrorCode code);

// One wrong field of a request: a JSON pointer-ish path ("name", "contacts[2].email") and why.
struct FieldError {
  std::string field;
  std::string detail;
  bool operator==(const FieldError&) const = default;
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<FieldError>& field_errors() const { return field_errors_; }

  // Adds a field error (the first one also becomes the message if none was given).
  Status& WithField(std::string field, std::string detail);
  // For kResourceExhausted / kUnavailable: when the caller may try again (HTTP Retry-After).
  Status& WithRetryAfter(int64_t seconds) {
    retry_after_seconds_ = seconds;
    return *this;
  }
  std::optional<int64_t> retry_after_seconds() const { return retry_after_seconds_; }

  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::vector<FieldError> field_errors_;
  std::optional<int64_t> retry_after_seconds_;
};

inline Status InvalidArgument(std::string msg) {
  return Status(ErrorCode::kInvalidArgument, std::move(msg));
}
// kInvalidArgument carrying every one of `errors` (at least one), with a message that names the
// first: "name: is required" or "3 fields are invalid (first: name: is required)".
Status FieldsInvalid(std::vector<FieldError> errors);
inline Status FieldInvalid(std::string field, std::string detail) {
  Status s(ErrorCode::kInvalidArgument, "");
  s.WithField(std::move(field), std::move(detail));
  return s;
}
inline Status Unauthenticated(std::string msg) {
  return Status(ErrorCode::kUnauthenticated, std::move(msg));
}
inline Status PermissionDenied(std::string msg) {
  return Status(ErrorCode::kPermissionDenied, std::move(msg));
}
inline Status NotFound(std::string msg) { return Status(ErrorCode::kNotFound, std::move(msg)); }
inline Status AlreadyExists(std::string msg) {
  return Status(ErrorCode::kAlreadyExists, std::move(msg));
}
inline Status FailedPrecondition(std::string msg) {
  return Status(ErrorCode::kFailedPrecondition, std::move(msg));
}
inline Status Unprocessable(std::string msg) {
  return Status(ErrorCode::kUnprocessable, std::move(msg));
}
inline Status PayloadTooLarge(std::string msg) {
  return Status(ErrorCode::kPayloadTooLarge, std::move(msg));
}
inline Status ResourceExhausted(std::string msg) {
  return Status(ErrorCode::kResourceExhausted, std::move(msg));
}
inline Status Unavailable(std::string msg) {
  return Status(ErrorCode::kUnavailable, std::move(msg));
}
inline Status Internal(std::string msg) { return Status(ErrorCode::kInternal, std::move(msg)); }

// Result<T>: a T or a failed Status. Member names follow std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    VIGIL_CHECK(!std::get<Status>(v_).ok());
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    VIGIL_CHECK(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    VIGIL_CHECK(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    VIGIL_CHECK(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The failure; only valid when !has_value().
  const Status& error() const {
    VIGIL_CHECK(!has_value());
    return std::get<Status>(v_);
  }
  // OK when there is a value, else the failure.
  Status status() const { return has_value() ? Status() : std::get<Status>(v_); }

  template <typename U>
  T value_or(U&& other) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(other));
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vigil

#define VIGIL_CONCAT_INNER(a, b) a##b
#define VIGIL_CONCAT(a, b) VIGIL_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define VIGIL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::vigil::Status vigil_status_ = (expr);        \
    if (!vigil_status_.ok()) return vigil_status_; \
  } while (0)

// VIGIL_ASSIGN_OR_RETURN(auto x, ResultExpr()): binds the value or returns the failure.
#define VIGIL_ASSIGN_OR_RETURN(lhs, rexpr) \
  VIGIL_ASSIGN_OR_RETURN_IMPL(VIGIL_CONCAT(vigil_result_, __LINE__), lhs, rexpr)
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration, `tmp` a name.
#define VIGIL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.has_value()) return tmp.error();          \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
