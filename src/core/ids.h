#pragma once

// Strong id types: a ClientId cannot be passed where a UserId is expected.

#include <cstdint>
#include <string>

namespace vigil {

enum class ClientId : int64_t {};
enum class SiteId : int64_t {};
enum class ContactId : int64_t {};
enum class UserId : int64_t {};
enum class TokenId : int64_t {};
enum class SessionId : int64_t {};
enum class AuditId : int64_t {};
enum class DeviceId : int64_t {};
enum class EnrollmentTokenId : int64_t {};

template <typename Id>
constexpr int64_t Raw(Id id) {
  return static_cast<int64_t>(id);
}

template <typename Id>
std::string IdToString(Id id) {
  return std::to_string(Raw(id));
}

}  // namespace vigil
