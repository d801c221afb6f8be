#include "testing/owner_app.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "core/check.h"
#include "crypto/crypto.h"

namespace vigil::testing {

OwnerApp::OwnerApp(const std::string& name, const Clock& clock) {
  dir_ =
      std::filesystem::temp_directory_path() / ("vigil-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir_);
  server::AppOptions o;
  o.data_dir = dir_.string();
  o.auth.password_cost = crypto::PasswordCost::kMinimum;
  auto app = server::App::Create(o, clock);
  VIGIL_CHECK(app.has_value());
  app_ = std::move(*app);
  VIGIL_CHECK(app_->EnsureOwner("owner@example.com", "correct horse battery").has_value());
  storage::AuditContext a;
  a.now = clock.Now();
  auto token =
      app_->auth().IssueToken(UserId{1}, name, domain::TokenScope::kWrite, std::nullopt, a);
  VIGIL_CHECK(token.has_value());
  token_ = token->secret;
}

OwnerApp::~OwnerApp() {
  app_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

net::HttpRequest OwnerApp::Request(const std::string& method, const std::string& target,
                                   std::string body) const {
  net::HttpRequest req;
  req.method = method;
  req.target = target;
  auto q = target.find('?');
  req.path = target.substr(0, q);
  req.query = q == std::string::npos ? "" : target.substr(q + 1);
  req.body = std::move(body);
  req.remote_address = "127.0.0.1";
  req.headers = {{"authorization", "Bearer " + token_}, {"content-type", "application/json"}};
  return req;
}

}  // namespace vigil::testing
