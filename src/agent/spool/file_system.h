#pragma once

// FileSystem: the seam through which the agent's spool touches the disk, so tests can inject
// faults (a failing write, fsync or rename) and simulate crashes (a torn or corrupted file).
//
// RealFileSystem is the POSIX implementation. FaultyFileSystem wraps any FileSystem for tests.
//
// Errors: every method returns kUnavailable for an I/O failure (disk full, permission denied,
// injected fault), kNotFound when ReadFile's file does not exist, kResourceExhausted when it is
// larger than the caller's cap.
//
// Thread safety: RealFileSystem may be used from any thread (it holds no state).
// FaultyFileSystem is not thread-safe; the spool serialises its calls.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil::agent {

struct DirEntry {
  enum class Type : uint8_t { kFile, kDirectory, kOther };
  std::string name;  // the last path component
  Type type = Type::kOther;
  uint64_t size = 0;  // bytes, for regular files
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates the directory `path` and its missing parents; OK when it already exists.
  virtual Status CreateDir(const std::string& path) = 0;
  // Creates or truncates `path` and writes `data` to it. Not synced.
  virtual Status WriteFile(const std::string& path, std::string_view data) = 0;
  // fsync(2) of the file's contents.
  virtual Status SyncFile(const std::string& path) = 0;
  // rename(2): atomically replaces `to`.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // fsync(2) of a directory, making renames and removals inside it durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // The whole contents of `path`, at most `max_bytes` of them (kResourceExhausted when larger).
  virtual Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) = 0;
  // The entries of `path` except "." and "..", in no particular order.
  virtual Result<std::vector<DirEntry>> ListDir(const std::string& path) = 0;
  // Removes the file `path`; OK when it does not exist.
  virtual Status Remove(const std::string& path) = 0;

  // Writes `path` so that after a crash it holds either its old contents or all of `data`:
  // writes `path`.tmp, fsyncs it, renames it over `path` and fsyncs the directory.
  // On failure before the rename `path` is untouched and the temporary file is removed (best
  // effort); on failure of the final directory fsync `path` already holds `data` but may not
  // survive a crash.
  Status WriteFileAtomically(const std::string& path, std::string_view data);
};

// The suffix of WriteFileAtomically's temporary files; leftovers of a crash end with it.
inline constexpr std::string_view kTempSuffix = ".tmp";

class RealFileSystem final : public FileSystem {
 public:
  Status CreateDir(const std::string& path) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Status SyncFile(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  Status Remove(const std::string& path) override;
};

// The operations of FileSystem, for FaultyFileSystem's fault selection.
enum class FsOp : uint8_t {
  kCreateDir,
  kWriteFile,
  kSyncFile,
  kRename,
  kSyncDir,
  kReadFile,
  kListDir,
  kRemove,
};

std::string_view FsOpName(FsOp op);

// FaultyFileSystem forwards to `base` and fails the calls it is told to fail with kUnavailable.
// A failing WriteFile writes the first half of the data first, like a torn write.
// It also remembers the last file a rename completed (the last durable write) so a test can
// simulate a crash that tore or corrupted it.
class FaultyFileSystem final : public FileSystem {
 public:
  explicit FaultyFileSystem(FileSystem& base) : base_(base) {}

  // Fails the nth call from now, of any operation (1 = the next call).
  void FailNthCall(uint64_t n) { fail_at_call_ = calls_ + n; }
  // Fails every call of `op` until ClearFaults().
  void FailOp(FsOp op) { failing_ops_ |= Bit(op); }
  void ClearFaults() {
    fail_at_call_ = 0;
    failing_ops_ = 0;
  }
  // Calls made so far, failed ones included.
  uint64_t calls() const { return calls_; }
  uint64_t injected_failures() const { return injected_failures_; }

  // The destination of the last successful Rename ("" if none).
  const std::string& last_written() const { return last_written_; }
  // Crash simulations on last_written(): keep only its first `keep_bytes` bytes; flip the bits
  // of the byte at `offset` (clamped to the last byte). Errors: kFailedPrecondition when nothing
  // was written yet.
  Status TruncateLastWritten(uint64_t keep_bytes);
  Status CorruptLastWritten(uint64_t offset);

  Status CreateDir(const std::string& path) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Status SyncFile(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status SyncDir(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  Status Remove(const std::string& path) override;

 private:
  static uint32_t Bit(FsOp op) { return 1u << static_cast<uint32_t>(op); }
  // Counts the call and returns the injected failure, if any.
  Status Inject(FsOp op, const std::string& path);

  FileSystem& base_;
  uint64_t calls_ = 0;
  uint64_t fail_at_call_ = 0;  // 0: none
  uint32_t failing_ops_ = 0;
  uint64_t injected_failures_ = 0;
  std::string last_written_;
};

}  // namespace vigil::agent
