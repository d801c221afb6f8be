#include "storage/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "core/log.h"

#include <fcntl.h>
#include <unistd.h>

namespace vigil::storage {
namespace sqlite_internal {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// The checkpointer copies the WAL into the database each time it has grown by this many pages
// (SQLite's own automatic checkpoint uses the same 1,000: 16 MB at our 16 KiB pages); past
// kWriterCheckpointPages (80 MB) the writer checkpoints itself rather than let the WAL grow
// without bound.
constexpr int kCheckpointPages = 1000;
constexpr int kWriterCheckpointPages = 5000;
constexpr size_t kMaxCachedStatements = 256;

bool IsBlank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n;") == std::string_view::npos;
}

// Maps an SQLite result code (extended codes enabled) to Vigil's error codes.
Status MapError(int rc, std::string_view message, std::string_view sql) {
  std::string msg = "sqlite: " + std::string(message);
  if (!sql.empty()) {
    constexpr size_t kMaxSql = 160;
    msg += " [in: ";
    msg += sql.substr(0, kMaxSql);
    if (sql.size() > kMaxSql) {
      msg += "...";
    }
    msg += "]";
  }
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return AlreadyExists(std::move(msg));
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return InvalidArgument(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

// Runs `fn`, turning an escaping exception into kInternal (no exception leaves the storage module)
// and marking the current thread as inside a callback of `db` so that re-entrant calls fail fast.
thread_local const Database* tl_callback_db = nullptr;

Status RunCallback(const Database* db, const TxFn& fn, Tx& tx) {
  const Database* previous = tl_callback_db;
  tl_callback_db = db;
  Status s;
  try {
    s = fn(tx);
  } catch (const std::exception& e) {
    s = Internal(std::string("transaction callback threw: ") + e.what());
  } catch (...) {
    s = Internal("transaction callback threw a non-standard exception");
  }
  tl_callback_db = previous;
  return s;
}

}  // namespace

// One sqlite3 handle plus its prepared-statement cache. Used by one thread at a time.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags) {
    // Memory statistics take a global mutex on every allocation, which serializes readers on
    // different connections; Vigil does not use them. Must run before SQLite initializes.
    static std::once_flag configure;
    std::call_once(configure, [] {
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
      sqlite3_initialize();
    });
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      return Unavailable("sqlite: cannot open '" + path + "': " + msg);
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    auto conn = std::unique_ptr<Connection>(new Connection(db));
    // No memory map of the database file (SQLite's default): while ingest grows the file, every
    // read transaction re-mapped it (munmap and a TLB flush each time); without it, reads are
    // as fast and ingest is cheaper, most of all in small batches (bench/README.md, P1).
    return conn;
  }

  ~Connection() {
    for (auto& [sql, stmt] : cache_) {
      sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // Runs one statement to completion; appends its rows to `rows` when non-null. Returns the number
  // of rows changed by an INSERT/UPDATE/DELETE (0 for other statements).
  Result<int64_t> Run(std::string_view sql, std::span<const Value> params, std::vector<Row>* rows) {
    VIGIL_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    if (stmt == nullptr) {  // Only whitespace or comments.
      if (!params.empty()) {
        return InvalidArgument("sqlite: parameters given for an empty statement");
      }
      return int64_t{0};
    }
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (expected < 0 || static_cast<size_t>(expected) != params.size()) {
      return InvalidArgument("sqlite: statement has " + std::to_string(expected) +
                             " placeholders but " + std::to_string(params.size()) +
                             " parameters were given [in: " + std::string(sql.substr(0, 160)) +
                             "]");
    }
    struct Resetter {
      sqlite3_stmt* s;
      ~Resetter() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } resetter{stmt};

    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, index, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, index, *d);
      } else {
        const std::string& s = std::get<std::string>(v);
        // The parameter outlives the statement's execution (reset in ~Resetter).
        rc = sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) {
        return MapError(rc, sqlite3_errmsg(db_), sql);
      }
    }

    const sqlite3_int64 total_before = sqlite3_total_changes64(db_);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) {
        break;
      }
      if (rc != SQLITE_ROW) {
        return MapError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), sql);
      }
      if (rows != nullptr) {
        rows->push_back(ReadRow(stmt));
      }
    }
    // sqlite3_changes64 keeps the count of the last DML statement, so only trust it when this
    // statement changed something.
    if (sqlite3_total_changes64(db_) == total_before) {
      return int64_t{0};
    }
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Status ExecSimple(std::string_view sql) { return Run(sql, {}, nullptr).status(); }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  static Row ReadRow(sqlite3_stmt* stmt) {
    const int n = sqlite3_column_count(stmt);
    std::vector<Value> values;
    values.reserve(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c)));
          break;
        case SQLITE_FLOAT:
          values.emplace_back(sqlite3_column_double(stmt, c));
          break;
        case SQLITE_TEXT: {
          const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          const int len = sqlite3_column_bytes(stmt, c);
          values.emplace_back(std::string(p != nullptr ? p : "", static_cast<size_t>(len)));
          break;
        }
        case SQLITE_BLOB: {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          const int len = sqlite3_column_bytes(stmt, c);
          values.emplace_back(p != nullptr ? std::string(p, static_cast<size_t>(len))
                                           : std::string());
          break;
        }
        default:
          values.emplace_back(std::monostate{});
          break;
      }
    }
    return Row(std::move(values));
  }

  // Returns the cached statement for `sql` (nullptr for an empty statement).
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) {
      return it->second;
    }
    if (sql.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
      return InvalidArgument("sqlite: statement too long");
    }
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) {
      return MapError(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), sql);
    }
    // sqlite3_prepare compiles only the first statement: refuse silently dropping the rest.
    std::string_view rest =
        tail != nullptr ? sql.substr(static_cast<size_t>(tail - sql.data())) : std::string_view();
    if (!IsBlank(rest)) {
      sqlite3_stmt* extra = nullptr;
      rc = sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &extra, nullptr);
      const bool more = rc != SQLITE_OK || extra != nullptr;
      sqlite3_finalize(extra);
      if (more) {
        sqlite3_finalize(stmt);
        return InvalidArgument(
            "sqlite: one statement per call [in: " + std::string(sql.substr(0, 160)) + "]");
      }
    }
    if (stmt == nullptr) {
      return static_cast<sqlite3_stmt*>(nullptr);
    }
    if (cache_.size() >= kMaxCachedStatements) {
      // No statement is in use between calls, so the whole cache may go.
      for (auto& [s, st] : cache_) {
        sqlite3_finalize(st);
      }
      cache_.clear();
    }
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  sqlite3* const db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// The Tx handed to callbacks. After a statement fails, later statements fail with the same code
// (as on PostgreSQL) and Write/Read treat the callback as failed.
class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(Connection& conn) : conn_(conn) {}

  using Tx::Exec;
  using Tx::Query;

  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) override {
    VIGIL_RETURN_IF_ERROR(Poisoned());
    std::vector<Row> rows;
    Result<int64_t> r = conn_.Run(sql, params, &rows);
    if (!r.has_value()) {
      first_error_ = r.error();
      return r.error();
    }
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, std::span<const Value> params) override {
    VIGIL_RETURN_IF_ERROR(Poisoned());
    Result<int64_t> r = conn_.Run(sql, params, nullptr);
    if (!r.has_value()) {
      first_error_ = r.error();
    }
    return r;
  }

  const Status& first_error() const { return first_error_; }

 private:
  Status Poisoned() const {
    if (first_error_.ok()) {
      return Status::Ok();
    }
    return Status(first_error_.code(),
                  "transaction aborted by an earlier error: " + first_error_.message());
  }

  Connection& conn_;
  Status first_error_;
};

struct WriteJob {
  const TxFn* fn;
  std::promise<Status> done;
};

namespace {

// Wakes the caller blocked in Write(). The promise is moved out first: the caller owns `job` and
// may destroy it as soon as the future is ready, possibly before set_value() has returned.
void Complete(WriteJob* job, Status status) {
  std::promise<Status> done = std::move(job->done);
  done.set_value(std::move(status));
}

// Runs `fn` in `tx` and folds an ignored statement failure into the result.
Status RunInTx(const Database* db, const TxFn& fn, SqliteTx& tx) {
  Status s = RunCallback(db, fn, tx);
  if (s.ok() && !tx.first_error().ok()) {
    s = tx.first_error();
  }
  return s;
}

Status SyncDirectoryOf(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Unavailable("cannot open directory " + dir.string() + ": " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return Unavailable("cannot sync directory " + dir.string() + ": " + std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace
}  // namespace sqlite_internal

using sqlite_internal::Complete;
using sqlite_internal::Connection;
using sqlite_internal::SqliteTx;
using sqlite_internal::WriteJob;

SqliteDatabase::SqliteDatabase(std::string path, int max_batch)
    : path_(std::move(path)), max_batch_(max_batch) {}

Result<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                             const OpenOptions& options) {
  if (sqlite3_threadsafe() == 0) {
    return Internal("sqlite: the library was built without thread support");
  }
  if (path.empty() || path == ":memory:") {
    return InvalidArgument("sqlite: a file path is required (WAL needs a file)");
  }
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(path, std::max(1, options.max_batch)));

  VIGIL_ASSIGN_OR_RETURN(db->writer_conn_,
                         Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  Connection& w = *db->writer_conn_;
  // 16 KiB pages for a new file (an existing one keeps its size): a fifth less CPU per ingested
  // result than 4 KiB (fewer pages, so fewer B-tree splits and WAL frames written one pwrite()
  // each); 32 KiB gained nothing more (bench/README.md, P1).
  VIGIL_RETURN_IF_ERROR(w.ExecSimple("PRAGMA page_size=16384"));
  {
    std::vector<Row> rows;
    VIGIL_ASSIGN_OR_RETURN(int64_t ignored, w.Run("PRAGMA journal_mode=WAL", {}, &rows));
    (void)ignored;
    if (rows.empty() || rows[0].Text(0) != "wal") {
      return Unavailable("sqlite: cannot switch '" + path + "' to WAL mode (journal_mode is " +
                         (rows.empty() ? std::string("unknown") : rows[0].Text(0)) + ")");
    }
  }
  VIGIL_RETURN_IF_ERROR(w.ExecSimple("PRAGMA synchronous=FULL"));
  VIGIL_RETURN_IF_ERROR(w.ExecSimple("PRAGMA foreign_keys=ON"));
  // Checkpoints run on their own connection and thread (CheckpointLoop); the hook replaces
  // SQLite's automatic checkpoint, which would run inside the writer's commits.
  VIGIL_ASSIGN_OR_RETURN(db->checkpoint_conn_, Connection::Open(path, SQLITE_OPEN_READWRITE));
  VIGIL_RETURN_IF_ERROR(db->checkpoint_conn_->ExecSimple("PRAGMA synchronous=FULL"));
  sqlite3_wal_hook(w.db(), &SqliteDatabase::OnWalCommit, db.get());

  const int readers = std::max(1, options.readers);
  for (int i = 0; i < readers; ++i) {
    VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> r,
                           Connection::Open(path, SQLITE_OPEN_READWRITE));
    VIGIL_RETURN_IF_ERROR(r->ExecSimple("PRAGMA query_only=ON"));
    VIGIL_RETURN_IF_ERROR(r->ExecSimple("PRAGMA foreign_keys=ON"));
    db->idle_readers_.push_back(std::move(r));
  }

  db->writer_ = std::thread([raw = db.get()] { raw->WriterLoop(); });
  db->checkpointer_ = std::thread([raw = db.get()] { raw->CheckpointLoop(); });
  return db;
}

int SqliteDatabase::OnWalCommit(void* self, sqlite3* db, const char* name, int pages) {
  auto* d = static_cast<SqliteDatabase*>(self);
  if (pages >= sqlite_internal::kWriterCheckpointPages) {
    // The checkpointer has fallen far behind (or long readers keep it from finishing): the
    // writer checkpoints itself so that the WAL stays bounded.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= sqlite_internal::kCheckpointPages) {
    std::lock_guard<std::mutex> lock(d->checkpoint_mu_);
    d->checkpoint_wanted_ = true;
    d->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteDatabase::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || checkpoint_stop_; });
      if (checkpoint_stop_) {
        return;
      }
      checkpoint_wanted_ = false;
    }
    int rc = sqlite3_wal_checkpoint_v2(checkpoint_conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                       nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::Write(spdlog::level::warn, "sqlite checkpoint failed",
                 {{"error", sqlite3_errstr(rc)}, {"path", path_}});
    }
  }
}

SqliteDatabase::~SqliteDatabase() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) {
    checkpointer_.join();
  }
}

Status SqliteDatabase::Write(const TxFn& fn) {
  const auto start = std::chrono::steady_clock::now();
  if (sqlite_internal::tl_callback_db == this) {
    return FailedPrecondition(
        "Write() called from inside a transaction callback of the same database");
  }
  WriteJob job{&fn, {}};
  std::future<Status> done = job.done.get_future();
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) {
      return Unavailable("sqlite: the database is shutting down");
    }
    queue_.push_back(&job);
  }
  queue_cv_.notify_one();
  Status s = done.get();
  observer_.Report("write", start, s.ok());
  return s;
}

void SqliteDatabase::WriterLoop() {
  std::vector<WriteJob*> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping_ and drained
      }
      while (!queue_.empty() && batch.size() < static_cast<size_t>(max_batch_)) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
      ++groups_;
    }
    RunGroup(batch);
  }
}

void SqliteDatabase::RunGroup(std::vector<WriteJob*>& jobs) {
  Connection& c = *writer_conn_;
  std::vector<Status> results(jobs.size());

  Status begin = c.ExecSimple("BEGIN IMMEDIATE");
  if (!begin.ok()) {
    for (WriteJob* job : jobs) {
      Complete(job, begin);
    }
    return;
  }

  // Set when SQLite itself rolled back the whole transaction (I/O error, disk full, ...): every
  // job of the group that had succeeded so far is lost with it.
  std::optional<Status> group_lost;
  auto lose_group = [&](const Status& cause) {
    group_lost = Unavailable("sqlite: the group transaction was rolled back: " + cause.message());
    for (Status& r : results) {
      if (r.ok()) {
        r = *group_lost;
      }
    }
    if (sqlite3_get_autocommit(c.db()) == 0) {
      (void)c.ExecSimple("ROLLBACK");
    }
  };

  for (size_t i = 0; i < jobs.size(); ++i) {
    if (group_lost) {
      results[i] = *group_lost;
      continue;
    }
    Status s = c.ExecSimple("SAVEPOINT vigil_job");
    if (s.ok()) {
      SqliteTx tx(c);
      s = sqlite_internal::RunInTx(this, *jobs[i]->fn, tx);
      if (s.ok()) {
        s = c.ExecSimple("RELEASE vigil_job");
      }
    }
    if (s.ok()) {
      continue;
    }
    results[i] = s;
    if (sqlite3_get_autocommit(c.db()) != 0) {
      lose_group(s);
      results[i] = s;
      continue;
    }
    Status rb = c.ExecSimple("ROLLBACK TO vigil_job");
    if (rb.ok()) {
      rb = c.ExecSimple("RELEASE vigil_job");
    }
    if (!rb.ok()) {
      lose_group(rb);
      results[i] = s;
    }
  }

  if (!group_lost) {
    Status commit = c.ExecSimple("COMMIT");
    if (!commit.ok()) {
      if (sqlite3_get_autocommit(c.db()) == 0) {
        (void)c.ExecSimple("ROLLBACK");
      }
      for (Status& r : results) {
        if (r.ok()) {
          r = commit;
        }
      }
    }
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    Complete(jobs[i], std::move(results[i]));
  }
}

Status SqliteDatabase::Read(const TxFn& fn) {
  const auto start = std::chrono::steady_clock::now();
  if (sqlite_internal::tl_callback_db == this) {
    return FailedPrecondition(
        "Read() called from inside a transaction callback of the same database");
  }
  std::unique_ptr<Connection> conn;
  {
    std::unique_lock<std::mutex> lock(readers_mu_);
    readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
    conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }

  Status s = conn->ExecSimple("BEGIN");
  if (s.ok()) {
    SqliteTx tx(*conn);
    s = sqlite_internal::RunInTx(this, fn, tx);
    Status end = conn->ExecSimple(s.ok() ? "COMMIT" : "ROLLBACK");
    if (s.ok()) {
      s = end;
    }
    if (sqlite3_get_autocommit(conn->db()) == 0) {
      (void)conn->ExecSimple("ROLLBACK");
    }
  }

  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
  observer_.Report("read", start, s.ok());
  return s;
}

Result<int64_t> SqliteDatabase::SchemaVersion() {
  int64_t version = 0;
  VIGIL_RETURN_IF_ERROR(Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Row exists, tx.QueryOne("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'schema_version'",
                                {}, "sqlite_master"));
    if (exists.Int(0) == 0) {
      return Status::Ok();
    }
    VIGIL_ASSIGN_OR_RETURN(
        Row row,
        tx.QueryOne("SELECT COALESCE(MAX(version), 0) FROM schema_version", {}, "schema version"));
    version = row.Int(0);
    return Status::Ok();
  }));
  return version;
}

Status SqliteDatabase::Backup(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dest = fs::absolute(path, ec);
  if (ec || path.empty()) {
    return InvalidArgument("backup: bad destination path '" + path + "'");
  }
  if (fs::weakly_canonical(dest, ec) == fs::weakly_canonical(fs::absolute(path_), ec)) {
    return InvalidArgument("backup: the destination is the live database");
  }
  const fs::path tmp = dest.string() + ".tmp";
  fs::remove(tmp, ec);

  // A separate source connection: the backup reads one snapshot while the writer keeps going.
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> src,
                         Connection::Open(path_, SQLITE_OPEN_READWRITE));
  VIGIL_RETURN_IF_ERROR(src->ExecSimple("PRAGMA query_only=ON"));
  VIGIL_ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> dst,
      Connection::Open(tmp.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  VIGIL_RETURN_IF_ERROR(dst->ExecSimple("PRAGMA synchronous=FULL"));

  sqlite3_backup* backup = sqlite3_backup_init(dst->db(), "main", src->db(), "main");
  if (backup == nullptr) {
    Status s = sqlite_internal::MapError(sqlite3_extended_errcode(dst->db()),
                                         sqlite3_errmsg(dst->db()), "");
    dst.reset();
    fs::remove(tmp, ec);
    return Unavailable("backup: " + s.message());
  }
  // One step copies every page under a single read transaction on the source: a consistent
  // snapshot that does not block the WAL writer. Retry while the source is briefly busy.
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 100; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      break;
    }
    sqlite3_sleep(50);
  }
  const int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE || finish_rc != SQLITE_OK) {
    const int code = rc != SQLITE_DONE ? rc : finish_rc;
    std::string msg =
        std::string("backup: ") + sqlite3_errstr(code) + ": " + sqlite3_errmsg(dst->db());
    dst.reset();
    fs::remove(tmp, ec);
    const int primary = code & 0xff;
    if (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN ||
        primary == SQLITE_READONLY || primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Unavailable(std::move(msg));
    }
    return Internal(std::move(msg));
  }
  dst.reset();  // closes; the copy was committed (and synced) by the backup
  src.reset();

  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Unavailable("backup: cannot rename into '" + dest.string() + "': " + ec.message());
  }
  return sqlite_internal::SyncDirectoryOf(dest);
}

void SqliteDatabase::SetObserver(Observer observer) { observer_.Set(std::move(observer)); }

int64_t SqliteDatabase::groups() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return groups_;
}

size_t SqliteDatabase::queued_writes() const {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return queue_.size();
}

}  // namespace vigil::storage
