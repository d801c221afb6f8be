#include "agent/checks/certificates.h"
#include "agent/checks/test_util.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/json.h"

namespace vigil::checks {
namespace {

using namespace vigil::checks::testing;  // NOLINT: test helpers

using proto::CheckStatus;

// A self-signed EC certificate valid from now + from_days to now + to_days, as PEM, made with
// OpenSSL's API (as `openssl req -x509` would).
std::string MakeCertificatePem(long from_days, long to_days, const std::string& cn) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  EXPECT_TRUE(key && x);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), to_days * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());
  EXPECT_GT(X509_sign(x.get(), key.get(), EVP_sha256()), 0);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), x.get());
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

TEST(ParsePemCertificateTest, RecordedOpensslReqCertificate) {
  // `openssl req -x509 -days 30`: notBefore=Nov 22 23:05:24 2026 GMT, notAfter=Dec 22 ... 2026.
  auto c = ParsePemCertificate(ReadSystemTestdata("cert_leaf_30d.pem"));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->not_before, At("2026-11-22T23:05:24Z"));
  EXPECT_EQ(c->not_after, At("2026-12-22T23:05:24Z"));
  EXPECT_EQ(c->subject, "O=Vigil Test,CN=www.example.test");
  EXPECT_EQ(c->issuer, c->subject);
  EXPECT_EQ(c->serial, "7D4AF44C8FED9C3E5A735F202DBE2C845AF90BAB");
}

TEST(ParsePemCertificateTest, ChainFileTakesTheFirstCertificate) {
  auto c = ParsePemCertificate(ReadSystemTestdata("cert_chain_leaf_first.pem"));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->subject, "O=Vigil Test,CN=www.example.test");
  EXPECT_EQ(c->not_after, At("2026-12-22T23:05:24Z"));
}

TEST(ParseDerCertificateTest, RecordedDer) {
  auto c = ParseDerCertificate(ReadSystemTestdata("cert_leaf_30d.der"));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->not_after, At("2026-12-22T23:05:24Z"));
  std::string der = ReadSystemTestdata("cert_leaf_30d.der");
  auto trailing = ParseDerCertificate(der + "x");
  ASSERT_FALSE(trailing.has_value());
  EXPECT_EQ(trailing.error().code(), ErrorCode::kInvalidArgument);
  auto cut = ParseDerCertificate(std::string_view(der).substr(0, der.size() / 2));
  ASSERT_FALSE(cut.has_value());
  EXPECT_EQ(cut.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ParsePemCertificateTest, RefusesJunk) {
  std::string pem = ReadSystemTestdata("cert_leaf_30d.pem");
  std::string corrupted = pem;
  corrupted[100] = corrupted[100] == 'A' ? 'B' : 'A';
  corrupted[101] = '*';
  for (const std::string& bad :
       {std::string(), std::string("hello"), std::string("-----BEGIN CERTIFICATE-----\n"),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), corrupted,
        pem.substr(0, pem.size() / 2), std::string("\0\0\0", 3)}) {
    auto c = ParsePemCertificate(bad);
    ASSERT_FALSE(c.has_value()) << bad;
    EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  }
  auto big = ParsePemCertificate(std::string(kMaxCertificateFileBytes + 1, 'A'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kPayloadTooLarge);
}

TEST(ParsePemCertificateTest, HostileSubjectIsSanitised) {
  auto c = ParsePemCertificate(MakeCertificatePem(0, 10, "evil\x1b[2J" + std::string(400, 'x')));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_TRUE(json::IsValidUtf8(c->subject));
  EXPECT_EQ(c->subject.find('\x1b'), std::string::npos);
  EXPECT_LE(c->subject.size(), 270u);
}

TEST(EvaluateCertificateTest, DaysLeftThresholds) {
  auto c = ParsePemCertificate(ReadSystemTestdata("cert_leaf_30d.pem")).value();
  auto r = EvaluateCertificate(c, At("2026-11-23T00:00:00Z"), 21, 7, "/etc/ssl/www.pem");
  EXPECT_EQ(r.check, "certificates");
  EXPECT_EQ(r.target, "/etc/ssl/www.pem");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message,
            "O=Vigil Test,CN=www.example.test expires in 29 days (2026-12-22T23:05:24.000Z)");
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].name, "certificate.days_left");
  EXPECT_EQ(r.metrics[0].unit, "d");
  EXPECT_EQ(r.metrics[0].value, 29.9);
  EXPECT_EQ(r.metrics[0].warn, 21);
  EXPECT_EQ(r.metrics[0].crit, 7);
  EXPECT_EQ(r.details["serial"], "7D4AF44C8FED9C3E5A735F202DBE2C845AF90BAB");

  EXPECT_EQ(EvaluateCertificate(c, At("2026-12-10T00:00:00Z"), 21, 7, "x").status,
            CheckStatus::kWarning);
  r = EvaluateCertificate(c, At("2026-12-21T23:05:24Z"), 21, 7, "x");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message,
            "O=Vigil Test,CN=www.example.test expires in 1 day (2026-12-22T23:05:24.000Z)");
  r = EvaluateCertificate(c, At("2026-12-25T23:05:25Z"), 21, 7, "x");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message,
            "O=Vigil Test,CN=www.example.test expired 3 days ago (2026-12-22T23:05:24.000Z)");
  EXPECT_LT(r.metrics[0].value, -3);
  r = EvaluateCertificate(c, At("2026-11-20T00:00:00Z"), 21, 7, "x");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message,
            "O=Vigil Test,CN=www.example.test is not valid before "
            "2026-11-22T23:05:24.000Z");
}

TEST(EvaluateCertificateTest, GeneratedExpiredCertificateIsCritical) {
  SystemClock clock;
  auto c = ParsePemCertificate(MakeCertificatePem(-30, -1, "old.example.test"));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  auto r = EvaluateCertificate(*c, clock.Now(), 21, 7, "old");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_NE(r.message.find("expired 1 day ago"), std::string::npos) << r.message;
  c = ParsePemCertificate(MakeCertificatePem(-1, 365, "new.example.test"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(EvaluateCertificate(*c, clock.Now(), 21, 7, "new").status, CheckStatus::kOk);
}

}  // namespace
}  // namespace vigil::checks
