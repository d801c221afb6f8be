#pragma once

// Spool: the agent's bounded, crash-safe, on-disk FIFO of encoded result batches.
//
// While the server is unreachable the agent appends each batch (opaque bytes, keyed by a
// per-device sequence number) and the sender replays them oldest first, acking each one the
// server acknowledged. When the spool is over its limits the oldest batches are dropped and the
// dropped range is recorded as a Gap, which is kept on disk until the server was told
// (AckGaps / TakeGaps): nothing is lost silently.
//
// On disk, in `dir`:
//   <20-digit zero-padded sequence>.batch   one per batch:
//       "VGSB" | u16 version (1) | u16 reserved (0) | u64 sequence | u32 payload length |
//       u32 CRC-32 (IEEE) of the 20 header bytes before it and of the payload | payload
//   spool.state                             sequence high-water mark and pending gaps:
//       "VGSS" | u16 version (1) | u16 reserved | u64 next sequence | u32 gap count |
//       gap count x (u64 first, u64 last) | u32 CRC-32 of everything before it
//   *.tmp                                   leftovers of an interrupted write; removed on Open
// Integers are little-endian. Every file is written with FileSystem::WriteFileAtomically.
// Other names are ignored and never deleted.
//
// Recovery (Open): a batch file that is torn, fails its CRC, names another sequence, is too
// large or unreadable is deleted and its sequence recorded as a Gap. A missing or corrupt
// state file while batches exist makes the next sequence jump by kSequenceSafetyJump so that
// sequences never repeat. Batches over the limits (which may have shrunk) are dropped as a Gap.
//
// Thread safety: every method may be called from any thread; a mutex serialises them and is
// held across disk I/O (the agent has one producer and one sender thread; neither is an event
// loop). The FileSystem must outlive the Spool.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/spool/file_system.h"
#include "core/status.h"

namespace vigil::agent {

struct SpoolLimits {
  uint64_t max_bytes = 64ull << 20;  // sum of payload sizes (headers add kBatchHeaderSize each)
  size_t max_batches = 100'000;
};

// A range of sequences, both ends included, whose batches were dropped or found corrupt.
struct Gap {
  uint64_t first = 0;
  uint64_t last = 0;
  bool operator==(const Gap&) const = default;
};

struct SpoolEntry {
  uint64_t sequence = 0;
  std::string payload;
  bool operator==(const SpoolEntry&) const = default;
};

// What Open found, for the caller to log.
struct SpoolRecovery {
  size_t batches = 0;          // valid batches recovered
  size_t corrupt_removed = 0;  // batch files deleted as torn/corrupt (also recorded as gaps)
  size_t temp_removed = 0;     // *.tmp leftovers deleted
  size_t ignored = 0;          // entries with foreign names or of the wrong type
  bool state_reset = false;    // the state file was missing or corrupt while batches existed
};

inline constexpr size_t kBatchHeaderSize = 24;
inline constexpr uint64_t kMaxPayloadBytes = 64ull << 20;
inline constexpr uint64_t kSequenceSafetyJump = 1ull << 20;
inline constexpr size_t kMaxGaps = 4096;  // beyond it the newest gaps are merged (widened)
inline constexpr std::string_view kStateFileName = "spool.state";

class Spool {
 public:
  using Entry = SpoolEntry;

  // Opens (creating `dir` if needed) and recovers the spool; see "Recovery" above.
  // Errors: kInvalidArgument for an empty dir or zero limits; kUnavailable when the directory
  // cannot be created or listed, or the recovered state cannot be written (nothing was deleted
  // then).
  static Result<std::unique_ptr<Spool>> Open(FileSystem& fs, std::string dir, SpoolLimits limits);

  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Issues the next sequence number (1, 2, ...), made durable before it is returned, so a
  // sequence is never issued twice, across restarts too.
  // Errors: kUnavailable when the state file cannot be written (nothing was issued then).
  Result<uint64_t> NextSequence();

  // Stores a batch; durable when it returns OK. `seq` must come from NextSequence and be newer
  // than every batch in the spool and every gap (batches are appended in order; retrying the
  // same seq after a failure is fine). If the spool is then over its limits, the oldest batches
  // are dropped and recorded as one Gap.
  // Errors: kInvalidArgument for seq 0 or a seq never issued; kAlreadyExists when seq is
  // spooled; kFailedPrecondition when seq is not newer than the newest batch or gap;
  // kPayloadTooLarge when the payload alone exceeds the limits; kUnavailable for I/O failures.
  // After any failure the spool is unchanged (the batch is not there, nothing was dropped).
  Status Append(uint64_t seq, std::string_view payload);

  // The oldest batch / the oldest `n` batches in sequence order, read from disk. A batch found
  // corrupt now is deleted, recorded as a Gap and skipped.
  // Errors: kUnavailable for I/O failures.
  Result<std::optional<Entry>> Oldest();
  Result<std::vector<Entry>> Peek(size_t n);

  // Removes the batch `seq` (the server acknowledged it). Idempotent: an unknown seq is OK.
  // The removal is not fsynced: after a crash an acked batch may be replayed again, which the
  // server deduplicates. Errors: kUnavailable when the file cannot be removed (still spooled).
  Status Ack(uint64_t seq);

  // Gaps not yet reported, ordered by sequence.
  std::vector<Gap> Gaps() const;
  // Forgets `reported` gaps (as returned by Gaps()) durably, once the server has them. A gap
  // widened since it was read keeps its new part. Unknown gaps are ignored.
  // Errors: kUnavailable when the state file cannot be written (nothing is forgotten then).
  Status AckGaps(const std::vector<Gap>& reported);
  // Gaps() and AckGaps() in one step: the gaps are forgotten once returned.
  Result<std::vector<Gap>> TakeGaps();

  size_t size() const;     // batches spooled
  uint64_t bytes() const;  // sum of their payload sizes
  const SpoolRecovery& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }

 private:
  Spool(FileSystem& fs, std::string dir, SpoolLimits limits);

  std::string BatchPath(uint64_t seq) const;
  std::string StatePath() const;
  Status WriteState(uint64_t next_seq, const std::vector<Gap>& gaps);
  uint64_t NewestKnownLocked() const;

  FileSystem& fs_;
  const std::string dir_;
  const SpoolLimits limits_;
  SpoolRecovery recovery_;  // set by Open only

  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> batches_;  // sequence -> payload size; guarded by mu_
  uint64_t bytes_ = 0;                    // guarded by mu_
  uint64_t next_seq_ = 1;                 // guarded by mu_
  std::vector<Gap> gaps_;                 // sorted, disjoint; guarded by mu_
  // Whether the next drop may widen the last gap instead of adding one: no batch between them
  // was acked (delivered). Guarded by mu_.
  bool can_extend_last_gap_ = false;
};

// Exposed for tests and the fuzzer. CRC-32 (IEEE 802.3, reflected 0xEDB88320).
uint32_t Crc32(std::string_view data, uint32_t crc = 0);
std::string EncodeBatch(uint64_t seq, std::string_view payload);
// Errors: kInvalidArgument for anything but a well-formed batch file.
Result<SpoolEntry> DecodeBatch(std::string_view file);
struct SpoolState {
  uint64_t next_seq = 1;
  std::vector<Gap> gaps;
};
std::string EncodeState(const SpoolState& state);
// Errors: kInvalidArgument for anything but a well-formed state file with sorted, disjoint gaps.
Result<SpoolState> DecodeState(std::string_view file);
// "00000000000000000042.batch" <-> 42; nullopt for any other name.
std::string BatchFileName(uint64_t seq);
std::optional<uint64_t> ParseBatchFileName(std::string_view name);

}  // namespace vigil::agent
