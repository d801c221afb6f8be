#pragma once

// PostgresDatabase: the Database engine for PostgreSQL 15, on libpq, selected by a
// postgresql:// (or postgres://) URL.
//
// Connections: a pool of at most OpenOptions::readers connections, opened lazily (one is opened by
// Open() to fail fast); a connection found broken is closed and replaced. Each connection sets
// client_encoding UTF8 and extra_float_digits 3; the URL may carry any libpq parameter, e.g.
// `?options=-csearch_path%3Dmyschema` (the conformance tests use that for a schema per test).
// connect_timeout defaults to 10 s unless the URL sets it.
//
// Write = BEGIN; fn; COMMIT (READ COMMITTED), retried up to 3 attempts in all on
// serialization_failure (40001) or deadlock_detected (40P01): `fn` must not have effects outside
// the transaction. A stale pooled connection discovered at BEGIN (before `fn` runs) is replaced
// transparently. Read = BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; fn; COMMIT.
//
// Statements: `?` placeholders are renumbered $1..$N (see NumberPlaceholders). Parameters are sent
// in text format: int64 as decimal text typed int8, double as shortest round-trip text typed
// float8, text untyped (the server infers the type from the context), NULL as NULL. Text must not
// contain NUL bytes (kInvalidArgument). Result columns map by type OID: int2/int4/int8 -> int64;
// float4/float8 -> double; numeric -> int64 when it is an integer that fits, else double; bool ->
// 1/0; bytea -> its raw bytes; everything else -> its text form; NULL -> std::monostate.
//
// Errors: SQLSTATE 23505 -> kAlreadyExists; other class 23 (integrity), class 22 (data
// exception, e.g. a value out of range) and P0001 (RAISE EXCEPTION in a trigger) ->
// kInvalidArgument; class 08 (connection), 40001/40P01 after the last retry, 53 (insufficient
// resources), 57 (operator intervention, e.g. the server shutting down), a lost connection ->
// kUnavailable; everything else -> kInternal. After a statement fails the transaction is aborted
// (PostgreSQL semantics): later statements in the same callback fail with the same code, and the
// transaction is rolled back even if the callback returns OK.
//
// Calling Write() or Read() on the same database from inside a callback returns
// kFailedPrecondition; use the Tx you were given.
//
// Thread safety: every public method may be called from any thread; a pooled connection is used by
// one transaction at a time. Destroying the database while calls are in flight is a bug.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/database.h"

struct pg_conn;

namespace vigil::storage {

// Rewrites each `?` placeholder in `sql` as $1, $2, ... in order. A `?` is left alone inside
// single-quoted string literals ('it''s?' and E'\'?' included), double-quoted identifiers,
// dollar-quoted strings ($$...$$, $tag$...$tag$), -- line comments and /* block comments */.
// Errors: kInvalidArgument when the number of placeholders differs from `param_count`.
Result<std::string> NumberPlaceholders(std::string_view sql, size_t param_count);

class PostgresDatabase final : public Database {
 public:
  // Connects once to check the URL and the server. Does not migrate (OpenDatabase does).
  // Errors: kUnavailable when the server cannot be reached or refuses the connection.
  static Result<std::unique_ptr<PostgresDatabase>> Open(const std::string& url,
                                                        const OpenOptions& options = {});

  ~PostgresDatabase() override;
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  Status Write(const TxFn& fn) override;
  Status Read(const TxFn& fn) override;
  Dialect dialect() const override { return Dialect::kPostgres; }
  Result<int64_t> SchemaVersion() override;
  // Always kFailedPrecondition: use pg_dump or a base backup.
  Status Backup(const std::string& path) override;
  void SetObserver(Observer observer) override;

 private:
  PostgresDatabase(std::string url, int pool_size);

  // Outcome of one attempt at a transaction.
  struct Attempt {
    Status status;
    bool retryable = false;  // 40001/40P01: the whole transaction may be run again
  };
  Attempt RunTransaction(const TxFn& fn, std::string_view begin_sql, bool is_write);

  Result<pg_conn*> Acquire();
  void Release(pg_conn* conn);
  Result<pg_conn*> Connect() const;

  const std::string url_;
  const int pool_size_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<pg_conn*> idle_;  // guarded by pool_mu_; owned
  int open_ = 0;                // guarded by pool_mu_: idle + leased connections

  ObserverSlot observer_;
};

}  // namespace vigil::storage
