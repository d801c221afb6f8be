#include "crypto/crypto.h"

#include <liboath/oath.h>
#include <sodium.h>

#include <array>
#include <climits>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <limits>
#include <mutex>

namespace vigil::crypto {

namespace {

constexpr size_t kMaxPasswordBytes = 1024;

// Upper bounds on the Argon2id parameters VerifyPassword accepts: a tampered or corrupt stored
// hash must not make a login allocate gigabytes or spin for minutes.
constexpr uint64_t kMaxVerifyMemoryKib = crypto_pwhash_MEMLIMIT_SENSITIVE / 1024;
constexpr uint64_t kMaxVerifyPasses = 16;

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// Init() must have succeeded before libsodium is used. Calling it here makes a forgotten Init()
// harmless; a failure at this point means the platform cannot provide randomness, which the
// process cannot survive anyway.
void EnsureInit() { VIGIL_CHECK(Init().ok()); }

// Reads a decimal number at the front of `s` (at most 10 digits); advances `s`.
bool ConsumeNumber(std::string_view& s, uint64_t& out) {
  size_t n = 0;
  uint64_t value = 0;
  while (n < s.size() && n < 10 && s[n] >= '0' && s[n] <= '9') {
    value = value * 10 + static_cast<uint64_t>(s[n] - '0');
    ++n;
  }
  if (n == 0 || (n < s.size() && s[n] >= '0' && s[n] <= '9')) {
    return false;
  }
  out = value;
  s.remove_prefix(n);
  return true;
}

bool ConsumePrefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) {
    return false;
  }
  s.remove_prefix(prefix.size());
  return true;
}

// Accepts only the shape HashPassword produces, "$argon2id$v=19$m=M,t=T,p=1$...", with M and T
// within the bounds above. libsodium validates the rest.
bool AcceptableArgon2idParams(std::string_view encoded) {
  uint64_t memory_kib = 0;
  uint64_t passes = 0;
  uint64_t lanes = 0;
  if (!ConsumePrefix(encoded, "$argon2id$v=19$m=") || !ConsumeNumber(encoded, memory_kib) ||
      !ConsumePrefix(encoded, ",t=") || !ConsumeNumber(encoded, passes) ||
      !ConsumePrefix(encoded, ",p=") || !ConsumeNumber(encoded, lanes) ||
      !ConsumePrefix(encoded, "$")) {
    return false;
  }
  return memory_kib <= kMaxVerifyMemoryKib && passes >= 1 && passes <= kMaxVerifyPasses &&
         lanes == 1;
}

int Base32Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a';
  }
  if (c >= '2' && c <= '7') {
    return c - '2' + 26;
  }
  return -1;
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

Status ValidateTotpParams(std::string_view secret, const TotpParams& params) {
  if (secret.empty()) {
    return InvalidArgument("TOTP secret is empty");
  }
  if (params.digits < 6 || params.digits > 8) {
    return InvalidArgument("TOTP digits must be 6, 7 or 8");
  }
  if (params.period_seconds < 1 || params.period_seconds > kMaxTotpPeriodSeconds) {
    return InvalidArgument("TOTP period must be 1..86400 seconds");
  }
  return Status::Ok();
}

int OathFlags(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return 0;
    case TotpAlgorithm::kSha256:
      return OATH_TOTP_HMAC_SHA256;
    case TotpAlgorithm::kSha512:
      return OATH_TOTP_HMAC_SHA512;
  }
  return 0;
}

// The code for time step `step`; the parameters must already be valid.
Result<std::string> CodeForStep(std::string_view secret, int64_t step, const TotpParams& params) {
  std::array<char, 16> otp{};  // at most 8 digits + NUL
  const int rc = oath_totp_generate2(
      secret.data(), secret.size(), static_cast<time_t>(step * params.period_seconds),
      static_cast<unsigned>(params.period_seconds), OATH_TOTP_DEFAULT_START_TIME,
      static_cast<unsigned>(params.digits), OathFlags(params.algorithm), otp.data());
  if (rc != OATH_OK) {
    return Internal(std::string("TOTP generation failed: ") + oath_strerror(rc));
  }
  return std::string(otp.data());
}

std::string_view TotpAlgorithmName(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return "SHA1";
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

}  // namespace

Status Init() {
  static std::once_flag once;
  static Status* status = nullptr;  // leaked on purpose: read after static destruction is safe
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      status = new Status(ErrorCode::kInternal, "libsodium failed to initialise");
      return;
    }
    const int rc = oath_init();
    if (rc != OATH_OK) {
      status = new Status(ErrorCode::kInternal,
                          std::string("liboath failed to initialise: ") + oath_strerror(rc));
      return;
    }
    status = new Status();
  });
  return *status;
}

Result<std::string> HashPassword(std::string_view password, PasswordCost cost) {
  EnsureInit();
  if (password.empty()) {
    return InvalidArgument("password is empty");
  }
  if (password.size() > kMaxPasswordBytes) {
    return InvalidArgument("password is longer than 1024 bytes");
  }
  unsigned long long opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (cost == PasswordCost::kMinimum) {
    opslimit = crypto_pwhash_OPSLIMIT_MIN;
    memlimit = crypto_pwhash_MEMLIMIT_MIN;
  }
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), opslimit, memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("out of memory while hashing a password");
  }
  return std::string(out.data());
}

bool VerifyPassword(std::string_view encoded, std::string_view password) {
  EnsureInit();
  if (password.empty() || password.size() > kMaxPasswordBytes) {
    return false;
  }
  // libsodium reads `encoded` as a C string: it must fit, NUL included, and contain no NUL.
  if (encoded.empty() || encoded.size() >= crypto_pwhash_STRBYTES ||
      encoded.find('\0') != std::string_view::npos) {
    return false;
  }
  if (!AcceptableArgon2idParams(encoded)) {
    return false;
  }
  std::array<char, crypto_pwhash_STRBYTES> buffer{};
  std::memcpy(buffer.data(), encoded.data(), encoded.size());
  return crypto_pwhash_str_verify(buffer.data(), password.data(), password.size()) == 0;
}

std::string RandomToken(size_t bytes) {
  EnsureInit();
  if (bytes == 0) {
    return {};
  }
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  const size_t encoded_len =
      sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(encoded_len, '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw.data(), raw.size());
  out.resize(std::strlen(out.c_str()));  // drop the terminating NUL counted by ENCODED_LEN
  return out;
}

uint32_t RandomUniform(uint32_t upper_bound) {
  EnsureInit();
  return randombytes_uniform(upper_bound);  // 0 for upper_bound < 2
}

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data(), crypto_hash_sha256_BYTES * 2);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 0x1F]);
    }
  }
  if (bits > 0) {
    out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1F]);
  }
  return out;
}

Result<std::string> Base32Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  size_t symbols = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') {
      continue;
    }
    const int value = Base32Value(c);
    if (value < 0) {
      return InvalidArgument("invalid base32 character");
    }
    ++symbols;
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // A final group of 2, 4, 5 or 7 symbols ends in fewer than 5 padding bits, which are dropped;
  // 1, 3 or 6 symbols cannot come from any byte string.
  const size_t tail = symbols % 8;
  if (tail == 1 || tail == 3 || tail == 6) {
    return InvalidArgument("truncated base32 text");
  }
  return out;
}

Result<std::string> TotpCode(std::string_view secret, int64_t unix_seconds,
                             const TotpParams& params) {
  EnsureInit();
  VIGIL_RETURN_IF_ERROR(ValidateTotpParams(secret, params));
  if (unix_seconds < 0) {
    return InvalidArgument("TOTP time is before the Unix epoch");
  }
  return CodeForStep(secret, unix_seconds / params.period_seconds, params);
}

int64_t VerifyTotp(std::string_view secret, std::string_view code, int64_t unix_seconds,
                   const TotpParams& params) {
  EnsureInit();
  if (!ValidateTotpParams(secret, params).ok() || unix_seconds < 0) {
    return -1;
  }
  const int64_t now_step = unix_seconds / params.period_seconds;
  // The largest step whose start time still fits in time_t/int64_t.
  const int64_t max_step = std::numeric_limits<int64_t>::max() / params.period_seconds;
  int64_t matched = -1;
  // Every candidate is generated and compared, whatever matched before, so the time taken does
  // not reveal which step (if any) matched. The current step is preferred on a collision.
  for (const int64_t step : {now_step, now_step - 1, now_step + 1}) {
    if (step < 0 || step > max_step) {
      continue;
    }
    Result<std::string> expected = CodeForStep(secret, step, params);
    if (!expected.has_value()) {
      continue;
    }
    if (ConstantTimeEquals(*expected, code) && matched < 0) {
      matched = step;
    }
  }
  return matched;
}

std::string TotpUri(std::string_view issuer, std::string_view account,
                    std::string_view secret_base32, const TotpParams& params) {
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) {
    uri += PercentEncode(issuer);
    uri += ':';
  }
  uri += PercentEncode(account);
  uri += "?secret=";
  uri += PercentEncode(secret_base32);
  if (!issuer.empty()) {
    uri += "&issuer=";
    uri += PercentEncode(issuer);
  }
  if (params.algorithm != TotpAlgorithm::kSha1) {
    uri += "&algorithm=";
    uri += TotpAlgorithmName(params.algorithm);
  }
  if (params.digits != 6) {
    uri += "&digits=" + std::to_string(params.digits);
  }
  if (params.period_seconds != 30) {
    uri += "&period=" + std::to_string(params.period_seconds);
  }
  return uri;
}

}  // namespace vigil::crypto
