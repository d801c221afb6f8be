#pragma once

// BatchSender: turns observations into spooled batches and delivers the spool to vigild.
//
// Enqueue() (the scheduler's thread) splits observations so that every batch stays within
// proto::BatchLimits, takes each batch's sequence from Spool::NextSequence, adds the spool's
// unreported gaps to the first one, encodes it with proto::EncodeBatch and appends it to the
// spool (durable before Enqueue returns). The sender thread (Start) replays the spool oldest
// first, one batch at a time, via POST /api/v1/agent/batches:
//   200 (also "duplicate":true)  Spool::Ack, then Spool::AckGaps for the gaps that batch carried;
//                                a config_revision other than the one set with
//                                SetConfigRevision calls on_config_revision;
//   400                          logged and dropped (acked): retrying cannot help;
//   413                          logged and dropped: batches are split below the limits, so the
//                                server's limits must be lower than the protocol's;
//   401                          "device revoked or credential invalid": kept, retried every
//                                revoked_retry;
//   network errors, 5xx, other   kept, retried with exponential backoff and full jitter.
// Stop() lets the current send finish and keeps the spool. Gaps carried by a batch that was not
// yet acknowledged when the agent restarts are reported again by a later batch.
//
// Thread safety: Enqueue, SetConfigRevision, WaitDrained, Stop and the accessors may be called
// from any thread. SendOldest is for the sender thread (or tests, when the thread is not
// started). The Spool must outlive the sender.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/spool/spool.h"
#include "agent/transport/api.h"
#include "agent/transport/policy.h"
#include "core/clock.h"
#include "proto/batch.h"

namespace vigil::agent::transport {

struct SenderOptions {
  std::string agent_version;
  BackoffPolicy backoff;                                // network errors and 5xx
  std::chrono::milliseconds revoked_retry{5 * 60'000};  // after a 401
  proto::BatchLimits limits;
  RandomSource random;  // default SystemRandom()
  // Called on the sender thread when a reply names another config revision.
  std::function<void(int64_t revision)> on_config_revision;
};

class BatchSender {
 public:
  enum class Outcome { kEmpty, kDelivered, kDropped, kRetry, kRevoked };

  // `api` is used by the sender thread only.
  BatchSender(Spool& spool, std::unique_ptr<AgentApi> api, const Clock& clock,
              SenderOptions options);
  ~BatchSender();  // Stop()s
  BatchSender(const BatchSender&) = delete;
  BatchSender& operator=(const BatchSender&) = delete;

  // Spools `observations` as one or more batches (none for none) and wakes the sender.
  // Errors: those of Spool::NextSequence and Spool::Append (kUnavailable, kPayloadTooLarge);
  // batches spooled before the failure stay spooled.
  Status Enqueue(std::vector<proto::Observation> observations);

  // One delivery attempt of the oldest spooled batch (see the table above).
  Outcome SendOldest();

  void Start();
  // Finishes the current send and joins the thread. Idempotent.
  void Stop();

  // Blocks until the spool is empty (true) or `timeout` passed or Stop() was called (false).
  bool WaitDrained(std::chrono::milliseconds timeout);

  void SetConfigRevision(int64_t revision);
  // The failure of the last delivery attempt (OK after a success).
  Status last_error() const;
  uint64_t delivered() const;

 private:
  void Loop();

  Spool& spool_;
  std::unique_ptr<AgentApi> api_;
  const Clock& clock_;
  SenderOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                             // guarded by mu_
  bool wake_ = false;                             // guarded by mu_: new batches were spooled
  std::map<uint64_t, std::vector<Gap>> carried_;  // guarded by mu_: gaps each batch reports
  int64_t config_revision_ = -1;                  // guarded by mu_; -1: unknown
  Status last_error_;                             // guarded by mu_
  uint64_t delivered_ = 0;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace vigil::agent::transport
