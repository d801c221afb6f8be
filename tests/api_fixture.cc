#include "api_fixture.h"

#include <fmt/format.h>

#include <cstdlib>

#include "crypto/crypto.h"
#include "storage/database.h"

namespace vigil::testing {

std::string Response::FirstErrorField() const {
  if (!body.is_object() || !body.contains("errors") || body["errors"].empty()) {
    return "";
  }
  return body["errors"][0].value("field", "");
}

std::vector<std::string> StoreKinds() { return {"sqlite", "postgres"}; }

void StoreTest::SetUp() {
  const char* pg = std::getenv("VIGIL_TEST_PG_URL");
  if (GetParam() == "postgres" && (pg == nullptr || *pg == '\0')) {
    GTEST_SKIP() << "VIGIL_TEST_PG_URL is not set (scripts/test.sh starts a PostgreSQL)";
  }
}

namespace {

// A PostgreSQL URL whose connections use `schema` as their search_path.
std::string WithSearchPath(const std::string& url, const std::string& schema) {
  std::string sep = url.find('?') == std::string::npos ? "?" : "&";
  return url + sep + "options=-csearch_path%3D" + schema;
}

}  // namespace

ApiFixture::ApiFixture(const std::string& store) : clock_(FromUnixMillis(1'795'000'000'000)) {
  EXPECT_TRUE(crypto::Init().ok());
  dir_ = std::filesystem::temp_directory_path() /
         fmt::format("vigil-api-{}-{}", getpid(), crypto::RandomToken(6));
  std::filesystem::create_directories(dir_);
  server::AppOptions options;
  options.data_dir = dir_.string();
  options.auth.password_cost = crypto::PasswordCost::kMinimum;
  if (store == "postgres") {
    std::string base = std::getenv("VIGIL_TEST_PG_URL");
    pg_schema_ = "t_" + crypto::Sha256Hex(crypto::RandomToken(8)).substr(0, 12);
    auto admin = storage::OpenDatabase(base);
    EXPECT_TRUE(admin.has_value()) << admin.status().ToString();
    if (admin) {
      Status st = (*admin)->Write(
          [&](storage::Tx& tx) { return tx.Exec("CREATE SCHEMA " + pg_schema_).status(); });
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    options.store_url = WithSearchPath(base, pg_schema_);
  }
  auto app = server::App::Create(options, clock_);
  if (!app) {
    ADD_FAILURE() << "App::Create: " << app.error().ToString();
    return;
  }
  app_ = std::move(*app);
  auto owner = app_->EnsureOwner(kOwnerEmail, kPassword);
  EXPECT_TRUE(owner.has_value()) << owner.status().ToString();
  owner_ = Login(kOwnerEmail);
}

ApiFixture::~ApiFixture() {
  app_.reset();
  if (!pg_schema_.empty()) {
    auto admin = storage::OpenDatabase(std::getenv("VIGIL_TEST_PG_URL"));
    if (admin) {
      (void)(*admin)->Write([&](storage::Tx& tx) {
        return tx.Exec("DROP SCHEMA " + pg_schema_ + " CASCADE").status();
      });
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Response ApiFixture::Call(const std::string& method, const std::string& target, const Auth& auth,
                          const std::string& body, const std::string& content_type,
                          const std::string& remote) {
  net::HttpRequest req;
  req.method = method;
  req.target = target;
  auto q = target.find('?');
  req.path = *net::PercentDecode(target.substr(0, q));
  req.query = q == std::string::npos ? "" : target.substr(q + 1);
  req.body = body;
  req.remote_address = remote;
  req.tls = tls_;
  bool has_body = method == "POST" || method == "PATCH" || method == "PUT";
  if (has_body && !content_type.empty()) {
    req.headers.emplace_back("content-type", content_type);
  }
  if (!auth.bearer.empty()) {
    req.headers.emplace_back("authorization", "Bearer " + auth.bearer);
  }
  if (!auth.cookie.empty()) {
    req.headers.emplace_back("cookie", "theme=dark; vigil_session=" + auth.cookie);
  }
  if (!auth.csrf.empty()) {
    req.headers.emplace_back("x-csrf-token", auth.csrf);
  }
  clock_.Advance(std::chrono::milliseconds(1));
  Response r;
  r.http = app_->Handle(req);
  app_->Decorate(&req, r.http);
  r.status = r.http.status;
  r.raw = r.http.body;
  r.body = nlohmann::json::parse(r.raw, nullptr, false);
  if (r.body.is_discarded()) {
    r.body = nullptr;
  }
  return r;
}

Response ApiFixture::Call(const std::string& method, const std::string& target, const Auth& auth,
                          const nlohmann::json& body) {
  return Call(method, target, auth, body.dump());
}

Auth ApiFixture::Login(const std::string& email, const std::string& password,
                       const std::string& totp) {
  nlohmann::json body = {{"email", email}, {"password", password}};
  if (!totp.empty()) {
    body["totp_code"] = totp;
  }
  Response r = Call("POST", "/api/v1/auth/login", Auth::None(), body);
  EXPECT_EQ(r.status, 200) << r.raw;
  std::string cookie = r.Header("set-cookie");
  auto start = cookie.find('=') + 1;
  auto end = cookie.find(';');
  if (r.status != 200) {
    return Auth::None();
  }
  return Auth::Session(cookie.substr(start, end - start), r.body.value("csrf_token", ""));
}

Auth ApiFixture::UserWithToken(domain::Role role, std::optional<ClientId> client,
                               std::string* email_out, UserId* id_out) {
  std::string email = fmt::format("{}{}@example.com", domain::RoleName(role), ++users_);
  nlohmann::json body = {{"email", email},
                         {"name", std::string(domain::RoleName(role))},
                         {"role", domain::RoleName(role)},
                         {"password", kPassword}};
  if (client) {
    body["client_id"] = Raw(*client);
  }
  Response r = Call("POST", "/api/v1/users", owner_, body);
  EXPECT_EQ(r.status, 201) << r.raw;
  UserId id{r.body.value("id", int64_t{0})};
  storage::AuditContext audit;
  audit.now = clock_.Now();
  auto token = app_->auth().IssueToken(id, "test", domain::TokenScope::kWrite, std::nullopt, audit);
  EXPECT_TRUE(token.has_value());
  if (email_out) {
    *email_out = email;
  }
  if (id_out) {
    *id_out = id;
  }
  return Auth::Token(token ? token->secret : "");
}

ClientId ApiFixture::CreateClient(const std::string& name) {
  Response r = Call("POST", "/api/v1/clients", owner_, nlohmann::json{{"name", name}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return ClientId{r.body.value("id", int64_t{0})};
}

SiteId ApiFixture::CreateSite(ClientId client, const std::string& name) {
  Response r = Call("POST", fmt::format("/api/v1/clients/{}/sites", Raw(client)), owner_,
                    nlohmann::json{{"name", name}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return SiteId{r.body.value("id", int64_t{0})};
}

ContactId ApiFixture::CreateContact(ClientId client, const std::string& name) {
  Response r = Call("POST", fmt::format("/api/v1/clients/{}/contacts", Raw(client)), owner_,
                    nlohmann::json{{"name", name}, {"email", "c@example.com"}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return ContactId{r.body.value("id", int64_t{0})};
}

ApiFixture::EnrolledDevice ApiFixture::EnrollDevice(ClientId client, const std::string& hostname) {
  auto token = Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", Raw(client)),
                    owner_, nlohmann::json{{"label", "test"}});
  EXPECT_EQ(token.status, 201) << token.raw;
  auto r = Call("POST", "/api/v1/agent/enroll", Auth::None(),
                nlohmann::json{{"token", token.body.value("token", "")},
                               {"hostname", hostname},
                               {"agent_version", "0.1.0"}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return {DeviceId{r.body.value("device_id", int64_t{0})}, r.body.value("credential", "")};
}

int64_t ApiFixture::Count(const std::string& table) {
  int64_t n = -1;
  Status st = app_->db().Read([&](storage::Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM " + table));
    n = rows[0].Int(0);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

int64_t ApiFixture::StoredResults() {
  int64_t n = -1;
  Status st = app_->db().Read([&](storage::Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT COALESCE(SUM(results), 0) FROM check_results"));
    n = rows[0].Int(0);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

}  // namespace vigil::testing
