#include "agent/checks/certificates.h"

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>

#include "core/strings.h"

namespace vigil::checks {
namespace {

using std::chrono::seconds;

constexpr size_t kMaxNameBytes = 256;

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::optional<TimePoint> Asn1ToTime(const ASN1_TIME* t) {
  if (t == nullptr) {
    return std::nullopt;
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(tm.tm_year + 1900),
                                  std::chrono::month(static_cast<unsigned>(tm.tm_mon + 1)),
                                  std::chrono::day(static_cast<unsigned>(tm.tm_mday))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  auto tp = std::chrono::sys_days(ymd) + std::chrono::hours(tm.tm_hour) +
            std::chrono::minutes(tm.tm_min) + seconds(tm.tm_sec);
  return std::chrono::time_point_cast<std::chrono::milliseconds>(tp);
}

std::string NameToString(const X509_NAME* name) {
  if (name == nullptr) {
    return "";
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return "";
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return "";
  }
  return SanitizeText(std::string_view(data, static_cast<size_t>(len)), kMaxNameBytes);
}

std::string SerialHex(const X509* x) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  if (serial == nullptr) {
    return "";
  }
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) {
    return "";
  }
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? SanitizeText(hex, 128) : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

Result<CertificateInfo> Describe(const X509* x) {
  CertificateInfo info;
  auto nb = Asn1ToTime(X509_get0_notBefore(x));
  auto na = Asn1ToTime(X509_get0_notAfter(x));
  if (!nb || !na) {
    return InvalidArgument("certificate: unreadable validity times");
  }
  info.not_before = *nb;
  info.not_after = *na;
  info.subject = NameToString(X509_get_subject_name(x));
  info.issuer = NameToString(X509_get_issuer_name(x));
  info.serial = SerialHex(x);
  return info;
}

}  // namespace

Result<CertificateInfo> ParsePemCertificate(std::string_view pem) {
  if (pem.size() > kMaxCertificateFileBytes) {
    return PayloadTooLarge(
        fmt::format("certificate file larger than {} bytes", kMaxCertificateFileBytes));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return Internal("BIO_new_mem_buf failed");
  }
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!x) {
    return InvalidArgument("no PEM certificate found");
  }
  return Describe(x.get());
}

Result<CertificateInfo> ParseDerCertificate(std::string_view der) {
  if (der.size() > kMaxCertificateFileBytes) {
    return PayloadTooLarge(
        fmt::format("certificate larger than {} bytes", kMaxCertificateFileBytes));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* start = p;
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (!x) {
    return InvalidArgument("certificate does not decode (DER)");
  }
  if (static_cast<size_t>(p - start) != der.size()) {
    return InvalidArgument("certificate: trailing bytes after the DER encoding");
  }
  return Describe(x.get());
}

proto::CheckResult EvaluateCertificate(const CertificateInfo& cert, TimePoint now, int warn_days,
                                       int crit_days, std::string target) {
  proto::CheckResult r;
  r.check = "certificates";
  r.target = std::move(target);
  auto left = std::chrono::floor<seconds>(cert.not_after - now);
  double days_left = static_cast<double>(left.count()) / 86400.0;
  r.metrics.push_back({.name = "certificate.days_left",
                       .value = std::floor(days_left * 10) / 10,
                       .unit = "d",
                       .warn = static_cast<double>(warn_days),
                       .crit = static_cast<double>(crit_days)});
  r.details["not_after"] = FormatRfc3339(cert.not_after);
  r.details["not_before"] = FormatRfc3339(cert.not_before);
  if (!cert.subject.empty()) {
    r.details["subject"] = cert.subject;
  }
  if (!cert.issuer.empty()) {
    r.details["issuer"] = cert.issuer;
  }
  if (!cert.serial.empty()) {
    r.details["serial"] = cert.serial;
  }
  std::string who = cert.subject.empty() ? std::string("certificate") : cert.subject;
  auto whole_days = static_cast<int64_t>(std::floor(days_left));
  if (left.count() <= 0) {
    r.status = proto::CheckStatus::kCritical;
    int64_t ago = static_cast<int64_t>(-left.count() / 86400);
    r.message = fmt::format("{} expired {} day{} ago ({})", who, ago, ago == 1 ? "" : "s",
                            r.details["not_after"]);
  } else if (now < cert.not_before) {
    r.status = proto::CheckStatus::kWarning;
    r.message = fmt::format("{} is not valid before {}", who, r.details["not_before"]);
  } else {
    if (days_left < crit_days) {
      r.status = proto::CheckStatus::kCritical;
    } else if (days_left < warn_days) {
      r.status = proto::CheckStatus::kWarning;
    } else {
      r.status = proto::CheckStatus::kOk;
    }
    r.message = fmt::format("{} expires in {} day{} ({})", who, whole_days,
                            whole_days == 1 ? "" : "s", r.details["not_after"]);
  }
  return r;
}

}  // namespace vigil::checks
