#pragma once

// The wire format of result batches sent by vigil-agent to vigild (JSON over HTTP).
//
// The agent's transport encodes a Batch with EncodeBatch() and POSTs it; vigild's ingest decodes
// it with DecodeBatch() and deduplicates by (device, sequence). The device is identified by the
// credential of the HTTP request, never by the body.
//
// Wire format, version 1 (compact JSON, every key written by EncodeBatch):
//
//   {"version":1, "agent_version":"1.4.2", "sequence":42, "sent_at":"2026-11-22T19:53:03.120Z",
//    "observations":[{"observed_at":"2026-11-22T19:53:00.000Z",
//                     "result":{"check":"smart", "target":"/dev/sda", "status":"warning",
//                               "message":"reallocated sectors grew to 304",
//                               "metrics":[{"name":"smart.reallocated_sectors", "value":304.0,
//                                           "unit":"", "warn":1.0, "crit":null,
//                                           "min":0.0, "max":null}],
//                               "details":{"model":"ST3500418AS"}}}],
//    "gaps":[{"first_sequence":17, "last_sequence":20}]}
//
// Decoding is strict: unknown keys are refused (a typo is an error, not a silently ignored
// field), every value is type-checked, and every error names its field path
// ("observations[3].result.metrics[0].value"). Keys that DecodeBatch treats as optional, with the
// default used when absent: gaps ([]), result.target (""), result.message (""), result.metrics
// ([]), result.details ({}), metric.unit (""), and the thresholds warn/crit/min/max (absent or
// null: no threshold).
//
// Versioning: DecodeBatch reads version 1 only and refuses any other version with
// kInvalidArgument ("version"). A higher version is NOT accepted on trust, since it may carry
// fields whose meaning version 1 cannot know; a future format bumps `version` and the server
// learns it first (servers are upgraded before agents), so agents never need to guess.
//
// Thread safety: pure functions on values.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "proto/check.h"

namespace vigil::proto {

// The only version this code writes and reads.
inline constexpr int kBatchVersion = 1;

// Identifiers (check names, metric names, detail keys) are 1..kMaxNameLength characters of
// [A-Za-z0-9] and "._-:/@+=%#". Free text (agent_version, target, unit, message, detail values)
// is valid UTF-8; target, unit and agent_version are one line, message and detail values may hold
// newlines and tabs.
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxAgentVersionLength = 64;
inline constexpr size_t kMaxUnitLength = 32;

// One check result as observed by the agent at `observed_at`.
struct Observation {
  TimePoint observed_at;
  CheckResult result;
};

// Batches [first_sequence, last_sequence] that the agent's spool dropped when it was full. They
// are reported in a later batch so that the loss is visible on the server, never silent.
struct Gap {
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  bool operator==(const Gap&) const = default;
};

struct Batch {
  int version = kBatchVersion;
  std::string agent_version;
  uint64_t sequence = 0;  // >= 1, per device; the server deduplicates by (device, sequence)
  TimePoint sent_at;
  std::vector<Observation> observations;
  std::vector<Gap> gaps;  // each ends before `sequence`
};

// Compact JSON of `batch`, always written as version kBatchVersion. Never throws.
//
// So that one bad string from a collector can never make a batch undeliverable (it would block
// the spool), free text is sanitized on the way out with SanitizeText(): invalid UTF-8 becomes
// U+FFFD, control characters become spaces (newlines kept in message and detail values), and text
// longer than BatchLimits{}.max_text is cut. Metrics whose value is not finite are left out and
// non-finite thresholds are written as null. Identifiers are written as given: collectors use
// fixed names that satisfy the rules above. Callers keep batches within BatchLimits{} (count of
// observations, metrics and details; encoded size), e.g. by splitting before encoding.
// For a batch that satisfies every rule, DecodeBatch(EncodeBatch(b)) reproduces b exactly.
// Note that the encoding of a decoded batch may be larger than the text it was decoded from
// (EncodeBatch writes every optional key).
std::string EncodeBatch(const Batch& batch);

// The compact JSON of one result exactly as EncodeBatch writes it under "result" in an
// observation (same sanitizing), e.g. for `vigil-agent check NAME --json`. Never throws.
std::string EncodeCheckResult(const CheckResult& result);

struct BatchLimits {
  size_t max_bytes = 4 << 20;
  size_t max_observations = 10000;
  size_t max_metrics_per_result = 200;
  size_t max_details_per_result = 100;
  size_t max_gaps = 1000;
  size_t max_text = 4096;  // message and detail values, in characters (code points)
  std::chrono::hours max_future{1};
  std::chrono::hours max_past{24 * 30};
};

// Decodes and validates an untrusted batch. `now` is the server's clock: observed_at and sent_at
// must lie within [now - max_past, now + max_future]. When `known_checks` is given, every
// result.check must be one of them.
//
// Timestamps are RFC 3339 ("2026-11-22T19:53:03Z", "2026-11-22T20:53:03.12+01:00"): "Z" or a
// numeric offset, an optional fraction of 1..9 digits (truncated to milliseconds); leap seconds
// (":60") are refused.
//
// Errors: kPayloadTooLarge when `text` is longer than max_bytes; kInvalidArgument for malformed
// JSON or any invalid field, with one FieldError per wrong field (at most about 100) naming its
// path. Never throws; nothing is returned on failure.
Result<Batch> DecodeBatch(std::string_view text, TimePoint now, const BatchLimits& limits = {},
                          const std::set<std::string>* known_checks = nullptr);

}  // namespace vigil::proto
