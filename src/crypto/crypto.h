#pragma once

// Vigil's cryptography, all on libsodium (and liboath for TOTP):
// - passwords: Argon2id (crypto_pwhash_str), verified in constant time;
// - secrets shown once (API tokens, session ids, device credentials, recovery codes): random bytes,
//   stored only as a SHA-256 hash, compared in constant time;
// - TOTP (RFC 6238) with SHA-1/256/512, verified with a ±1 step window and no reuse of a step.
//
// Thread safety: every function may be called from any thread after Init(). (Each function also
// calls Init() itself, so a forgotten Init() is harmless; a platform without randomness aborts.)

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil::crypto {

// Initialises libsodium and liboath. Idempotent. Errors: kInternal when the library cannot start.
Status Init();

enum class PasswordCost {
  kInteractive,  // libsodium's OPSLIMIT/MEMLIMIT_INTERACTIVE (production)
  kMinimum,      // the library minimum: tests only, so suites stay fast
};

// Argon2id hash in the PHC string format ("$argon2id$v=19$m=...").
// Errors: kInvalidArgument for an empty or over-long (> 1024 bytes) password; kInternal when out of
// memory.
Result<std::string> HashPassword(std::string_view password,
                                 PasswordCost cost = PasswordCost::kInteractive);
// True when `password` matches `encoded`. False for any malformed `encoded` (never crashes), for
// an empty or over-long password, and for anything HashPassword does not produce: only
// "$argon2id$v=19$m=M,t=T,p=1$..." with M <= 1 GiB and T <= 16 is verified, so a tampered stored
// hash cannot make a login allocate gigabytes or spin for minutes.
bool VerifyPassword(std::string_view encoded, std::string_view password);

// `bytes` random bytes encoded as URL-safe base64 without padding ([A-Za-z0-9_-], length
// ceil(4 * bytes / 3)); empty for 0 bytes.
std::string RandomToken(size_t bytes = 32);
// A uniformly random integer in [0, upper_bound); 0 when upper_bound < 2.
uint32_t RandomUniform(uint32_t upper_bound);
// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);
// Constant-time equality (false when the sizes differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// RFC 4648 base32 (upper case, no padding on output; padding and case ignored on input).
std::string Base32Encode(std::string_view bytes);
// Ignores '=' and spaces anywhere. Errors: kInvalidArgument for characters outside the alphabet
// and for a length no encoding produces (a last group of 1, 3 or 6 characters).
Result<std::string> Base32Decode(std::string_view text);

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// The longest TOTP period accepted (one day).
inline constexpr int64_t kMaxTotpPeriodSeconds = 86400;

struct TotpParams {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;
  int digits = 6;
  int64_t period_seconds = 30;
};

// The TOTP code for `secret` (raw bytes) at `unix_seconds`.
// Errors: kInvalidArgument for digits outside 6..8, an empty secret, a period outside
// 1..kMaxTotpPeriodSeconds, or a negative time.
Result<std::string> TotpCode(std::string_view secret, int64_t unix_seconds,
                             const TotpParams& params = {});

// Checks `code` against the steps t-1, t, t+1 (t = unix_seconds / period), comparing every
// candidate in constant time. Returns the matched time step (t preferred, then t-1, then t+1), or
// -1 when nothing matches or the arguments are invalid (as for TotpCode). The caller stores the
// step and refuses a code whose step is not greater than the last accepted one (replay).
int64_t VerifyTotp(std::string_view secret, std::string_view code, int64_t unix_seconds,
                   const TotpParams& params = {});

// otpauth://totp/Issuer:account?secret=...&issuer=... (Key Uri Format). Issuer and account are
// percent-encoded (RFC 3986 unreserved characters kept); without an issuer the label is just the
// account and there is no issuer parameter. algorithm=, digits= and period= are added only when
// `params` differs from the defaults (SHA1, 6, 30), which authenticator apps assume.
std::string TotpUri(std::string_view issuer, std::string_view account,
                    std::string_view secret_base32, const TotpParams& params = {});

}  // namespace vigil::crypto
