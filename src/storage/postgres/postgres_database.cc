#include "storage/postgres/postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <exception>
#include <limits>
#include <random>
#include <span>
#include <thread>
#include <utility>

#include "core/log.h"
#include "core/strings.h"

namespace vigil::storage {
namespace {

// Type OIDs from catalog/pg_type.h (stable across releases).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

constexpr int kMaxWriteAttempts = 3;

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

std::string Abbrev(std::string_view sql) {
  constexpr size_t kMax = 160;
  std::string s(sql.substr(0, kMax));
  if (sql.size() > kMax) {
    s += "...";
  }
  return s;
}

std::string TrimRight(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// Maps a failed result (or a NULL result) to a Status; stores the SQLSTATE in *sqlstate.
Status ErrorFrom(PGconn* conn, const PGresult* res, std::string_view sql, std::string* sqlstate) {
  std::string state;
  std::string msg;
  if (res != nullptr) {
    if (const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE)) {
      state = s;
    }
    if (const char* m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
      msg = m;
      if (const char* d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
        msg += " (";
        msg += d;
        msg += ")";
      }
    } else {
      msg = TrimRight(PQresultErrorMessage(res));
    }
  }
  if (msg.empty()) {
    msg = TrimRight(PQerrorMessage(conn));
  }
  if (sqlstate != nullptr) {
    *sqlstate = state;
  }
  std::string full = "postgres: " + msg;
  if (!state.empty()) {
    full += " (SQLSTATE " + state + ")";
  }
  if (!sql.empty()) {
    full += " [in: " + Abbrev(sql) + "]";
  }

  if (state == "23505") {
    return AlreadyExists(std::move(full));
  }
  const std::string_view cls = std::string_view(state).substr(0, std::min<size_t>(2, state.size()));
  if (cls == "23" || cls == "22" || state == "P0001") {
    return InvalidArgument(std::move(full));
  }
  if (cls == "08" || cls == "53" || cls == "57" || state == "40001" || state == "40P01" ||
      PQstatus(conn) != CONNECTION_OK || state.empty()) {
    // No SQLSTATE means libpq itself failed (connection lost, out of memory).
    return Unavailable(std::move(full));
  }
  return Internal(std::move(full));
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Value ParseDouble(std::string_view s) {
  double d = 0;
  // from_chars rejects a leading '+'; PostgreSQL never prints one.
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc() && p == s.data() + s.size()) {
    return d;
  }
  if (s == "Infinity") {
    return std::numeric_limits<double>::infinity();
  }
  if (s == "-Infinity") {
    return -std::numeric_limits<double>::infinity();
  }
  if (s == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return std::string(s);  // Not expected; keep the text rather than lose it.
}

// bytea's text output (hex format, "\x0a1b...") back to raw bytes.
Value DecodeBytea(std::string_view s) {
  if (s.size() < 2 || s[0] != '\\' || s[1] != 'x' || s.size() % 2 != 0) {
    return std::string(s);  // escape format (bytea_output = escape): leave as text
  }
  std::string out;
  out.reserve((s.size() - 2) / 2);
  for (size_t i = 2; i + 1 < s.size(); i += 2) {
    const int hi = HexDigitValue(s[i]);
    const int lo = HexDigitValue(s[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::string(s);
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

Value ConvertField(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col) != 0) {
    return std::monostate{};
  }
  const std::string_view text(PQgetvalue(res, row, col),
                              static_cast<size_t>(PQgetlength(res, row, col)));
  switch (PQftype(res, col)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      int64_t n = 0;
      if (ParseInt(text, &n)) {
        return n;
      }
      return std::string(text);
    }
    case kFloat4Oid:
    case kFloat8Oid:
      return ParseDouble(text);
    case kNumericOid: {
      int64_t n = 0;
      if (ParseInt(text, &n)) {
        return n;  // SUM(bigint) and friends return numeric: keep integers exact.
      }
      return ParseDouble(text);
    }
    case kBoolOid:
      return int64_t{text == "t" ? 1 : 0};
    case kByteaOid:
      return DecodeBytea(text);
    default:
      return std::string(text);
  }
}

// Runs `fn`, turning an escaping exception into kInternal and marking the thread as inside a
// callback of `db` so that re-entrant calls fail fast instead of exhausting the pool.
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

// Runs a parameterless control statement (BEGIN, COMMIT, ...).
Status RunControl(PGconn* conn, const char* sql, std::string* sqlstate, std::string* cmd_status) {
  ResultPtr res(PQexec(conn, sql));
  const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK) {
    return ErrorFrom(conn, res.get(), sql, sqlstate);
  }
  if (cmd_status != nullptr) {
    *cmd_status = PQcmdStatus(res.get());
  }
  return Status::Ok();
}

class PgTx final : public Tx {
 public:
  explicit PgTx(PGconn* conn) : conn_(conn) {}

  using Tx::Exec;
  using Tx::Query;

  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Value> params) override {
    VIGIL_ASSIGN_OR_RETURN(ResultPtr res, Run(sql, params));
    const int nrows = PQntuples(res.get());
    const int ncols = PQnfields(res.get());
    std::vector<Row> rows;
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        values.push_back(ConvertField(res.get(), r, c));
      }
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, std::span<const Value> params) override {
    VIGIL_ASSIGN_OR_RETURN(ResultPtr res, Run(sql, params));
    int64_t n = 0;
    const char* tuples = PQcmdTuples(res.get());
    if (tuples != nullptr && *tuples != '\0' && !ParseInt(tuples, &n)) {
      n = 0;
    }
    return n;
  }

  const Status& first_error() const { return first_error_; }
  const std::string& first_sqlstate() const { return first_sqlstate_; }

 private:
  Result<ResultPtr> Run(std::string_view sql, std::span<const Value> params) {
    if (!first_error_.ok()) {
      return Status(first_error_.code(),
                    "transaction aborted by an earlier error: " + first_error_.message());
    }
    Result<ResultPtr> r = RunUnchecked(sql, params);
    if (!r.has_value()) {
      first_error_ = r.error();
    }
    return r;
  }

  Result<ResultPtr> RunUnchecked(std::string_view sql, std::span<const Value> params) {
    VIGIL_ASSIGN_OR_RETURN(std::string numbered, NumberPlaceholders(sql, params.size()));
    if (params.size() > 65535) {
      return InvalidArgument("postgres: too many parameters");
    }
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<Oid> types(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (const auto* n = std::get_if<int64_t>(&v)) {
        storage[i] = std::to_string(*n);
        types[i] = kInt8Oid;
      } else if (const auto* d = std::get_if<double>(&v)) {
        char buf[64];
        auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), *d);
        storage[i] = ec == std::errc() ? std::string(buf, end) : std::string("NaN");
        types[i] = kFloat8Oid;
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        if (s->find('\0') != std::string::npos) {
          return InvalidArgument("postgres: parameter " + std::to_string(i + 1) +
                                 " contains a NUL byte");
        }
      } else {
        continue;  // NULL
      }
      values[i] = std::holds_alternative<std::string>(v) ? std::get<std::string>(v).c_str()
                                                         : storage[i].c_str();
    }
    ResultPtr res(PQexecParams(conn_, numbered.c_str(), static_cast<int>(params.size()),
                               types.data(), values.data(), nullptr, nullptr, 0));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      return res;
    }
    if (res && (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)) {
      return InvalidArgument("postgres: COPY is not supported through Tx");
    }
    return ErrorFrom(conn_, res.get(), sql, &first_sqlstate_);
  }

  PGconn* const conn_;
  Status first_error_;
  std::string first_sqlstate_;
};

}  // namespace

Result<std::string> NumberPlaceholders(std::string_view sql, size_t param_count) {
  std::string out;
  out.reserve(sql.size() + 8);
  size_t n = 0;
  size_t i = 0;
  const size_t len = sql.size();
  auto copy_until = [&](size_t end) {
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < len) {
    const char c = sql[i];
    if (c == '\'') {
      // E'...' strings allow backslash escapes.
      const bool escapes =
          i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdentChar(sql[i - 2]));
      size_t j = i + 1;
      while (j < len) {
        if (escapes && sql[j] == '\\') {
          j += 2;
          continue;
        }
        if (sql[j] == '\'') {
          if (j + 1 < len && sql[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      copy_until(std::min(j + 1, len));
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < len) {
        if (sql[j] == '"') {
          if (j + 1 < len && sql[j + 1] == '"') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      copy_until(std::min(j + 1, len));
    } else if (c == '-' && i + 1 < len && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      copy_until(j == std::string_view::npos ? len : j);
    } else if (c == '/' && i + 1 < len && sql[i + 1] == '*') {
      int depth = 1;  // PostgreSQL block comments nest.
      size_t j = i + 2;
      while (j < len && depth > 0) {
        if (sql[j] == '/' && j + 1 < len && sql[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (sql[j] == '*' && j + 1 < len && sql[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      copy_until(j);
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1]))) {
      // Dollar quote: $$ or $tag$ (a tag does not start with a digit, so $1 is not one).
      size_t j = i + 1;
      if (j < len && IsIdentStart(sql[j])) {
        while (j < len && IsIdentChar(sql[j])) {
          ++j;
        }
      }
      if (j < len && sql[j] == '$') {
        const std::string_view tag = sql.substr(i, j - i + 1);
        size_t close = sql.find(tag, j + 1);
        copy_until(close == std::string_view::npos ? len : close + tag.size());
      } else {
        copy_until(i + 1);
      }
    } else if (c == '?') {
      ++n;
      out += '$';
      out += std::to_string(n);
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  if (n != param_count) {
    return InvalidArgument("postgres: statement has " + std::to_string(n) + " placeholders but " +
                           std::to_string(param_count) +
                           " parameters were given [in: " + Abbrev(sql) + "]");
  }
  return out;
}

PostgresDatabase::PostgresDatabase(std::string url, int pool_size)
    : url_(std::move(url)), pool_size_(pool_size) {}

Result<std::unique_ptr<PostgresDatabase>> PostgresDatabase::Open(const std::string& url,
                                                                 const OpenOptions& options) {
  if (PQisthreadsafe() == 0) {
    return Internal("postgres: libpq was built without thread safety");
  }
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(url, std::max(1, options.readers)));
  VIGIL_ASSIGN_OR_RETURN(PGconn * conn, db->Acquire());
  db->Release(conn);
  return db;
}

PostgresDatabase::~PostgresDatabase() {
  std::lock_guard<std::mutex> lock(pool_mu_);
  for (PGconn* c : idle_) {
    PQfinish(c);
  }
  idle_.clear();
}

Result<PGconn*> PostgresDatabase::Connect() const {
  // Later entries override earlier ones, so the URL may override connect_timeout.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "vigil", url_.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Unavailable("postgres: cannot allocate a connection");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = TrimRight(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("postgres: cannot connect: " + msg);
  }
  // Server notices ("relation already exists, skipping") go to the debug log, not to stderr.
  PQsetNoticeProcessor(
      conn,
      [](void*, const char* message) {
        log::Write(spdlog::level::debug, "postgres notice", {{"message", TrimRight(message)}});
      },
      nullptr);
  if (PQsetClientEncoding(conn, "UTF8") != 0) {
    std::string msg = TrimRight(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable("postgres: cannot set client encoding: " + msg);
  }
  Status s = RunControl(conn, "SET extra_float_digits = 3", nullptr, nullptr);
  if (!s.ok()) {
    PQfinish(conn);
    return s;
  }
  return conn;
}

Result<PGconn*> PostgresDatabase::Acquire() {
  {
    std::unique_lock<std::mutex> lock(pool_mu_);
    pool_cv_.wait(lock, [this] { return !idle_.empty() || open_ < pool_size_; });
    if (!idle_.empty()) {
      PGconn* c = idle_.back();
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  Result<PGconn*> conn = Connect();
  if (!conn.has_value()) {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      --open_;
    }
    pool_cv_.notify_one();
  }
  return conn;
}

void PostgresDatabase::Release(PGconn* conn) {
  const bool reusable =
      PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE;
  if (!reusable) {
    PQfinish(conn);
  }
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (reusable) {
      idle_.push_back(conn);
    } else {
      --open_;
    }
  }
  pool_cv_.notify_one();
}

PostgresDatabase::Attempt PostgresDatabase::RunTransaction(const TxFn& fn,
                                                           std::string_view begin_sql,
                                                           bool is_write) {
  const std::string begin(begin_sql);
  PGconn* conn = nullptr;
  // A pooled connection may have died while idle (server restart): BEGIN finds out before `fn`
  // runs, so trying the next one is safe. Bounded by the pool size plus a fresh connection.
  for (int tries = 0;; ++tries) {
    Result<PGconn*> c = Acquire();
    if (!c.has_value()) {
      return {c.error(), false};
    }
    Status s = RunControl(*c, begin.c_str(), nullptr, nullptr);
    if (s.ok()) {
      conn = *c;
      break;
    }
    const bool broken = PQstatus(*c) != CONNECTION_OK;
    Release(*c);
    if (!broken || tries >= pool_size_) {
      return {s, false};
    }
  }

  PgTx tx(conn);
  Status s = RunCallback(this, fn, tx);
  std::string sqlstate = tx.first_sqlstate();
  if (s.ok() && !tx.first_error().ok()) {
    s = tx.first_error();
  }
  if (s.ok()) {
    std::string cmd;
    std::string commit_state;
    Status c = RunControl(conn, "COMMIT", &commit_state, &cmd);
    if (!c.ok()) {
      s = c;
      sqlstate = commit_state;
    } else if (cmd != "COMMIT") {
      s = Internal("postgres: the transaction was rolled back at COMMIT (" + cmd + ")");
    }
  } else if (PQstatus(conn) == CONNECTION_OK) {
    (void)RunControl(conn, "ROLLBACK", nullptr, nullptr);
  }
  Release(conn);
  const bool retryable = is_write && (sqlstate == "40001" || sqlstate == "40P01");
  return {s, retryable};
}

Status PostgresDatabase::Write(const TxFn& fn) {
  const auto start = std::chrono::steady_clock::now();
  if (tl_callback_db == this) {
    return FailedPrecondition(
        "Write() called from inside a transaction callback of the same database");
  }
  Attempt a;
  for (int attempt = 1;; ++attempt) {
    a = RunTransaction(fn, "BEGIN", /*is_write=*/true);
    if (a.status.ok() || !a.retryable || attempt >= kMaxWriteAttempts) {
      break;
    }
    // Jittered backoff so that the transactions that collided do not collide again.
    thread_local std::minstd_rand rng(std::random_device{}());
    std::uniform_int_distribution<int> jitter(0, 10 * attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt + jitter(rng)));
  }
  observer_.Report("write", start, a.status.ok());
  return a.status;
}

Status PostgresDatabase::Read(const TxFn& fn) {
  const auto start = std::chrono::steady_clock::now();
  if (tl_callback_db == this) {
    return FailedPrecondition(
        "Read() called from inside a transaction callback of the same database");
  }
  Attempt a =
      RunTransaction(fn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", /*is_write=*/false);
  observer_.Report("read", start, a.status.ok());
  return a.status;
}

Result<int64_t> PostgresDatabase::SchemaVersion() {
  int64_t version = 0;
  VIGIL_RETURN_IF_ERROR(Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Row exists,
        tx.QueryOne("SELECT to_regclass('schema_version') IS NOT NULL", {}, "schema_version"));
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

Status PostgresDatabase::Backup(const std::string& /*path*/) {
  return FailedPrecondition("use pg_dump or a base backup for PostgreSQL");
}

void PostgresDatabase::SetObserver(Observer observer) { observer_.Set(std::move(observer)); }

}  // namespace vigil::storage
