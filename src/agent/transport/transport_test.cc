// Tests of the agent's transport against FakeVigild (test_server.h), a real HTTP server on
// 127.0.0.1, and of its pure policies.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/spool/file_system.h"
#include "agent/spool/spool.h"
#include "agent/transport/api.h"
#include "agent/transport/pin.h"
#include "agent/transport/policy.h"
#include "agent/transport/scheduler.h"
#include "agent/transport/sender.h"
#include "agent/transport/state.h"
#include "agent/transport/test_server.h"

namespace vigil::agent::transport {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using testing::FakeVigild;
using ::testing::HasSubstr;
using testing::kCredential;

// Polls `pred` every 10 ms for up to `timeout`.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "vigil_transport_XXXXXX").string();
    EXPECT_NE(::mkdtemp(templ.data()), nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

proto::Observation Obs(std::string check, std::string target, proto::CheckStatus status,
                       std::string message = "fine") {
  proto::Observation o;
  o.observed_at =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  o.result.check = std::move(check);
  o.result.target = std::move(target);
  o.result.status = status;
  o.result.message = std::move(message);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Pure policies

TEST(PolicyTest, JitterStaysWithinTenPercent) {
  EXPECT_EQ(NextRunDelay(60s, 0.0), 60s);
  EXPECT_EQ(NextRunDelay(60s, 0.5), 63s);
  EXPECT_LT(NextRunDelay(60s, 0.999999), 66s);
  EXPECT_GE(NextRunDelay(60s, 0.999999), 65999ms);
  EXPECT_EQ(NextRunDelay(60s, -3.0), 60s);  // clamped
  EXPECT_LT(NextRunDelay(60s, 7.0), 66s);   // clamped below 1
  auto random = SystemRandom();
  for (int i = 0; i < 1000; ++i) {
    auto d = NextRunDelay(10s, random());
    ASSERT_GE(d, 10s);
    ASSERT_LT(d, 11s);
  }
  EXPECT_EQ(FirstRunDelay(5s, 0.0), 0ms);
  EXPECT_EQ(FirstRunDelay(5s, 0.5), 2500ms);
  EXPECT_LT(FirstRunDelay(5s, 0.9999999), 5s);
}

TEST(PolicyTest, BackoffDoublesFromOneSecondToFiveMinutesWithFullJitter) {
  BackoffPolicy p;
  std::vector<std::chrono::milliseconds> caps;
  for (int attempt = 0; attempt < 12; ++attempt) {
    caps.push_back(BackoffCap(p, attempt));
  }
  EXPECT_THAT(caps, ElementsAre(1s, 2s, 4s, 8s, 16s, 32s, 64s, 128s, 256s, 300s, 300s, 300s));
  EXPECT_EQ(BackoffCap(p, 1000), 300s);  // no overflow
  EXPECT_EQ(BackoffDelay(p, 3, 0.0), 1ms);
  EXPECT_EQ(BackoffDelay(p, 3, 0.5), 4s);
  EXPECT_LT(BackoffDelay(p, 3, 0.9999999), 8s);
  EXPECT_LT(BackoffDelay(p, 50, 0.9999999), 300s);
  auto random = SystemRandom();
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto d = BackoffDelay(p, attempt, random());
    ASSERT_GE(d, 1ms);
    ASSERT_LT(d, BackoffCap(p, attempt));
  }
}

TEST(PolicyTest, StatusTrackerReportsChangesPerCheckAndTarget) {
  using proto::CheckStatus;
  StatusTracker t;
  auto r = [](std::string check, std::string target, CheckStatus s) {
    return Obs(std::move(check), std::move(target), s).result;
  };
  EXPECT_FALSE(t.Update({r("disk", "/", CheckStatus::kOk), r("disk", "/srv", CheckStatus::kOk)}));
  EXPECT_FALSE(t.Update({r("disk", "/", CheckStatus::kOk)}));
  EXPECT_FALSE(t.Update({r("cpu", "", CheckStatus::kWarning)}));  // new: not a change
  EXPECT_TRUE(t.Update({r("disk", "/srv", CheckStatus::kCritical)}));
  EXPECT_FALSE(t.Update({r("disk", "/srv", CheckStatus::kCritical)}));
  EXPECT_TRUE(t.Update({r("disk", "/", CheckStatus::kOk), r("cpu", "", CheckStatus::kOk)}));
  EXPECT_EQ(t.size(), 3u);
}

TEST(PolicyTest, SplitKeepsOrderAndCountLimit) {
  std::vector<proto::Observation> obs;
  for (int i = 0; i < 7; ++i) {
    obs.push_back(Obs("disk", "/d" + std::to_string(i), proto::CheckStatus::kOk));
  }
  proto::BatchLimits limits;
  limits.max_observations = 3;
  auto groups = SplitObservations(obs, limits);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].size(), 3u);
  EXPECT_EQ(groups[1].size(), 3u);
  EXPECT_EQ(groups[2].size(), 1u);
  EXPECT_EQ(groups[1][0].result.target, "/d3");
  EXPECT_EQ(groups[2][0].result.target, "/d6");
  EXPECT_TRUE(SplitObservations({}, limits).empty());
}

TEST(PolicyTest, SplitKeepsEveryEncodedBatchUnderTheByteLimit) {
  std::vector<proto::Observation> obs;
  for (int i = 0; i < 200; ++i) {
    obs.push_back(
        Obs("plugin", "t" + std::to_string(i), proto::CheckStatus::kOk, std::string(300 + i, 'x')));
  }
  proto::BatchLimits limits;
  limits.max_gaps = 10;
  limits.max_bytes = 16 << 10;
  auto groups = SplitObservations(obs, limits);
  ASSERT_GT(groups.size(), 5u);
  size_t total = 0;
  for (const auto& g : groups) {
    proto::Batch b;
    b.agent_version = std::string(64, 'v');
    b.sequence = UINT64_MAX;
    b.observations = g;
    for (size_t i = 0; i < limits.max_gaps; ++i) {
      b.gaps.push_back({UINT64_MAX - 1, UINT64_MAX - 1});
    }
    EXPECT_LE(proto::EncodeBatch(b).size(), limits.max_bytes);
    total += g.size();
  }
  EXPECT_EQ(total, 200u);
  // The protocol's limits: 10,000 observations per batch.
  std::vector<proto::Observation> many(10'001, Obs("cpu", "", proto::CheckStatus::kOk));
  auto big = SplitObservations(many, proto::BatchLimits{});
  ASSERT_EQ(big.size(), 2u);
  EXPECT_EQ(big[0].size(), 10'000u);
}

// ---------------------------------------------------------------------------------------------
// State folder

TEST(StateTest, SavesPrivatelyAndLoadsBack) {
  TempDir tmp;
  std::string dir = tmp.path() + "/state";
  AgentState s{"https://rmm.example.com:8443",
               17,
               "vgd_abc",
               "workstation",
               "sha256//AAAA",
               "/etc/ca.pem",
               true};
  ASSERT_TRUE(SaveAgentState(dir, s).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir + "/agent.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(dir + "/agent.json.tmp"));
  auto loaded = LoadAgentState(dir);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(*loaded, s);
}

TEST(StateTest, LoaderIsStrict) {
  TempDir tmp;
  auto missing = LoadAgentState(tmp.path());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("enroll"));

  auto write = [&](const std::string& text, mode_t mode = 0600) {
    std::string path = tmp.path() + "/agent.json";
    std::ofstream(path, std::ios::trunc) << text;
    ::chmod(path.c_str(), mode);
  };
  write(R"({"server_url":"http://x","device_id":1,"credential":"c","extra":1})");
  auto unknown = LoadAgentState(tmp.path());
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(unknown.error().ToString(), HasSubstr("extra"));
  EXPECT_THAT(unknown.error().ToString(), HasSubstr("agent.json"));

  write(R"({"server_url":"ftp://x","device_id":"1","credential":"a b"})");
  auto wrong = LoadAgentState(tmp.path());
  ASSERT_FALSE(wrong.has_value());
  EXPECT_THAT(wrong.error().ToString(), HasSubstr("3 fields are invalid"));
  auto direct = DecodeAgentState(R"({"server_url":"ftp://x","device_id":"1","credential":"a b"})");
  ASSERT_FALSE(direct.has_value());
  std::vector<std::string> fields;
  for (const auto& e : direct.error().field_errors()) {
    fields.push_back(e.field);
  }
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("server_url", "device_id", "credential"));

  write("not json");
  EXPECT_EQ(LoadAgentState(tmp.path()).error().code(), ErrorCode::kInvalidArgument);

  write(R"({"server_url":"http://x","device_id":1,"credential":"c"})", 0644);
  auto open = LoadAgentState(tmp.path());
  ASSERT_FALSE(open.has_value());
  EXPECT_EQ(open.error().code(), ErrorCode::kPermissionDenied);

  write(R"({"server_url":"http://x","device_id":1,"credential":"c"})");
  auto minimal = LoadAgentState(tmp.path());
  ASSERT_TRUE(minimal.has_value()) << minimal.error().ToString();
  EXPECT_EQ(minimal->kind, "server");
  EXPECT_TRUE(minimal->verify_tls);
}

TEST(StateTest, ParsesServerUrls) {
  auto a = ParseServerUrl("https://rmm.example.com");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "rmm.example.com");
  EXPECT_EQ(a->port, 443);
  auto b = ParseServerUrl("http://127.0.0.1:8080/vigil/");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->port, 8080);
  EXPECT_EQ(b->base_path, "/vigil");
  auto c = ParseServerUrl("https://[::1]:9443");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9443);
  for (const char* bad : {"ftp://x", "https://", "http://:80", "http://x:0", "http://x:99999",
                          "http://x:1a", "http://u@x", "http://x/?q"}) {
    EXPECT_FALSE(ParseServerUrl(bad).has_value()) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Enrollment and pinning

TEST(ApiTest, EnrollsAndReportsRefusalsWithTheServersDetail) {
  auto server = FakeVigild::Start();
  ASSERT_TRUE(server);
  AgentApi api(server->Url(), "", {});
  EnrollRequest req{"vge_good", "fileserver", "server", "0.1.0", R"({"hostname":"fileserver"})"};
  auto reply = api.Enroll(req);
  ASSERT_TRUE(reply.has_value()) << reply.error().ToString();
  EXPECT_EQ(reply->device_id, 17);
  EXPECT_EQ(reply->credential, kCredential);
  EXPECT_EQ(reply->config_json, R"({"revision":1})");
  ASSERT_EQ(server->enrollments().size(), 1u);
  EXPECT_EQ(server->enrollments()[0]["inventory"]["hostname"], "fileserver");
  EXPECT_EQ(server->enrollments()[0]["kind"], "server");

  req.token = "vge_bad";
  auto refused = api.Enroll(req);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_THAT(refused.error().message(), HasSubstr("used-up enrollment token"));

  AgentApi nowhere("http://127.0.0.1:1", "", {.timeout = 2s});
  EXPECT_EQ(nowhere.Enroll(req).error().code(), ErrorCode::kUnavailable);
}

struct TlsMaterial {
  TempDir dir;
  std::string cert;
  std::string key;
  std::string pin;
};

// A fresh P-256 key and a self-signed certificate for 127.0.0.1 (IP SAN), as PEM files.
std::unique_ptr<TlsMaterial> MakeSelfSigned() {
  auto out = std::make_unique<TlsMaterial>();
  out->cert = out->dir.path() + "/cert.pem";
  out->key = out->dir.path() + "/key.pem";
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* x509 = X509_new();
  bool ok = pkey != nullptr && x509 != nullptr;
  if (ok) {
    X509_set_version(x509, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509), -60);
    X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
    X509_set_pubkey(x509, pkey);
    X509_NAME* name = X509_get_subject_name(x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x509, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      ok = ok && ext != nullptr && X509_add_ext(x509, ext, -1) == 1;
      X509_EXTENSION_free(ext);
    }
    ok = ok && X509_sign(x509, pkey, EVP_sha256()) > 0;
  }
  if (ok) {
    FILE* f = std::fopen(out->cert.c_str(), "w");
    ok = f != nullptr && PEM_write_X509(f, x509) == 1;
    if (f != nullptr) {
      std::fclose(f);
    }
    f = std::fopen(out->key.c_str(), "w");
    ok = ok && f != nullptr &&
         PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (f != nullptr) {
      std::fclose(f);
    }
    out->pin = SpkiPin(x509);
  }
  X509_free(x509);
  EVP_PKEY_free(pkey);
  return ok ? std::move(out) : nullptr;
}

TEST(PinTest, FetchesThePinAndTheClientRefusesAnotherKey) {
  auto tls = MakeSelfSigned();
  ASSERT_TRUE(tls);
  auto server = FakeVigild::Start(0, tls->cert, tls->key);
  ASSERT_TRUE(server);
  auto address = ParseServerUrl(server->Url(true));
  ASSERT_TRUE(address.has_value());

  // Untrusted by the system CAs; trusted with --ca-file; accepted unverified for tests.
  auto untrusted = FetchPublicKeyPin(*address, {});
  ASSERT_FALSE(untrusted.has_value());
  EXPECT_EQ(untrusted.error().code(), ErrorCode::kPermissionDenied);
  auto with_ca = FetchPublicKeyPin(*address, {.ca_file = tls->cert});
  ASSERT_TRUE(with_ca.has_value()) << with_ca.error().ToString();
  EXPECT_EQ(*with_ca, tls->pin);
  auto insecure = FetchPublicKeyPin(*address, {.verify = false});
  ASSERT_TRUE(insecure.has_value()) << insecure.error().ToString();
  EXPECT_EQ(*insecure, tls->pin);
  EXPECT_THAT(tls->pin, ::testing::StartsWith("sha256//"));

  // The pinned key is accepted; another key is refused.
  AgentState state{server->Url(true), 17, kCredential, "server", tls->pin, tls->cert, true};
  AgentApi pinned(state.server_url, state.credential, ClientOptionsFor(state));
  auto config = pinned.GetConfig();
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(*config, R"({"revision":1})");

  auto other = MakeSelfSigned();
  ASSERT_TRUE(other);
  state.pinned_public_key = other->pin;
  AgentApi wrong(state.server_url, state.credential, ClientOptionsFor(state));
  auto refused = wrong.GetConfig();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  state.verify_tls = false;  // the pin holds even without chain verification
  AgentApi wrong_insecure(state.server_url, state.credential, ClientOptionsFor(state));
  EXPECT_FALSE(wrong_insecure.GetConfig().has_value());

  auto plain = ParseServerUrl(server->Url(false));
  EXPECT_EQ(FetchPublicKeyPin(*plain, {}).error().code(), ErrorCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Sender: spool replay

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeVigild::Start();
    ASSERT_TRUE(server_);
    OpenSpool({});
  }
  void OpenSpool(SpoolLimits limits) {
    sender_.reset();
    spool_.reset();
    auto spool = Spool::Open(fs_, tmp_.path() + "/spool", limits);
    ASSERT_TRUE(spool.has_value()) << spool.error().ToString();
    spool_ = std::move(*spool);
  }
  BatchSender& MakeSender(std::string url = "", proto::BatchLimits limits = {}) {
    SenderOptions options;
    options.limits = limits;
    options.agent_version = "0.1.0-test";
    options.backoff = {5ms, 40ms};
    options.revoked_retry = 50ms;
    options.on_config_revision = [this](int64_t r) { revisions_.push_back(r); };
    auto api = std::make_unique<AgentApi>(url.empty() ? server_->Url() : url, kCredential,
                                          net::ClientOptions{.timeout = 2s});
    sender_ = std::make_unique<BatchSender>(*spool_, std::move(api), clock_, options);
    return *sender_;
  }
  Status EnqueueOne(int i, proto::CheckStatus status = proto::CheckStatus::kOk) {
    return sender_->Enqueue({Obs("disk", "/d" + std::to_string(i), status)});
  }

  TempDir tmp_;
  RealFileSystem fs_;
  SystemClock clock_;
  std::unique_ptr<FakeVigild> server_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<BatchSender> sender_;
  std::vector<int64_t> revisions_;
};

TEST_F(SenderTest, DeliversInOrderWithIncreasingSequences) {
  auto& sender = MakeSender();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(EnqueueOne(i).ok());
  }
  EXPECT_EQ(spool_->size(), 5u);
  sender.Start();
  ASSERT_TRUE(sender.WaitDrained(10s));
  EXPECT_THAT(server_->sequences(), ElementsAre(1, 2, 3, 4, 5));
  auto batches = server_->batches();
  EXPECT_EQ(batches[0].agent_version, "0.1.0-test");
  EXPECT_EQ(batches[4].observations.at(0).result.target, "/d4");
  // New batches go out while the sender runs.
  ASSERT_TRUE(EnqueueOne(5).ok());
  ASSERT_TRUE(WaitFor([&] { return server_->sequences().size() == 6; }));
  EXPECT_EQ(server_->sequences().back(), 6u);
  EXPECT_TRUE(sender.last_error().ok());
}

TEST_F(SenderTest, SpoolsWhileServerFailsThenDeliversEachBatchOnceInOrder) {
  server_->set_batch_status(503);
  auto& sender = MakeSender();
  sender.Start();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(EnqueueOne(i).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return server_->batch_requests() >= 3; }));
  EXPECT_EQ(spool_->size(), 4u);
  EXPECT_EQ(sender.last_error().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(sender.WaitDrained(50ms));
  server_->set_batch_status(200);
  ASSERT_TRUE(sender.WaitDrained(10s));
  EXPECT_THAT(server_->sequences(), ElementsAre(1, 2, 3, 4));
}

TEST_F(SenderTest, SurvivesAStoppedServerAndARestart) {
  uint16_t port = server_->port();
  std::string url = server_->Url();
  server_->Stop();
  {
    auto& sender = MakeSender(url);
    sender.Start();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(EnqueueOne(i).ok());
    }
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(spool_->size(), 3u);
    EXPECT_EQ(sender.last_error().code(), ErrorCode::kUnavailable);
    sender.Stop();
  }
  // The agent restarts (new spool object over the same folder) and the server comes back.
  OpenSpool({});
  EXPECT_EQ(spool_->size(), 3u);
  server_ = FakeVigild::Start(port);
  ASSERT_TRUE(server_);
  auto& sender = MakeSender(url);
  ASSERT_TRUE(EnqueueOne(3).ok());
  sender.Start();
  ASSERT_TRUE(sender.WaitDrained(10s));
  EXPECT_THAT(server_->sequences(), ElementsAre(1, 2, 3, 4));
}

TEST_F(SenderTest, DropsWhatTheServerRefusesAsMalformed) {
  auto& sender = MakeSender();
  server_->set_batch_status(400);
  ASSERT_TRUE(EnqueueOne(0).ok());
  EXPECT_EQ(sender.SendOldest(), BatchSender::Outcome::kDropped);
  EXPECT_EQ(spool_->size(), 0u);
  EXPECT_EQ(sender.last_error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(sender.SendOldest(), BatchSender::Outcome::kEmpty);
  server_->set_batch_status(200);
  ASSERT_TRUE(EnqueueOne(1).ok());
  EXPECT_EQ(sender.SendOldest(), BatchSender::Outcome::kDelivered);
  EXPECT_THAT(server_->sequences(), ElementsAre(2));
}

TEST_F(SenderTest, KeepsSpoolingWhenRevoked) {
  auto api = std::make_unique<AgentApi>(server_->Url(), "vgd_revoked", net::ClientOptions{});
  BatchSender sender(*spool_, std::move(api), clock_, {});
  ASSERT_TRUE(sender.Enqueue({Obs("cpu", "", proto::CheckStatus::kOk)}).ok());
  EXPECT_EQ(sender.SendOldest(), BatchSender::Outcome::kRevoked);
  EXPECT_EQ(spool_->size(), 1u);
  EXPECT_EQ(sender.last_error().code(), ErrorCode::kUnauthenticated);
}

TEST_F(SenderTest, ReportsGapsOnceAndForgetsThemAfterTheAck) {
  OpenSpool({.max_bytes = 64 << 20, .max_batches = 2});
  auto& sender = MakeSender();
  // Appending 3 drops 1; batch 4 then carries gap 1-1; appending 4 drops 2 (gap widens to 1-2).
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(EnqueueOne(i).ok());
  }
  EXPECT_THAT(spool_->Gaps(), ElementsAre(Gap{1, 2}));
  sender.Start();
  ASSERT_TRUE(sender.WaitDrained(10s));
  // 1 was reported and acknowledged.
  ASSERT_TRUE(WaitFor([&] { return spool_->Gaps() == std::vector<Gap>{Gap{2, 2}}; }));
  ASSERT_TRUE(EnqueueOne(4).ok());  // carries the rest
  ASSERT_TRUE(WaitFor([&] { return server_->sequences().size() == 3; }));
  ASSERT_TRUE(sender.WaitDrained(10s));
  EXPECT_THAT(server_->sequences(), ElementsAre(3, 4, 5));
  auto batches = server_->batches();
  EXPECT_TRUE(batches[0].gaps.empty());
  EXPECT_THAT(batches[1].gaps, ElementsAre(proto::Gap{1, 1}));
  EXPECT_THAT(batches[2].gaps, ElementsAre(proto::Gap{2, 2}));
  ASSERT_TRUE(WaitFor([&] { return spool_->Gaps().empty(); }));
}

TEST_F(SenderTest, AnnouncesAnotherConfigRevision) {
  auto& sender = MakeSender();
  sender.SetConfigRevision(1);
  ASSERT_TRUE(EnqueueOne(0).ok());
  EXPECT_EQ(sender.SendOldest(), BatchSender::Outcome::kDelivered);
  EXPECT_TRUE(revisions_.empty());
  server_->set_config_revision(8);
  ASSERT_TRUE(EnqueueOne(1).ok());
  EXPECT_EQ(sender.SendOldest(), BatchSender::Outcome::kDelivered);
  EXPECT_THAT(revisions_, ElementsAre(8));
}

// Small limits keep the batches small: the full-size split (10,000 per batch) is covered by the
// pure SplitObservations tests, and 4 MB batches through a sanitized server would outlast the
// client's timeout here.
TEST_F(SenderTest, SplitsLargeBatches) {
  proto::BatchLimits limits;
  limits.max_observations = 100;
  auto& sender = MakeSender("", limits);
  std::vector<proto::Observation> many;
  for (int i = 0; i < 250; ++i) {
    many.push_back(Obs("disk", "/d" + std::to_string(i), proto::CheckStatus::kOk));
  }
  ASSERT_TRUE(sender.Enqueue(std::move(many)).ok());
  EXPECT_EQ(spool_->size(), 3u);
  sender.Start();
  ASSERT_TRUE(sender.WaitDrained(30s));
  auto batches = server_->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].observations.size(), 100u);
  EXPECT_EQ(batches[2].observations.size(), 50u);
  EXPECT_EQ(batches[2].observations.back().result.target, "/d249");
}

// ---------------------------------------------------------------------------------------------
// Scheduler

class NoTools : public ToolRunner {
 public:
  Result<ToolOutput> Run(const ToolRequest&) const override { return NotFound("no tools here"); }
};

// A collector whose status the test sets; counts its runs.
class TestCollector : public Collector {
 public:
  explicit TestCollector(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::vector<proto::CheckResult> Collect(const CollectContext&) override {
    ++runs_;
    return {Obs(name_, "host", status_.load()).result};
  }
  std::atomic<proto::CheckStatus> status_{proto::CheckStatus::kOk};
  std::atomic<int> runs_{0};

 private:
  std::string name_;
};

std::vector<proto::CheckResult> RunDirectly(Collector& c, const CollectContext& ctx) {
  return c.Collect(ctx);
}

TEST_F(SenderTest, SchedulerSendsAStatusChangeBeforeTheInterval) {
  auto& sender = MakeSender();
  sender.Start();
  NoTools tools;
  TestCollector cpu("cpu");
  TestCollector memory("memory");
  SchedulerOptions options;
  options.clock = &clock_;
  options.tools = &tools;
  options.run = RunDirectly;
  options.first_run_spread = 20ms;
  options.workers = 2;
  options.emit = [&](std::vector<proto::Observation> obs) {
    EXPECT_TRUE(sender.Enqueue(std::move(obs)).ok());
  };
  Scheduler scheduler(options);
  scheduler.SetPlan({{{&cpu, 50ms, 1s}, {&memory, 50ms, 1s}},
                     std::make_shared<proto::AgentConfig>(),
                     std::chrono::milliseconds(60'000)});
  std::thread run([&] { scheduler.Run(); });
  ASSERT_TRUE(WaitFor([&] { return cpu.runs_ >= 3 && memory.runs_ >= 3; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(server_->batches().empty());  // nothing changed, the batch interval is a minute
  auto changed_at = std::chrono::steady_clock::now();
  cpu.status_ = proto::CheckStatus::kCritical;
  ASSERT_TRUE(WaitFor([&] { return !server_->batches().empty(); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, 2s);
  bool saw_critical = false;
  for (const auto& b : server_->batches()) {
    for (const auto& o : b.observations) {
      saw_critical = saw_critical ||
                     (o.result.check == "cpu" && o.result.status == proto::CheckStatus::kCritical);
    }
  }
  EXPECT_TRUE(saw_critical);
  scheduler.RequestStop();
  run.join();
}

TEST_F(SenderTest, SchedulerSendsTheFirstRoundSoonAfterStart) {
  auto& sender = MakeSender();
  sender.Start();
  NoTools tools;
  TestCollector cpu("cpu");
  TestCollector disk("disk");
  SchedulerOptions options;
  options.clock = &clock_;
  options.tools = &tools;
  options.run = RunDirectly;
  options.first_run_spread = 20ms;
  options.first_batch_after = 200ms;
  options.emit = [&](std::vector<proto::Observation> obs) {
    EXPECT_TRUE(sender.Enqueue(std::move(obs)).ok());
  };
  Scheduler scheduler(options);
  const auto started = std::chrono::steady_clock::now();
  scheduler.SetPlan({{{&cpu, 60s, 1s}, {&disk, 60s, 1s}}, nullptr, 60s});
  std::thread run([&] { scheduler.Run(); });
  // Nothing changed status, and the batch interval is a minute: only the first round's early
  // batch can arrive this soon.
  ASSERT_TRUE(WaitFor([&] { return !server_->batches().empty(); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(server_->batches()[0].observations.size(), 2u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server_->batches().size(), 1u);  // then the minute's rhythm
  scheduler.RequestStop();
  run.join();
}

TEST_F(SenderTest, SchedulerBatchesEveryIntervalAndRunOnceRunsEachCheckOnce) {
  auto& sender = MakeSender();
  NoTools tools;
  TestCollector cpu("cpu");
  TestCollector disk("disk");
  SchedulerOptions options;
  options.clock = &clock_;
  options.tools = &tools;
  options.run = RunDirectly;
  options.workers = 1;
  std::atomic<int> emits{0};
  options.emit = [&](std::vector<proto::Observation> obs) {
    ++emits;
    EXPECT_TRUE(sender.Enqueue(std::move(obs)).ok());
  };
  {
    Scheduler once(options);
    once.SetPlan({{{&cpu, 60s, 1s}, {&disk, 60s, 1s}}, nullptr, 60s});
    once.RunOnce();
    EXPECT_EQ(cpu.runs_, 1);
    EXPECT_EQ(disk.runs_, 1);
    EXPECT_EQ(emits, 1);
    EXPECT_EQ(spool_->size(), 1u);
  }
  sender.Start();
  ASSERT_TRUE(sender.WaitDrained(10s));
  ASSERT_EQ(server_->batches().size(), 1u);
  EXPECT_EQ(server_->batches()[0].observations.size(), 2u);

  options.first_run_spread = 1ms;
  Scheduler periodic(options);
  periodic.SetPlan({{{&cpu, 30ms, 1s}}, nullptr, 150ms});
  std::thread run([&] { periodic.Run(); });
  ASSERT_TRUE(WaitFor([&] { return server_->batches().size() >= 3; }));
  periodic.RequestStop();
  run.join();
  // Each periodic batch holds several runs of cpu (30 ms apart, batched every 150 ms).
  EXPECT_GE(server_->batches()[1].observations.size(), 2u);
}

}  // namespace
}  // namespace vigil::agent::transport
