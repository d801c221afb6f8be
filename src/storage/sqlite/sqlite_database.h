#pragma once

// SqliteDatabase: the default Database engine, on one SQLite file in WAL mode.
//
// Writes: ONE writer thread owns the only write connection. Write() enqueues its TxFn and blocks
// until the writer has run it; the writer takes every queued job (up to OpenOptions::max_batch),
// opens one BEGIN IMMEDIATE transaction, runs each job inside its own SAVEPOINT (a job that fails
// is rolled back to its savepoint and gets its own error; the other jobs are unaffected), then
// COMMITs once and completes every caller. With synchronous=FULL the commit is on disk when Write
// returns OK, and one fsync is shared by the whole group.
//
// Reads: a pool of OpenOptions::readers read-only connections (PRAGMA query_only). Each Read runs
// in BEGIN (deferred) ... COMMIT, so every statement of one Read sees the same snapshot; WAL lets
// reads proceed while the writer commits.
//
// Statement errors: kAlreadyExists for UNIQUE / PRIMARY KEY violations; kInvalidArgument for other
// constraint violations (NOT NULL, CHECK, FOREIGN KEY, a trigger's RAISE(ABORT, ...)) and for a
// placeholder count that does not match the parameters or for SQL holding more than one
// statement; kUnavailable for SQLITE_BUSY / SQLITE_LOCKED; kInternal otherwise. After a statement
// fails, the transaction is poisoned like a PostgreSQL one: later statements in the same callback
// return the same error and the callback's changes are rolled back even if it returns OK.
//
// Calling Write() or Read() on the same database from inside a callback returns
// kFailedPrecondition (it would deadlock otherwise); use the Tx you were given.
//
// Thread safety: every public method may be called from any thread. The writer connection is only
// touched by the writer thread; a read connection by one Read at a time. Destroying the database
// while calls are in flight is a bug.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/database.h"

struct sqlite3;

namespace vigil::storage {

namespace sqlite_internal {
class Connection;
struct WriteJob;
}  // namespace sqlite_internal

class SqliteDatabase final : public Database {
 public:
  // Opens (creating if needed) the SQLite file at `path` and starts the writer thread. Does not
  // migrate (OpenDatabase does). Errors: kUnavailable when the file cannot be opened or put in WAL
  // mode (e.g. a read-only directory); kInternal for other engine failures.
  static Result<std::unique_ptr<SqliteDatabase>> Open(const std::string& path,
                                                      const OpenOptions& options = {});

  ~SqliteDatabase() override;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  Status Write(const TxFn& fn) override;
  Status Read(const TxFn& fn) override;
  Dialect dialect() const override { return Dialect::kSqlite; }
  Result<int64_t> SchemaVersion() override;
  // Copies the store with the online backup API, from its own connection, in one step (a single
  // read snapshot, so writers are not blocked and the copy is consistent), into `path` + ".tmp",
  // which is synced and then renamed over `path`: `path` is either the old file or a complete
  // copy. Errors: kUnavailable when the destination cannot be written; kInternal otherwise.
  Status Backup(const std::string& path) override;
  void SetObserver(Observer observer) override;

  // For tests and /metrics: number of group transactions committed or attempted so far, and the
  // number of Write() calls waiting for the writer right now.
  int64_t groups() const;
  size_t queued_writes() const;

 private:
  SqliteDatabase(std::string path, int max_batch);

  void WriterLoop();
  void RunGroup(std::vector<sqlite_internal::WriteJob*>& jobs);
  // Copies the WAL back into the database file from its own connection, so that the writer
  // thread (which commits every acknowledged write) never waits for it. Woken by the writer's
  // WAL hook when the WAL has grown by kCheckpointPages since the last checkpoint.
  void CheckpointLoop();
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);

  const std::string path_;
  const int max_batch_;

  // Owned by the writer thread once it starts.
  std::unique_ptr<sqlite_internal::Connection> writer_conn_;
  std::thread writer_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<sqlite_internal::WriteJob*> queue_;  // guarded by queue_mu_
  bool stopping_ = false;                         // guarded by queue_mu_
  int64_t groups_ = 0;                            // guarded by queue_mu_

  std::unique_ptr<sqlite_internal::Connection> checkpoint_conn_;
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mu_
  bool checkpoint_stop_ = false;    // guarded by checkpoint_mu_

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<sqlite_internal::Connection>> idle_readers_;  // guarded

  ObserverSlot observer_;
};

}  // namespace vigil::storage
