#include "server/auth/auth_service.h"

#include <fmt/format.h>

#include "domain/validate.h"

namespace vigil::server {
namespace {

constexpr const char* kBadCredentials = "wrong e-mail address or password";

domain::Principal PrincipalFor(const domain::User& u) {
  domain::Principal p;
  p.user_id = u.id;
  p.email = u.email;
  p.role = u.role;
  p.client_id = u.client_id;
  p.totp_enabled = u.totp_enabled;
  return p;
}

// Recovery codes: 10 groups "xxxx-xxxx" of an unambiguous alphabet.
std::string NewRecoveryCode() {
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  std::string out;
  for (int i = 0; i < 9; ++i) {
    if (i == 4) {
      out += '-';
      continue;
    }
    out += kAlphabet[crypto::RandomUniform(sizeof(kAlphabet) - 1)];
  }
  return out;
}

std::string NormalizeRecoveryCode(std::string_view code) {
  std::string out;
  for (char c : domain::AsciiLower(code)) {
    if (c != ' ' && c != '-') {
      out += c;
    }
  }
  return out;
}

}  // namespace

AuthService::AuthService(storage::AccountsRepo& repo, const Clock& clock, AuthOptions options)
    : repo_(repo),
      clock_(clock),
      options_(std::move(options)),
      account_throttle_(options_.account_throttle),
      address_throttle_(options_.address_throttle) {
  dummy_hash_ = crypto::HashPassword("vigil-dummy-password", options_.password_cost).value_or("");
}

Result<std::string> AuthService::HashPassword(const std::string& password) {
  return crypto::HashPassword(password, options_.password_cost);
}

Status AuthService::ReserveAttempt(const std::string& account_key, const std::string& address_key,
                                   TimePoint now) {
  std::lock_guard lock(mu_);
  auto wait = account_throttle_.RetryAfter(account_key, now);
  if (!address_key.empty()) {
    wait = std::max(wait, address_throttle_.RetryAfter(address_key, now));
  }
  if (wait.count() > 0) {
    int64_t seconds =
        std::chrono::duration_cast<std::chrono::seconds>(wait + std::chrono::milliseconds(999))
            .count();
    Status s = ResourceExhausted(
        fmt::format("too many failed attempts; try again in {} seconds", seconds));
    s.WithRetryAfter(seconds);
    return s;
  }
  // Counted as a failure now, so parallel guesses cannot all pass the check before any of them
  // is recorded; ReleaseAttempt takes it back when the attempt turns out fine.
  account_throttle_.RecordFailure(account_key, now);
  if (!address_key.empty()) {
    address_throttle_.RecordFailure(address_key, now);
  }
  if (account_throttle_.size() > 100000) {
    account_throttle_.Prune(now);
  }
  if (address_throttle_.size() > 100000) {
    address_throttle_.Prune(now);
  }
  return Status::Ok();
}

void AuthService::ReleaseAttempt(const std::string& account_key, const std::string& address_key,
                                 Outcome outcome) {
  std::lock_guard lock(mu_);
  if (outcome == Outcome::kSucceeded) {
    account_throttle_.Reset(account_key);
  } else {
    account_throttle_.Forgive(account_key);
  }
  if (!address_key.empty()) {
    address_throttle_.Forgive(address_key);
  }
}

Status AuthService::CheckSecondFactor(const storage::UserCredentials& creds,
                                      const LoginRequest& req) {
  if (!creds.user.totp_enabled) {
    return Status::Ok();
  }
  TimePoint now = clock_.Now();
  if (req.recovery_code) {
    bool used =
        repo_
            .ConsumeRecoveryCode(creds.user.id,
                                 crypto::Sha256Hex(NormalizeRecoveryCode(*req.recovery_code)), now)
            .value_or(false);
    if (used) {
      return Status::Ok();
    }
    Status s = Unauthenticated("wrong or already used recovery code");
    s.WithField("recovery_code", "is wrong or already used");
    return s;
  }
  if (!req.totp_code) {
    Status s = Unauthenticated("a two-factor code is required");
    s.WithField("totp_code", "is required");
    return s;
  }
  auto secret = crypto::Base32Decode(creds.totp_secret.value_or(""));
  if (secret) {
    int64_t step = crypto::VerifyTotp(
        *secret, *req.totp_code,
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    if (step >= 0 && repo_.ConsumeTotpStep(creds.user.id, step).value_or(false)) {
      return Status::Ok();
    }
  }
  Status s = Unauthenticated("wrong two-factor code");
  s.WithField("totp_code", "is wrong or was already used");
  return s;
}

Result<LoginResult> AuthService::Login(const LoginRequest& req) {
  TimePoint now = clock_.Now();
  std::string email = domain::AsciiLower(req.email);
  std::string account_key = "account:" + email;
  std::string address_key = "address:" + req.remote_address;
  VIGIL_RETURN_IF_ERROR(ReserveAttempt(account_key, address_key, now));

  storage::AuditContext audit;
  audit.actor_type = domain::ActorType::kUser;
  // What was typed into the e-mail field is not recorded for unknown accounts: it may be a
  // password typed into the wrong box.
  audit.actor_label = "unknown account";
  audit.request_id = req.request_id;
  audit.remote_address = req.remote_address;
  audit.now = now;

  auto creds = repo_.GetCredentialsByEmail(email);
  if (!creds) {
    if (creds.error().code() != ErrorCode::kNotFound) {
      return creds.error();
    }
    (void)crypto::VerifyPassword(dummy_hash_, req.password);
    (void)repo_.Audit("auth.login_failed", "user", std::nullopt, std::nullopt, audit);
    return Unauthenticated(kBadCredentials);
  }
  audit.actor_id = Raw(creds->user.id);
  audit.actor_label = creds->user.email;
  if (!crypto::VerifyPassword(creds->password_hash, req.password) || creds->user.disabled) {
    (void)repo_.Audit("auth.login_failed", "user", Raw(creds->user.id), creds->user.client_id,
                      audit);
    return Unauthenticated(kBadCredentials);
  }
  if (Status second = CheckSecondFactor(*creds, req); !second.ok()) {
    // A missing code is the normal first step of a two-step sign-in, not a failure.
    bool missing = !req.totp_code && !req.recovery_code;
    if (missing) {
      ReleaseAttempt(account_key, address_key, Outcome::kNotAFailure);
    } else {
      (void)repo_.Audit("auth.login_failed", "user", Raw(creds->user.id), creds->user.client_id,
                        audit);
    }
    return second;
  }
  ReleaseAttempt(account_key, address_key, Outcome::kSucceeded);

  LoginResult out;
  out.session_token = crypto::RandomToken(32);
  out.csrf_token = crypto::RandomToken(24);
  out.expires_at = now + options_.idle_timeout;
  out.user = creds->user;
  VIGIL_RETURN_IF_ERROR(repo_
                            .CreateSession(creds->user.id, crypto::Sha256Hex(out.session_token),
                                           out.csrf_token, now, out.expires_at, req.remote_address)
                            .status());
  VIGIL_RETURN_IF_ERROR(repo_.RecordLogin(creds->user.id, now));
  VIGIL_RETURN_IF_ERROR(
      repo_.Audit("auth.login", "user", Raw(creds->user.id), creds->user.client_id, audit));
  if (domain::IsStaffRole(creds->user.role) && !creds->user.totp_enabled) {
    VIGIL_ASSIGN_OR_RETURN(out.mfa_enrollment_required, MfaRequiredForStaff());
  }
  return out;
}

Result<bool> AuthService::MfaRequiredForStaff() {
  VIGIL_ASSIGN_OR_RETURN(auto v, repo_.GetSetting(kSettingRequireMfa));
  return v && *v == "true";
}

Result<ResolvedSession> AuthService::ResolveSession(const std::string& session_token, Use use) {
  if (session_token.empty() || session_token.size() > 128) {
    return Unauthenticated("not signed in");
  }
  TimePoint now = clock_.Now();
  auto s = repo_.FindSession(crypto::Sha256Hex(session_token), now);
  if (!s) {
    if (s.error().code() == ErrorCode::kNotFound) {
      return Unauthenticated("the session has expired; sign in again");
    }
    return s.error();
  }
  auto creds = repo_.GetCredentials(s->user_id);
  if (!creds) {
    return creds.error();
  }
  if (creds->user.disabled) {
    return Unauthenticated("the account is disabled");
  }
  // Slide the idle expiry forward, at most once a minute, never past the absolute limit.
  TimePoint hard_end = s->created_at + options_.absolute_timeout;
  if (now >= hard_end) {
    (void)repo_.DeleteSession(s->id);
    return Unauthenticated("the session has expired; sign in again");
  }
  if (use == Use::kUse && now - s->last_seen_at > std::chrono::minutes(1)) {
    (void)repo_.TouchSession(s->id, now, std::min(now + options_.idle_timeout, hard_end));
  }
  ResolvedSession out;
  out.principal = PrincipalFor(creds->user);
  out.principal.method = domain::AuthMethod::kSession;
  out.session_id = s->id;
  out.csrf_token = s->csrf_token;
  return out;
}

Result<domain::Principal> AuthService::ResolveToken(const std::string& bearer, Use use) {
  if (bearer.size() < 8 || bearer.size() > 128) {
    return Unauthenticated("invalid API token");
  }
  TimePoint now = clock_.Now();
  auto rec = repo_.FindToken(crypto::Sha256Hex(bearer), now);
  if (!rec) {
    if (rec.error().code() == ErrorCode::kNotFound) {
      return Unauthenticated("invalid, revoked or expired API token");
    }
    return rec.error();
  }
  if (use == Use::kUse &&
      (!rec->token.last_used_at || now - *rec->token.last_used_at > std::chrono::minutes(1))) {
    (void)repo_.TouchToken(rec->token.id, now);
  }
  domain::Principal p = PrincipalFor(rec->user);
  p.method = domain::AuthMethod::kApiToken;
  p.token_id = rec->token.id;
  p.scope = rec->token.scope;
  return p;
}

Status AuthService::Logout(SessionId session) { return repo_.DeleteSession(session); }

Status AuthService::ChangePassword(const domain::Principal& who, std::optional<SessionId> keep,
                                   const std::string& current, const std::string& next,
                                   const storage::AuditContext& audit) {
  VIGIL_ASSIGN_OR_RETURN(auto creds, repo_.GetCredentials(who.user_id));
  std::string key = "account:" + creds.user.email;
  TimePoint now = clock_.Now();
  VIGIL_RETURN_IF_ERROR(ReserveAttempt(key, "", now));
  if (!crypto::VerifyPassword(creds.password_hash, current)) {
    return FieldInvalid("current_password", "is wrong");
  }
  ReleaseAttempt(key, "", Outcome::kNotAFailure);
  if (auto err = domain::CheckPassword(next)) {
    return FieldInvalid("new_password", *err);
  }
  VIGIL_ASSIGN_OR_RETURN(std::string hash, HashPassword(next));
  return repo_.SetPassword(who.user_id, hash, keep, audit);
}

Result<TotpSetup> AuthService::BeginTotp(const domain::Principal& who) {
  std::string secret(20, '\0');
  for (auto& c : secret) {
    c = static_cast<char>(crypto::RandomUniform(256));
  }
  TotpSetup out;
  out.secret_base32 = crypto::Base32Encode(secret);
  out.otpauth_uri = crypto::TotpUri(options_.totp_issuer, who.email, out.secret_base32);
  VIGIL_RETURN_IF_ERROR(repo_.SetPendingTotp(who.user_id, out.secret_base32));
  return out;
}

Result<std::vector<std::string>> AuthService::ConfirmTotp(const domain::Principal& who,
                                                          std::optional<SessionId> keep_session,
                                                          const std::string& code,
                                                          const storage::AuditContext& audit) {
  VIGIL_ASSIGN_OR_RETURN(auto creds, repo_.GetCredentials(who.user_id));
  if (creds.user.totp_enabled) {
    return FailedPrecondition("two-factor authentication is already enabled");
  }
  if (!creds.totp_secret) {
    return FailedPrecondition("start the set-up first (POST /api/v1/auth/totp/setup)");
  }
  std::string key = "account:" + creds.user.email;
  TimePoint now = clock_.Now();
  VIGIL_RETURN_IF_ERROR(ReserveAttempt(key, "", now));
  VIGIL_ASSIGN_OR_RETURN(std::string secret, crypto::Base32Decode(*creds.totp_secret));
  int64_t step = crypto::VerifyTotp(
      secret, code,
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count());
  if (step < 0) {
    return FieldInvalid("code", "is wrong; check the authenticator's clock");
  }
  ReleaseAttempt(key, "", Outcome::kNotAFailure);
  std::vector<std::string> codes;
  std::vector<std::string> hashes;
  for (int i = 0; i < 10; ++i) {
    codes.push_back(NewRecoveryCode());
    hashes.push_back(crypto::Sha256Hex(NormalizeRecoveryCode(codes.back())));
  }
  VIGIL_RETURN_IF_ERROR(
      repo_.EnableTotp(who.user_id, *creds.totp_secret, step, hashes, keep_session, audit));
  return codes;
}

Status AuthService::DisableTotp(const domain::Principal& who, const std::string& password,
                                const std::string& code, const storage::AuditContext& audit) {
  VIGIL_ASSIGN_OR_RETURN(auto creds, repo_.GetCredentials(who.user_id));
  if (!creds.user.totp_enabled) {
    return FailedPrecondition("two-factor authentication is off");
  }
  std::string key = "account:" + creds.user.email;
  TimePoint now = clock_.Now();
  VIGIL_RETURN_IF_ERROR(ReserveAttempt(key, "", now));
  if (!crypto::VerifyPassword(creds.password_hash, password)) {
    return FieldInvalid("password", "is wrong");
  }
  LoginRequest req;
  bool digits_only = code.size() >= 6 && code.size() <= 8 &&
                     code.find_first_not_of("0123456789") == std::string::npos;
  if (digits_only) {
    req.totp_code = code;
  } else {
    req.recovery_code = code;
  }
  if (Status second = CheckSecondFactor(creds, req); !second.ok()) {
    return FieldInvalid("code", "is wrong or was already used");
  }
  ReleaseAttempt(key, "", Outcome::kNotAFailure);
  return repo_.DisableTotp(who.user_id, audit);
}

Result<AuthService::IssuedToken> AuthService::IssueToken(UserId user, const std::string& name,
                                                         domain::TokenScope scope,
                                                         std::optional<TimePoint> expires_at,
                                                         const storage::AuditContext& audit) {
  IssuedToken out;
  out.secret = "vgl_" + crypto::RandomToken(32);
  domain::ApiToken t;
  t.user_id = user;
  t.name = name;
  t.prefix = out.secret.substr(0, 12);
  t.scope = scope;
  t.expires_at = expires_at;
  VIGIL_ASSIGN_OR_RETURN(out.token, repo_.CreateToken(t, crypto::Sha256Hex(out.secret), audit));
  return out;
}

}  // namespace vigil::server
