#include "core/status.h"

#include <fmt/format.h>

namespace vigil {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kFailedPrecondition:
      return "failed_precondition";
    case ErrorCode::kUnprocessable:
      return "unprocessable";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kResourceExhausted:
      return "resource_exhausted";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kUnprocessable:
      return 422;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string_view ErrorCodeTitle(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "Invalid argument";
    case ErrorCode::kUnauthenticated:
      return "Authentication required";
    case ErrorCode::kPermissionDenied:
      return "Permission denied";
    case ErrorCode::kNotFound:
      return "Not found";
    case ErrorCode::kAlreadyExists:
      return "Already exists";
    case ErrorCode::kFailedPrecondition:
      return "Failed precondition";
    case ErrorCode::kUnprocessable:
      return "Unprocessable";
    case ErrorCode::kPayloadTooLarge:
      return "Payload too large";
    case ErrorCode::kUnsupportedMediaType:
      return "Unsupported media type";
    case ErrorCode::kMethodNotAllowed:
      return "Method not allowed";
    case ErrorCode::kResourceExhausted:
      return "Too many requests";
    case ErrorCode::kUnavailable:
      return "Service unavailable";
    case ErrorCode::kInternal:
      return "Internal error";
  }
  return "Internal error";
}

Status& Status::WithField(std::string field, std::string detail) {
  if (message_.empty()) {
    message_ = field + ": " + detail;
  }
  field_errors_.push_back({std::move(field), std::move(detail)});
  return *this;
}

Status FieldsInvalid(std::vector<FieldError> errors) {
  if (errors.empty()) {
    return Status(ErrorCode::kInvalidArgument, "invalid input");
  }
  std::string message = errors.size() == 1
                            ? errors[0].field + ": " + errors[0].detail
                            : fmt::format("{} fields are invalid (first: {}: {})", errors.size(),
                                          errors[0].field, errors[0].detail);
  Status s(ErrorCode::kInvalidArgument, std::move(message));
  for (FieldError& e : errors) {
    s.WithField(std::move(e.field), std::move(e.detail));
  }
  return s;
}

std::string Status::ToString() const {
  if (ok()) {
    return "OK";
  }
  std::string out(ErrorCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace vigil
