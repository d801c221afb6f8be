#pragma once

// AuthService: sign-in, sessions, API tokens, TOTP two-factor and recovery codes.
//
// Sessions: a random secret in an HttpOnly, SameSite=Strict cookie; the store keeps only its
// SHA-256. Each session has a CSRF token that state-changing requests must echo in X-CSRF-Token.
// Sessions expire after `idle_timeout` without use and after `absolute_timeout` in any case.
// API tokens: "vgl_" + 43 random characters, shown once, stored hashed, scoped read/write,
// revocable, optionally expiring.
// Throttling: failed sign-ins are limited per account and per remote address (domain::Throttle).
//
// Thread safety: every method may be called from any thread.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "crypto/crypto.h"
#include "domain/roles.h"
#include "domain/throttle.h"
#include "storage/accounts_repo.h"

namespace vigil::server {

struct AuthOptions {
  std::chrono::milliseconds idle_timeout = std::chrono::hours(8);
  std::chrono::milliseconds absolute_timeout = std::chrono::hours(24 * 7);
  crypto::PasswordCost password_cost = crypto::PasswordCost::kInteractive;
  domain::ThrottlePolicy account_throttle{5, std::chrono::minutes(15), std::chrono::seconds(1),
                                          std::chrono::minutes(15)};
  domain::ThrottlePolicy address_throttle{20, std::chrono::minutes(15), std::chrono::seconds(1),
                                          std::chrono::minutes(15)};
  std::string totp_issuer = "Vigil";
};

struct LoginRequest {
  std::string email;
  std::string password;
  std::optional<std::string> totp_code;
  std::optional<std::string> recovery_code;
  std::string remote_address;
  std::string request_id;
};

struct LoginResult {
  std::string session_token;  // goes into the cookie; never stored
  std::string csrf_token;
  TimePoint expires_at;
  domain::User user;
  // True when the owner requires two-factor for staff and this user must enrol first.
  bool mfa_enrollment_required = false;
};

struct ResolvedSession {
  domain::Principal principal;
  SessionId session_id{};
  std::string csrf_token;
};

struct TotpSetup {
  std::string secret_base32;
  std::string otpauth_uri;
};

class AuthService {
 public:
  AuthService(storage::AccountsRepo& repo, const Clock& clock, AuthOptions options);

  // Errors: kUnauthenticated for wrong credentials, a disabled user or a missing/wrong second
  // factor (field "totp_code" names the missing factor); kResourceExhausted while throttled
  // (message says when to retry).
  Result<LoginResult> Login(const LoginRequest& req);

  // Whether resolving a credential counts as using it. kUse (a request) slides the session's idle
  // expiry and records the token's last use, each at most once a minute; kCheckOnly (the live
  // event stream's re-check on every message) changes neither, so an open console tab that only
  // pings cannot keep an idle session alive.
  enum class Use { kUse, kCheckOnly };

  // Errors: kUnauthenticated for an unknown or expired session (or a disabled user).
  Result<ResolvedSession> ResolveSession(const std::string& session_token, Use use = Use::kUse);
  // Errors: kUnauthenticated for an unknown, revoked or expired token.
  Result<domain::Principal> ResolveToken(const std::string& bearer, Use use = Use::kUse);

  Status Logout(SessionId session);

  const AuthOptions& options() const { return options_; }

  // True when the owner turned on "two-factor required for staff".
  Result<bool> MfaRequiredForStaff();

  // Hashes a password with the configured cost.
  Result<std::string> HashPassword(const std::string& password);
  // Errors: kUnauthenticated when `current` is wrong; kInvalidArgument for a weak new password.
  Status ChangePassword(const domain::Principal& who, std::optional<SessionId> keep,
                        const std::string& current, const std::string& next,
                        const storage::AuditContext& audit);

  // TOTP enrolment: Begin stores a pending secret; Confirm enables it with a valid code and
  // returns ten one-time recovery codes (shown once).
  Result<TotpSetup> BeginTotp(const domain::Principal& who);
  // Other sessions of the user end (all but `keep_session`).
  Result<std::vector<std::string>> ConfirmTotp(const domain::Principal& who,
                                               std::optional<SessionId> keep_session,
                                               const std::string& code,
                                               const storage::AuditContext& audit);
  // Requires the password and a current code (or a recovery code).
  Status DisableTotp(const domain::Principal& who, const std::string& password,
                     const std::string& code, const storage::AuditContext& audit);

  struct IssuedToken {
    domain::ApiToken token;
    std::string secret;  // shown once
  };
  Result<IssuedToken> IssueToken(UserId user, const std::string& name, domain::TokenScope scope,
                                 std::optional<TimePoint> expires_at,
                                 const storage::AuditContext& audit);

 private:
  Status CheckSecondFactor(const storage::UserCredentials& creds, const LoginRequest& req);
  // Refuses (kResourceExhausted) while a key is locked out; otherwise counts the attempt as a
  // failure in advance. An empty `address_key` is not counted.
  Status ReserveAttempt(const std::string& account_key, const std::string& address_key,
                        TimePoint now);
  enum class Outcome { kSucceeded, kNotAFailure };
  // Takes a reserved attempt back: a success clears the account's failures.
  void ReleaseAttempt(const std::string& account_key, const std::string& address_key,
                      Outcome outcome);

  storage::AccountsRepo& repo_;
  const Clock& clock_;
  AuthOptions options_;
  std::string dummy_hash_;  // verified against for unknown users, so timing does not tell

  std::mutex mu_;
  domain::Throttle account_throttle_;
  domain::Throttle address_throttle_;
};

// The setting key for "two-factor required for staff" ("true"/"false").
inline constexpr const char* kSettingRequireMfa = "require_mfa_for_staff";

}  // namespace vigil::server
