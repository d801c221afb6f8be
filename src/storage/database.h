#pragma once

// Database: the one seam between Vigil's repositories and a SQL engine.
//
// Two implementations: SqliteDatabase (storage/sqlite/, the default: WAL, one writer thread that
// group-commits queued write transactions, separate read connections) and PostgresDatabase
// (storage/postgres/, selected by a postgresql:// URL, a small connection pool). Repositories
// (storage/*.h) are written once against this interface in the common SQL subset of SQLite 3.40 and
// PostgreSQL 15; parameters are written `?` and numbered for the engine by the implementation.
// A `?` inside a single-quoted string literal, a quoted identifier or a comment is not a parameter.
//
// Types: integers are int64 (BIGINT), text is UTF-8 TEXT, booleans are stored as 0/1 integers,
// times as int64 Unix milliseconds, money as int64 minor units. NULL is std::monostate.
//
// Thread safety: every method may be called from any thread. A Tx must only be used inside the
// callback that received it, on that thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace vigil::storage {

using Value = std::variant<std::monostate, int64_t, double, std::string>;

// One result row; columns in SELECT order.
class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
  // Accessors return the column converted to the requested type; NULL becomes 0 / "".
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  std::string Text(size_t i) const;
  bool Bool(size_t i) const { return Int(i) != 0; }
  std::optional<int64_t> OptInt(size_t i) const;
  std::optional<std::string> OptText(size_t i) const;
  const Value& at(size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

enum class Dialect { kSqlite, kPostgres };

// A transaction in progress. Queries run inside the enclosing Write() or Read().
class Tx {
 public:
  virtual ~Tx() = default;
  // Runs a statement and returns its rows (SELECT, or any statement with RETURNING).
  // Errors: kAlreadyExists for a unique-constraint violation; kInvalidArgument for another
  // constraint violation; kUnavailable when the database is busy or gone; kInternal otherwise.
  virtual Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) = 0;
  // Runs a statement and returns the number of rows changed.
  virtual Result<int64_t> Exec(std::string_view sql, std::span<const Value> params) = 0;

  Result<std::vector<Row>> Query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return Query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  Result<int64_t> Exec(std::string_view sql, std::initializer_list<Value> params = {}) {
    return Exec(sql, std::span<const Value>(params.begin(), params.size()));
  }
  // First row or kNotFound with `what` in the message.
  Result<Row> QueryOne(std::string_view sql, std::initializer_list<Value> params,
                       std::string_view what);
};

using TxFn = std::function<Status(Tx&)>;

class Database {
 public:
  virtual ~Database() = default;

  // Runs `fn` in a write transaction. If `fn` returns a failed Status, or a statement fails, every
  // change it made is rolled back and that Status is returned; otherwise the changes are durable
  // (committed and synced) when Write returns OK. `fn` may be retried on a serialization failure,
  // so it must not have effects outside the transaction.
  virtual Status Write(const TxFn& fn) = 0;
  // Runs `fn` in a read-only transaction that sees one consistent snapshot.
  virtual Status Read(const TxFn& fn) = 0;

  virtual Dialect dialect() const = 0;

  // Schema version recorded in the store (0 for an empty store).
  virtual Result<int64_t> SchemaVersion() = 0;

  // Writes a consistent copy of the whole store to `path` while it keeps serving.
  // Errors: kFailedPrecondition on PostgreSQL (use pg_dump); kUnavailable on I/O failure.
  virtual Status Backup(const std::string& path) = 0;

  // Timing of statements, for /metrics: called once per finished Write/Read with its duration.
  using Observer = std::function<void(std::string_view kind, double seconds, bool ok)>;
  virtual void SetObserver(Observer observer) = 0;
};

// Holds a Database's Observer and reports timings to it; shared by both engines.
// Thread safety: every method may be called from any thread.
class ObserverSlot {
 public:
  void Set(Database::Observer observer);
  // Reports the time since `start` under `kind` ("read"/"write").
  void Report(std::string_view kind, std::chrono::steady_clock::time_point start, bool ok) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Database::Observer> observer_;  // guarded by mu_
};

struct OpenOptions {
  // Number of read connections (SQLite) or pool size (PostgreSQL).
  int readers = 4;
  // SQLite: most Write() calls committed together in one group transaction.
  int max_batch = 256;
};

// Opens a store from a URL: "sqlite:///abs/path/vigil.db", "sqlite:relative.db", a plain path, or
// "postgresql://user@host:port/db". Applies pending migrations (storage/migrations.h) and refuses
// to run against a schema newer than this binary knows (kFailedPrecondition).
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url,
                                               const OpenOptions& options = {});

}  // namespace vigil::storage
