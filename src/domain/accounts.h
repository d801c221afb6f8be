#pragma once

// The provider's clients, their sites and contacts, Vigil's users and API tokens, and audit
// entries: plain data shared by storage, the API and (later) reports.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "domain/roles.h"

namespace vigil::domain {

// Opening hours of one weekday, minutes since midnight local time; open < close.
struct DayHours {
  int open_minute = 0;
  int close_minute = 0;
  bool operator==(const DayHours&) const = default;
};

// Business hours per weekday (0 = Monday .. 6 = Sunday); nullopt = closed that day.
struct BusinessHours {
  std::optional<DayHours> days[7];
  bool operator==(const BusinessHours&) const = default;
};

// The cost of an hour of downtime: either given directly or computed from its parts
// (staff affected × loaded hourly cost + revenue lost per hour), all in minor units of `currency`.
struct DowntimeCost {
  std::optional<int64_t> per_hour_minor;
  std::optional<int64_t> staff_affected;
  std::optional<int64_t> loaded_hourly_cost_minor;
  std::optional<int64_t> revenue_per_hour_minor;

  // The direct figure when given, else the sum of the parts, else nullopt.
  std::optional<int64_t> EffectivePerHourMinor() const;
  bool operator==(const DowntimeCost&) const = default;
};

enum class ClientStatus : uint8_t { kActive, kArchived };

struct Client {
  ClientId id{};
  std::string name;
  ClientStatus status = ClientStatus::kActive;
  std::string timezone = "UTC";  // IANA name
  BusinessHours business_hours;
  std::optional<int64_t> employees;
  std::string currency = "EUR";  // ISO 4217
  DowntimeCost downtime;
  std::string notes;
  TimePoint created_at;
  TimePoint updated_at;
};

struct Site {
  SiteId id{};
  ClientId client_id{};
  std::string name;
  std::string address;
  std::optional<std::string> timezone;  // nullopt: the client's
  std::string notes;
  TimePoint created_at;
  TimePoint updated_at;
};

struct Contact {
  ContactId id{};
  ClientId client_id{};
  std::optional<SiteId> site_id;
  std::string name;
  std::string email;
  std::string phone;
  std::string title;
  bool is_primary = false;
  bool is_billing = false;
  bool is_technical = false;
  TimePoint created_at;
  TimePoint updated_at;
};

struct User {
  UserId id{};
  std::string email;  // lower case, unique
  std::string name;
  Role role = Role::kTechnician;
  std::optional<ClientId> client_id;  // set exactly for client roles
  bool disabled = false;
  bool totp_enabled = false;
  TimePoint created_at;
  TimePoint updated_at;
  std::optional<TimePoint> last_login_at;
};

struct ApiToken {
  TokenId id{};
  UserId user_id{};
  std::string name;
  std::string prefix;  // first characters of the secret, to recognise it in lists
  TokenScope scope = TokenScope::kWrite;
  TimePoint created_at;
  std::optional<TimePoint> expires_at;
  std::optional<TimePoint> last_used_at;
  std::optional<TimePoint> revoked_at;
};

enum class ActorType : uint8_t { kUser, kToken, kSystem, kRule };
std::string_view ActorTypeName(ActorType t);

struct AuditEntry {
  AuditId id{};
  TimePoint at;
  ActorType actor_type = ActorType::kSystem;
  std::optional<int64_t> actor_id;  // user id (for kUser and kToken)
  std::optional<int64_t> token_id;
  std::string actor_label;  // e-mail or rule name, as it was then
  std::string action;       // "client.create"
  std::string entity_type;  // "client"
  std::optional<int64_t> entity_id;
  std::optional<ClientId> client_id;
  std::string before_json;  // "" when none
  std::string after_json;
  std::string request_id;
  std::string remote_address;
};

}  // namespace vigil::domain
