// Sign-in, sessions, CSRF, API tokens, TOTP two-factor, recovery codes, throttling, the owner's
// two-factor policy.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api_fixture.h"
#include "crypto/crypto.h"

#include <atomic>
#include <thread>

namespace vigil::testing {
namespace {

using nlohmann::json;

class AuthTest : public StoreTest {};

int64_t UnixSeconds(const Clock& c) {
  return std::chrono::duration_cast<std::chrono::seconds>(c.Now().time_since_epoch()).count();
}

TEST_P(AuthTest, SessionCookieIsHttpOnlyStrictAndLogoutEndsIt) {
  ApiFixture f(GetParam());
  auto r = f.Call("POST", "/api/v1/auth/login", Auth::None(),
                  json{{"email", "OWNER@msp.example"}, {"password", ApiFixture::kPassword}});
  ASSERT_EQ(r.status, 200) << r.raw;
  std::string cookie = r.Header("set-cookie");
  EXPECT_NE(cookie.find("vigil_session="), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "no Secure flag over plain HTTP";
  EXPECT_EQ(r.body["user"]["role"], "owner");
  EXPECT_FALSE(r.body.contains("password_hash"));

  Auth s = f.Login(ApiFixture::kOwnerEmail);
  auto me = f.Call("GET", "/api/v1/auth/me", s);
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.body["csrf_token"], s.csrf);
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/logout", s).status, 204);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", s).status, 401);
}

TEST_P(AuthTest, UnderTlsTheCookieIsSecureAndHstsIsSent) {
  ApiFixture f(GetParam());
  f.set_tls(true);
  auto r = f.Call("POST", "/api/v1/auth/login", Auth::None(),
                  json{{"email", ApiFixture::kOwnerEmail}, {"password", ApiFixture::kPassword}});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("set-cookie").find("; Secure"), std::string::npos);
  EXPECT_NE(r.Header("strict-transport-security").find("max-age="), std::string::npos);
}

TEST_P(AuthTest, WrongPasswordAndUnknownUserLookTheSame) {
  ApiFixture f(GetParam());
  auto a = f.Call("POST", "/api/v1/auth/login", Auth::None(),
                  json{{"email", ApiFixture::kOwnerEmail}, {"password", "wrong password!"}});
  auto b = f.Call("POST", "/api/v1/auth/login", Auth::None(),
                  json{{"email", "nobody@example.com"}, {"password", "wrong password!"}});
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(b.status, 401);
  EXPECT_EQ(a.body["detail"], b.body["detail"]);
  EXPECT_TRUE(a.Header("set-cookie").empty());
}

TEST_P(AuthTest, CsrfTokenRequiredForStateChangesWithCookies) {
  ApiFixture f(GetParam());
  Auth s = f.Login(ApiFixture::kOwnerEmail);
  Auth no_csrf = Auth::Session(s.cookie, "");
  Auth bad_csrf = Auth::Session(s.cookie, "x" + s.csrf);
  int64_t before = f.Count("clients");
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", no_csrf, json{{"name", "A"}}).status, 403);
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", bad_csrf, json{{"name", "A"}}).status, 403);
  EXPECT_EQ(f.Count("clients"), before);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", no_csrf).status, 200) << "reads need no CSRF token";
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", s, json{{"name", "A"}}).status, 201);
}

TEST_P(AuthTest, SessionsExpireWhenIdleAndAfterTheAbsoluteLimit) {
  ApiFixture f(GetParam());
  Auth s = f.Login(ApiFixture::kOwnerEmail);
  f.clock().Advance(std::chrono::hours(7));
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", s).status, 200) << "used within the idle limit";
  f.clock().Advance(std::chrono::hours(7));
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", s).status, 200) << "sliding expiry";
  f.clock().Advance(std::chrono::hours(9));
  auto r = f.Call("GET", "/api/v1/auth/me", s);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body["detail"].get<std::string>().find("expired"), std::string::npos);

  Auth t = f.Login(ApiFixture::kOwnerEmail);
  for (int i = 0; i < 25; ++i) {  // used every 7 hours: still ends after 7 days
    f.clock().Advance(std::chrono::hours(7));
    if (f.Call("GET", "/api/v1/auth/me", t).status != 200) {
      EXPECT_GE(i, 23);
      return;
    }
  }
  ADD_FAILURE() << "session outlived the absolute limit";
}

TEST_P(AuthTest, ApiTokensAreShownOnceScopedAndRevocable) {
  ApiFixture f(GetParam());
  auto created =
      f.Call("POST", "/api/v1/tokens", f.owner(), json{{"name", "ro"}, {"scope", "read"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  std::string secret = created.body["secret"];
  EXPECT_EQ(secret.rfind("vgl_", 0), 0u);
  Auth ro = Auth::Token(secret);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", ro).status, 200);
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", ro, json{{"name", "X"}}).status, 403);
  auto list = f.Call("GET", "/api/v1/tokens", f.owner());
  EXPECT_EQ(list.raw.find(secret), std::string::npos) << "the secret is never shown again";
  EXPECT_EQ(list.raw.find(crypto::Sha256Hex(secret)), std::string::npos);
  int64_t id = created.body["id"];
  EXPECT_EQ(f.Call("DELETE", fmt::format("/api/v1/tokens/{}", id), f.owner()).status, 204);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", ro).status, 401) << "revocation is immediate";
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", Auth::Token("vgl_forged")).status, 401);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", Auth::Token("")).status, 401);
}

TEST_P(AuthTest, ExpiringTokens) {
  ApiFixture f(GetParam());
  auto created = f.Call("POST", "/api/v1/tokens", f.owner(),
                        json{{"name", "short"}, {"scope", "write"}, {"expires_in_days", 1}});
  ASSERT_EQ(created.status, 201);
  Auth t = Auth::Token(created.body["secret"]);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", t).status, 200);
  f.clock().Advance(std::chrono::hours(25));
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", t).status, 401);
}

TEST_P(AuthTest, TotpEnrolmentLoginReplayAndRecoveryCodes) {
  ApiFixture f(GetParam());
  Auth s = f.Login(ApiFixture::kOwnerEmail);
  auto setup = f.Call("POST", "/api/v1/auth/totp/setup", s);
  ASSERT_EQ(setup.status, 200) << setup.raw;
  std::string secret = *crypto::Base32Decode(setup.body["secret"].get<std::string>());
  EXPECT_NE(setup.body["otpauth_uri"].get<std::string>().find("otpauth://totp/"),
            std::string::npos);

  EXPECT_EQ(f.Call("POST", "/api/v1/auth/totp/confirm", s, json{{"code", "000000"}}).status, 400);
  std::string code = *crypto::TotpCode(secret, UnixSeconds(f.clock()));
  auto confirm = f.Call("POST", "/api/v1/auth/totp/confirm", s, json{{"code", code}});
  ASSERT_EQ(confirm.status, 200) << confirm.raw;
  ASSERT_EQ(confirm.body["recovery_codes"].size(), 10u);
  std::string recovery = confirm.body["recovery_codes"][0];

  // Password alone is no longer enough.
  auto no_code =
      f.Call("POST", "/api/v1/auth/login", Auth::None(),
             json{{"email", ApiFixture::kOwnerEmail}, {"password", ApiFixture::kPassword}});
  EXPECT_EQ(no_code.status, 401);
  EXPECT_EQ(no_code.FirstErrorField(), "totp_code");
  // The code used for enrolment cannot be replayed.
  auto replay = f.Call("POST", "/api/v1/auth/login", Auth::None(),
                       json{{"email", ApiFixture::kOwnerEmail},
                            {"password", ApiFixture::kPassword},
                            {"totp_code", code}});
  EXPECT_EQ(replay.status, 401);
  f.clock().Advance(std::chrono::seconds(30));
  std::string next = *crypto::TotpCode(secret, UnixSeconds(f.clock()));
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(),
                   json{{"email", ApiFixture::kOwnerEmail},
                        {"password", ApiFixture::kPassword},
                        {"totp_code", next}})
                .status,
            200);
  // Recovery codes work once.
  json with_recovery = {{"email", ApiFixture::kOwnerEmail},
                        {"password", ApiFixture::kPassword},
                        {"recovery_code", recovery}};
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), with_recovery).status, 200);
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), with_recovery).status, 401);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", s).body["recovery_codes_left"], 9);
}

TEST_P(AuthTest, FailedSignInsAreThrottledPerAccount) {
  ApiFixture f(GetParam());
  json wrong = {{"email", ApiFixture::kOwnerEmail}, {"password", "not the password"}};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), wrong).status, 401);
  }
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), wrong).status, 401);  // 6th: locks
  json right = {{"email", ApiFixture::kOwnerEmail}, {"password", ApiFixture::kPassword}};
  auto locked = f.Call("POST", "/api/v1/auth/login", Auth::None(), right);
  EXPECT_EQ(locked.status, 429) << "even the right password waits during the lock-out";
  EXPECT_EQ(locked.Header("retry-after"), "1");
  f.clock().Advance(std::chrono::seconds(2));
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), right).status, 200);
  auto audit = f.Call("GET", "/api/v1/audit?action=auth.login_failed", f.owner());
  EXPECT_EQ(audit.body["total"], 6);
}

TEST_P(AuthTest, FailedSignInsAreThrottledPerAddress) {
  ApiFixture f(GetParam());
  for (int i = 0; i < 21; ++i) {
    json wrong = {{"email", fmt::format("spray{}@example.com", i)}, {"password", "guess guess"}};
    f.Call("POST", "/api/v1/auth/login", Auth::None(), wrong.dump(), "application/json",
           "10.9.9.9");
  }
  json right = {{"email", ApiFixture::kOwnerEmail}, {"password", ApiFixture::kPassword}};
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), right.dump(), "application/json",
                   "10.9.9.9")
                .status,
            429);
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(), right.dump(), "application/json",
                   "10.1.1.1")
                .status,
            200);
}

TEST_P(AuthTest, OwnerCanRequireTwoFactorForStaff) {
  ApiFixture f(GetParam());
  std::string tech_email;
  Auth tech_token = f.UserWithToken(domain::Role::kTechnician, std::nullopt, &tech_email);
  std::string client_email;
  ClientId c = f.CreateClient("Acme");
  f.UserWithToken(domain::Role::kClientUser, c, &client_email);
  auto refused =
      f.Call("PATCH", "/api/v1/settings", f.owner(), json{{"require_mfa_for_staff", true}});
  EXPECT_EQ(refused.status, 409) << "an owner without two-factor would lock themselves out";
  auto owner_setup = f.Call("POST", "/api/v1/auth/totp/setup", f.owner());
  std::string owner_secret = *crypto::Base32Decode(owner_setup.body["secret"].get<std::string>());
  ASSERT_EQ(f.Call("POST", "/api/v1/auth/totp/confirm", f.owner(),
                   json{{"code", *crypto::TotpCode(owner_secret, UnixSeconds(f.clock()))}})
                .status,
            200);
  auto set = f.Call("PATCH", "/api/v1/settings", f.owner(), json{{"require_mfa_for_staff", true}});
  ASSERT_EQ(set.status, 200) << set.raw;
  EXPECT_EQ(set.body["require_mfa_for_staff"], true);

  auto login = f.Call("POST", "/api/v1/auth/login", Auth::None(),
                      json{{"email", tech_email}, {"password", ApiFixture::kPassword}});
  ASSERT_EQ(login.status, 200);
  EXPECT_EQ(login.body["mfa_enrollment_required"], true);
  Auth tech = f.Login(tech_email);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", tech).status, 403);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", tech_token).status, 403) << "tokens too";
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", tech).status, 200);
  auto setup = f.Call("POST", "/api/v1/auth/totp/setup", tech);
  ASSERT_EQ(setup.status, 200);
  std::string secret = *crypto::Base32Decode(setup.body["secret"].get<std::string>());
  ASSERT_EQ(f.Call("POST", "/api/v1/auth/totp/confirm", tech,
                   json{{"code", *crypto::TotpCode(secret, UnixSeconds(f.clock()))}})
                .status,
            200);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", tech).status, 200);
  // Client contacts are not staff: the policy does not apply to them.
  Auth contact = f.Login(client_email);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients", contact).status, 200);
}

TEST_P(AuthTest, ParallelGuessesCannotOutrunTheThrottle) {
  ApiFixture f(GetParam());
  std::string wrong =
      json{{"email", ApiFixture::kOwnerEmail}, {"password", "guessing in parallel"}}.dump();
  std::atomic<int> unauthorized{0}, throttled{0};
  std::vector<std::thread> threads;
  threads.reserve(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      int s = f.Call("POST", "/api/v1/auth/login", Auth::None(), wrong).status;
      (s == 401 ? unauthorized : throttled)++;
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  // 5 free attempts and the one that locks; every other guess waits, however they interleave.
  EXPECT_EQ(unauthorized.load(), 6);
  EXPECT_EQ(throttled.load(), 10);
}

TEST_P(AuthTest, UnknownAccountsAreAuditedWithoutWhatWasTyped) {
  ApiFixture f(GetParam());
  f.Call("POST", "/api/v1/auth/login", Auth::None(),
         json{{"email", "my secret password"}, {"password", "x"}});
  auto log = f.Call("GET", "/api/v1/audit?action=auth.login_failed", f.owner());
  ASSERT_EQ(log.body["total"], 1);
  EXPECT_EQ(log.body["items"][0]["actor"]["label"], "unknown account");
  EXPECT_EQ(log.raw.find("my secret password"), std::string::npos);
}

TEST_P(AuthTest, ASessionCookieSentTwiceIsRefused) {
  ApiFixture f(GetParam());
  Auth s = f.Login(ApiFixture::kOwnerEmail);
  Auth twice = Auth::Session(s.cookie + "; vigil_session=planted", s.csrf);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", twice).status, 401);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", s).status, 200);
}

TEST_P(AuthTest, EnablingTwoFactorEndsOtherSessions) {
  ApiFixture f(GetParam());
  Auth a = f.Login(ApiFixture::kOwnerEmail);
  Auth b = f.Login(ApiFixture::kOwnerEmail);
  auto setup = f.Call("POST", "/api/v1/auth/totp/setup", a);
  std::string secret = *crypto::Base32Decode(setup.body["secret"].get<std::string>());
  // A second set-up in another tab replaces the pending secret: the first code no longer fits.
  auto setup2 = f.Call("POST", "/api/v1/auth/totp/setup", b);
  std::string secret2 = *crypto::Base32Decode(setup2.body["secret"].get<std::string>());
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/totp/confirm", a,
                   json{{"code", *crypto::TotpCode(secret, UnixSeconds(f.clock()))}})
                .status,
            400);
  ASSERT_EQ(f.Call("POST", "/api/v1/auth/totp/confirm", a,
                   json{{"code", *crypto::TotpCode(secret2, UnixSeconds(f.clock()))}})
                .status,
            200);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", a).status, 200);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", b).status, 401);
}

TEST_P(AuthTest, AdminsCannotRevokeAnOwnersToken) {
  ApiFixture f(GetParam());
  Auth admin = f.UserWithToken(domain::Role::kAdmin, std::nullopt);
  auto owners = f.Call("POST", "/api/v1/tokens", f.owner(), json{{"name", "o"}, {"scope", "read"}});
  int64_t id = owners.body["id"];
  EXPECT_EQ(f.Call("DELETE", fmt::format("/api/v1/tokens/{}", id), admin).status, 404);
  Auth tech = f.UserWithToken(domain::Role::kTechnician, std::nullopt);
  auto techs = f.Call("POST", "/api/v1/tokens", tech, json{{"name", "t"}, {"scope", "read"}});
  int64_t tid = techs.body["id"];
  EXPECT_EQ(f.Call("DELETE", fmt::format("/api/v1/tokens/{}", tid), admin).status, 204);
}

TEST_P(AuthTest, PasswordChangeEndsOtherSessions) {
  ApiFixture f(GetParam());
  Auth a = f.Login(ApiFixture::kOwnerEmail);
  Auth b = f.Login(ApiFixture::kOwnerEmail);
  auto wrong = f.Call("POST", "/api/v1/auth/password", a,
                      json{{"current_password", "nope nope nope"}, {"new_password", "x"}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.FirstErrorField(), "current_password");
  auto weak = f.Call("POST", "/api/v1/auth/password", a,
                     json{{"current_password", ApiFixture::kPassword}, {"new_password", "short"}});
  EXPECT_EQ(weak.FirstErrorField(), "new_password");
  ASSERT_EQ(f.Call("POST", "/api/v1/auth/password", a,
                   json{{"current_password", ApiFixture::kPassword},
                        {"new_password", "a much better passphrase"}})
                .status,
            204);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", a).status, 200);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", b).status, 401);
  f.Login(ApiFixture::kOwnerEmail, "a much better passphrase");
}

TEST_P(AuthTest, DisabledUsersAreLockedOutAtOnce) {
  ApiFixture f(GetParam());
  std::string email;
  UserId id;
  Auth token = f.UserWithToken(domain::Role::kTechnician, std::nullopt, &email, &id);
  Auth session = f.Login(email);
  ASSERT_EQ(
      f.Call("PATCH", fmt::format("/api/v1/users/{}", Raw(id)), f.owner(), json{{"disabled", true}})
          .status,
      200);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", token).status, 401);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", session).status, 401);
  EXPECT_EQ(f.Call("POST", "/api/v1/auth/login", Auth::None(),
                   json{{"email", email}, {"password", ApiFixture::kPassword}})
                .status,
            401);
}

TEST_P(AuthTest, TheLastOwnerCannotBeDemoted) {
  ApiFixture f(GetParam());
  auto r = f.Call("PATCH", "/api/v1/users/1", f.owner(), json{{"role", "admin"}});
  EXPECT_EQ(r.status, 409) << r.raw;
  EXPECT_EQ(f.Call("PATCH", "/api/v1/users/1", f.owner(), json{{"disabled", true}}).status, 409);
}

INSTANTIATE_TEST_SUITE_P(Stores, AuthTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace vigil::testing
