// Conformance suite for storage::Database: every TEST_P runs against SQLite and, when the
// environment variable VIGIL_TEST_PG_URL names a server, against PostgreSQL:
//
//   url=$(scripts/pg-test-cluster.sh start /tmp/vigil-pg | tail -n1)
//   VIGIL_TEST_PG_URL=$url build/dev/src/storage/storage_test
//   scripts/pg-test-cluster.sh stop /tmp/vigil-pg
//
// Isolation: every test gets a fresh store. SQLite: a file in a new temporary directory.
// PostgreSQL: a new schema `t_<random>` in the database of VIGIL_TEST_PG_URL, selected by appending
// `options=-csearch_path%3Dt_<random>` to the URL (so every pooled connection uses it), dropped
// with CASCADE at the end of the test. Tests migrate their own small schema (kTestMigrations), not
// Vigil's Schema(), except the OpenDatabase tests that check the real schema applies.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/sqlite/sqlite_database.h"

namespace vigil {
// Readable failures for Status and Result in gtest messages.
void PrintTo(const Status& s, std::ostream* os) { *os << s.ToString(); }
template <typename T>
void PrintTo(const Result<T>& r, std::ostream* os) {
  *os << (r.has_value() ? std::string("a value") : r.error().ToString());
}
}  // namespace vigil

namespace vigil::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// --- helpers ----------------------------------------------------------------------------------

Status ToStatus(const Status& s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.status();
}

#define ASSERT_OK(expr)                                \
  do {                                                 \
    const ::vigil::Status vigil_s_ = ToStatus(expr);   \
    ASSERT_TRUE(vigil_s_.ok()) << vigil_s_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                \
  do {                                                 \
    const ::vigil::Status vigil_s_ = ToStatus(expr);   \
    EXPECT_TRUE(vigil_s_.ok()) << vigil_s_.ToString(); \
  } while (0)

MATCHER_P(StatusIs, code, "has code " + std::string(ErrorCodeName(code))) {
  const Status s = ToStatus(arg);
  *result_listener << "which is " << s.ToString();
  return s.code() == code;
}

std::string RandomHex(int n) {
  static std::mt19937_64 rng(std::random_device{}());
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += "0123456789abcdef"[rng() % 16];
  }
  return s;
}

constexpr std::string_view kItemsSql = R"sql(
CREATE TABLE items (
  id {{pk}},
  name TEXT NOT NULL UNIQUE,
  qty BIGINT NOT NULL DEFAULT 0 CHECK (qty >= 0),
  price DOUBLE PRECISION,
  note TEXT
)
--;
CREATE INDEX items_by_qty ON items (qty)
)sql";

constexpr std::string_view kMoreSql = R"sql(
CREATE TABLE vals (
  id {{pk}},
  i BIGINT,
  d DOUBLE PRECISION,
  t TEXT
)
--;
CREATE TABLE children (
  id {{pk}},
  item_id BIGINT NOT NULL REFERENCES items(id),
  label TEXT
)
--;
CREATE TABLE writes (
  thread BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (thread, seq)
)
--;
CREATE TABLE accounts (
  id BIGINT PRIMARY KEY,
  balance BIGINT NOT NULL
)
)sql";

// A guard trigger whose body holds ';' (hence the "--;" separators) and differs per engine.
constexpr std::string_view kGuardSqlite = R"sql(
CREATE TRIGGER items_guard BEFORE INSERT ON items WHEN NEW.name = 'forbidden'
BEGIN SELECT RAISE(ABORT, 'name is forbidden'); END
)sql";
constexpr std::string_view kGuardPostgres = R"sql(
CREATE FUNCTION items_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name = 'forbidden' THEN RAISE EXCEPTION 'name is forbidden? yes'; END IF;
  RETURN NEW;
END $$
--;
CREATE TRIGGER items_guard BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION items_guard()
)sql";

constexpr Migration kTestMigrations[] = {
    {1, "items", kItemsSql},
    {2, "more", kMoreSql},
    {3, "guard", "", kGuardSqlite, kGuardPostgres},
};

Result<int64_t> CountRows(Database& db, std::string_view from_where,
                          std::initializer_list<Value> params = {}) {
  int64_t n = -1;
  const std::string sql = "SELECT COUNT(*) FROM " + std::string(from_where);
  VIGIL_RETURN_IF_ERROR(db.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Row row, tx.QueryOne(sql, params, "count"));
    n = row.Int(0);
    return Status::Ok();
  }));
  return n;
}

Status InsertItem(Tx& tx, const std::string& name, int64_t qty = 0) {
  return tx.Exec("INSERT INTO items (name, qty) VALUES (?, ?)", {name, qty}).status();
}

// Waits up to 10 s for `pred`.
template <typename Pred>
bool WaitFor(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// --- fixture ----------------------------------------------------------------------------------

class DatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (IsPostgres()) {
      const char* url = std::getenv("VIGIL_TEST_PG_URL");
      if (url == nullptr || *url == '\0') {
        GTEST_SKIP() << "VIGIL_TEST_PG_URL is not set; start a server with "
                        "`scripts/pg-test-cluster.sh start DIR` and export the URL it prints";
      }
      base_url_ = url;
      OpenOptions admin_options;
      admin_options.readers = 1;
      Result<std::unique_ptr<PostgresDatabase>> admin =
          PostgresDatabase::Open(base_url_, admin_options);
      ASSERT_OK(admin);
      admin_ = std::move(admin).value();
    } else {
      std::string templ = (fs::temp_directory_path() / "vigil-storage-test-XXXXXX").string();
      ASSERT_NE(mkdtemp(templ.data()), nullptr);
      dir_ = templ;
    }
    url_ = NewStoreUrl();
    ASSERT_FALSE(url_.empty());
    db_ = Open(url_);
    ASSERT_NE(db_, nullptr);
    ASSERT_OK(Migrate(*db_, kTestMigrations));
  }

  void TearDown() override {
    db_.reset();
    if (admin_ != nullptr) {
      for (const std::string& schema : schemas_) {
        EXPECT_OK(admin_->Write([&](Tx& tx) {
          return tx.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE").status();
        }));
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  bool IsPostgres() const { return GetParam() == "postgres"; }
  bool IsSqlite() const { return GetParam() == "sqlite"; }

  // A fresh, empty store: a new SQLite file, or a new PostgreSQL schema.
  std::string NewStoreUrl() {
    if (IsSqlite()) {
      return (fs::path(dir_) / ("store-" + RandomHex(8) + ".db")).string();
    }
    const std::string schema = "t_" + RandomHex(12);
    Status s = admin_->Write([&](Tx& tx) { return tx.Exec("CREATE SCHEMA " + schema).status(); });
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) {
      return "";
    }
    schemas_.push_back(schema);
    const char sep = base_url_.find('?') == std::string::npos ? '?' : '&';
    return base_url_ + sep + "options=-csearch_path%3D" + schema;
  }

  // Opens the engine under test at `url` without migrating; nullptr (and a failure) on error.
  std::unique_ptr<Database> Open(const std::string& url, OpenOptions options = {}) {
    if (IsSqlite()) {
      Result<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(url, options);
      EXPECT_TRUE(db.has_value()) << db.status().ToString();
      return db.has_value() ? std::move(db).value() : nullptr;
    }
    Result<std::unique_ptr<PostgresDatabase>> db = PostgresDatabase::Open(url, options);
    EXPECT_TRUE(db.has_value()) << db.status().ToString();
    return db.has_value() ? std::move(db).value() : nullptr;
  }

  int64_t Count(std::string_view from_where, std::initializer_list<Value> params = {}) {
    Result<int64_t> n = CountRows(*db_, from_where, params);
    EXPECT_TRUE(n.has_value()) << n.status().ToString();
    return n.value_or(-1);
  }

  std::string base_url_;
  std::string dir_;
  std::string url_;
  std::vector<std::string> schemas_;
  std::unique_ptr<PostgresDatabase> admin_;
  std::unique_ptr<Database> db_;
};

INSTANTIATE_TEST_SUITE_P(Engines, DatabaseTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// --- values -----------------------------------------------------------------------------------

TEST_P(DatabaseTest, RoundTripsEveryValueTypeIncludingNull) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    Value i, d, t;
  };
  const std::vector<Case> cases = {
      {kMin, 0.1, std::string("plain")},
      {kMax, -1.0 / 3.0, std::string("héllo wörld — 日本語 🚀")},
      {int64_t{0}, 1e308, std::string("'; DROP TABLE vals; --")},
      {int64_t{-1}, 2.2250738585072014e-308, std::string("Robert'); DROP TABLE items;--")},
      {int64_t{42}, 3.141592653589793, std::string("back\\slash \"dq\" 'sq' ? $1 %s \t\n\r")},
      {std::monostate{}, std::monostate{}, std::monostate{}},
      {int64_t{7}, 0.0, std::string("")},
  };
  std::vector<int64_t> ids;
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    for (const Case& c : cases) {
      VIGIL_ASSIGN_OR_RETURN(Row row,
                             tx.QueryOne("INSERT INTO vals (i, d, t) VALUES (?, ?, ?) RETURNING id",
                                         {c.i, c.d, c.t}, "inserted row"));
      ids.push_back(row.Int(0));
    }
    return Status::Ok();
  }));
  ASSERT_EQ(ids.size(), cases.size());

  ASSERT_OK(db_->Read([&](Tx& tx) -> Status {
    for (size_t k = 0; k < cases.size(); ++k) {
      VIGIL_ASSIGN_OR_RETURN(Row row,
                             tx.QueryOne("SELECT i, d, t FROM vals WHERE id = ?", {ids[k]}, "row"));
      EXPECT_EQ(row.at(0), cases[k].i) << "case " << k;
      EXPECT_EQ(row.at(1), cases[k].d) << "case " << k;
      EXPECT_EQ(row.at(2), cases[k].t) << "case " << k;
    }
    return Status::Ok();
  }));
  // The metacharacters were data, not SQL.
  EXPECT_EQ(Count("vals"), static_cast<int64_t>(cases.size()));
  EXPECT_EQ(Count("items"), 0);
}

TEST_P(DatabaseTest, TextWithMetacharactersMatchesAsParameter) {
  const std::string tricky = "x' OR '1'='1";
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(InsertItem(tx, "a"));
    return InsertItem(tx, tricky);
  }));
  EXPECT_EQ(Count("items WHERE name = ?", {tricky}), 1);
  EXPECT_EQ(Count("items WHERE name = ?", {std::string("x")}), 0);
}

TEST_P(DatabaseTest, Int64ExtremesCompareAndSort) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    for (int64_t v : {kMax, int64_t{0}, kMin}) {
      VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO vals (i) VALUES (?)", {v}).status());
    }
    return Status::Ok();
  }));
  EXPECT_EQ(Count("vals WHERE i = ?", {kMin}), 1);
  EXPECT_EQ(Count("vals WHERE i = ?", {kMax}), 1);
  EXPECT_EQ(Count("vals WHERE i > ?", {kMin}), 2);
  ASSERT_OK(db_->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(std::vector<Row> rows, tx.Query("SELECT i FROM vals ORDER BY i"));
    EXPECT_EQ(rows.size(), 3u);
    if (rows.size() == 3) {
      EXPECT_EQ(rows[0].Int(0), kMin);
      EXPECT_EQ(rows[1].Int(0), 0);
      EXPECT_EQ(rows[2].Int(0), kMax);
    }
    // Integer parameters stay integers, doubles stay doubles, even without a column.
    VIGIL_ASSIGN_OR_RETURN(Row echo, tx.QueryOne("SELECT ?, ?", {kMin, 0.5}, "echo"));
    EXPECT_EQ(echo.at(0), Value(kMin));
    EXPECT_EQ(echo.at(1), Value(0.5));
    // SUM of integers is an integer on both engines (PostgreSQL returns numeric).
    VIGIL_ASSIGN_OR_RETURN(Row sum, tx.QueryOne("SELECT SUM(i) FROM vals WHERE i >= 0", {}, "sum"));
    EXPECT_EQ(sum.at(0), Value(kMax));
    return Status::Ok();
  }));
}

TEST_P(DatabaseTest, ReturningIdAndQueryOne) {
  int64_t first = 0;
  int64_t second = 0;
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Row a, tx.QueryOne("INSERT INTO items (name) VALUES (?) RETURNING id",
                                              {std::string("a")}, "item"));
    VIGIL_ASSIGN_OR_RETURN(Row b, tx.QueryOne("INSERT INTO items (name) VALUES (?) RETURNING id",
                                              {std::string("b")}, "item"));
    first = a.Int(0);
    second = b.Int(0);
    return Status::Ok();
  }));
  EXPECT_GT(first, 0);
  EXPECT_GT(second, first);

  Status s = db_->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Row row,
                           tx.QueryOne("SELECT name FROM items WHERE id = ?", {second}, "item"));
    EXPECT_EQ(row.Text(0), "b");
    return tx.QueryOne("SELECT name FROM items WHERE id = ?", {second + 100}, "item 12").status();
  });
  EXPECT_THAT(s, StatusIs(ErrorCode::kNotFound));
  EXPECT_THAT(s.message(), HasSubstr("item 12"));
}

TEST_P(DatabaseTest, ExecReturnsChangedRows) {
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    for (const char* name : {"a", "b", "c"}) {
      VIGIL_RETURN_IF_ERROR(InsertItem(tx, name, 1));
    }
    VIGIL_ASSIGN_OR_RETURN(int64_t updated, tx.Exec("UPDATE items SET qty = qty + 1"));
    EXPECT_EQ(updated, 3);
    VIGIL_ASSIGN_OR_RETURN(int64_t none,
                           tx.Exec("DELETE FROM items WHERE name = ?", {std::string("zz")}));
    EXPECT_EQ(none, 0);
    VIGIL_ASSIGN_OR_RETURN(int64_t ddl, tx.Exec("CREATE TABLE scratch (x BIGINT)"));
    EXPECT_EQ(ddl, 0);
    return Status::Ok();
  }));
  EXPECT_EQ(Count("items WHERE qty = 2"), 3);
}

// --- transactions and errors ------------------------------------------------------------------

TEST_P(DatabaseTest, FailedCallbackRollsBackEverything) {
  ASSERT_OK(db_->Write([&](Tx& tx) { return InsertItem(tx, "keep"); }));
  Status s = db_->Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(InsertItem(tx, "gone-1"));
    VIGIL_RETURN_IF_ERROR(tx.Exec("UPDATE items SET qty = 5").status());
    VIGIL_RETURN_IF_ERROR(InsertItem(tx, "gone-2"));
    return FailedPrecondition("changed my mind");
  });
  EXPECT_THAT(s, StatusIs(ErrorCode::kFailedPrecondition));
  EXPECT_EQ(s.message(), "changed my mind");
  EXPECT_EQ(Count("items"), 1);
  EXPECT_EQ(Count("items WHERE qty = 0"), 1);
}

TEST_P(DatabaseTest, IgnoredStatementFailureStillRollsBack) {
  Status second_insert;
  Status s = db_->Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(InsertItem(tx, "dup"));
    (void)InsertItem(tx, "dup");  // fails; the callback ignores it
    second_insert = InsertItem(tx, "other");
    return Status::Ok();
  });
  EXPECT_THAT(s, StatusIs(ErrorCode::kAlreadyExists));
  // Like PostgreSQL, a failed statement aborts the transaction on both engines.
  EXPECT_THAT(second_insert, StatusIs(ErrorCode::kAlreadyExists));
  EXPECT_EQ(Count("items"), 0);
}

TEST_P(DatabaseTest, UniqueViolationIsAlreadyExists) {
  ASSERT_OK(db_->Write([&](Tx& tx) { return InsertItem(tx, "a"); }));
  EXPECT_THAT(db_->Write([&](Tx& tx) { return InsertItem(tx, "a"); }),
              StatusIs(ErrorCode::kAlreadyExists));
  // Composite primary key.
  ASSERT_OK(db_->Write([&](Tx& tx) {
    return tx.Exec("INSERT INTO writes (thread, seq) VALUES (?, ?)", {int64_t{1}, int64_t{1}})
        .status();
  }));
  EXPECT_THAT(db_->Write([&](Tx& tx) {
    return tx.Exec("INSERT INTO writes (thread, seq) VALUES (?, ?)", {int64_t{1}, int64_t{1}})
        .status();
  }),
              StatusIs(ErrorCode::kAlreadyExists));
  EXPECT_EQ(Count("items"), 1);
  EXPECT_EQ(Count("writes"), 1);
}

TEST_P(DatabaseTest, OtherConstraintViolationsAreInvalidArgument) {
  int64_t item_id = 0;
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Row r, tx.QueryOne("INSERT INTO items (name) VALUES ('x') RETURNING id", {}, "item"));
    item_id = r.Int(0);
    return Status::Ok();
  }));
  // CHECK
  EXPECT_THAT(db_->Write([&](Tx& tx) { return InsertItem(tx, "neg", -1); }),
              StatusIs(ErrorCode::kInvalidArgument));
  // NOT NULL
  EXPECT_THAT(db_->Write([&](Tx& tx) {
    return tx.Exec("INSERT INTO items (name) VALUES (?)", {Value{}}).status();
  }),
              StatusIs(ErrorCode::kInvalidArgument));
  // FOREIGN KEY
  EXPECT_THAT(db_->Write([&](Tx& tx) {
    return tx.Exec("INSERT INTO children (item_id) VALUES (?)", {item_id + 1000}).status();
  }),
              StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_OK(db_->Write([&](Tx& tx) {
    return tx.Exec("INSERT INTO children (item_id) VALUES (?)", {item_id}).status();
  }));
  // A trigger that refuses the row (RAISE(ABORT) / RAISE EXCEPTION), with its message.
  Status trig = db_->Write([&](Tx& tx) { return InsertItem(tx, "forbidden"); });
  EXPECT_THAT(trig, StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(trig.message(), HasSubstr("name is forbidden"));
  EXPECT_EQ(Count("items"), 1);
  EXPECT_EQ(Count("children"), 1);
}

TEST_P(DatabaseTest, ReadTransactionsCannotWrite) {
  Status s = db_->Read([&](Tx& tx) { return InsertItem(tx, "nope"); });
  EXPECT_THAT(s, StatusIs(ErrorCode::kInternal));
  EXPECT_EQ(Count("items"), 0);
}

TEST_P(DatabaseTest, NestedCallsOnTheSameDatabaseFailFast) {
  Status inner_write;
  Status inner_read;
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    inner_write = db_->Write([](Tx&) { return Status::Ok(); });
    inner_read = db_->Read([](Tx&) { return Status::Ok(); });
    return InsertItem(tx, "outer");
  }));
  EXPECT_THAT(inner_write, StatusIs(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(inner_read, StatusIs(ErrorCode::kFailedPrecondition));
  Status read_in_read;
  ASSERT_OK(db_->Read([&](Tx&) -> Status {
    read_in_read = db_->Read([](Tx&) { return Status::Ok(); });
    return Status::Ok();
  }));
  EXPECT_THAT(read_in_read, StatusIs(ErrorCode::kFailedPrecondition));
  EXPECT_EQ(Count("items"), 1);
}

TEST_P(DatabaseTest, ExceptionInCallbackBecomesInternalAndRollsBack) {
  Status s = db_->Write([&](Tx& tx) -> Status {
    (void)InsertItem(tx, "thrown");
    throw std::runtime_error("boom");
  });
  EXPECT_THAT(s, StatusIs(ErrorCode::kInternal));
  EXPECT_THAT(s.message(), HasSubstr("boom"));
  EXPECT_EQ(Count("items"), 0);
  EXPECT_OK(db_->Write([&](Tx& tx) { return InsertItem(tx, "after"); }));
}

TEST_P(DatabaseTest, PlaceholderCountMismatchIsInvalidArgument) {
  EXPECT_THAT(db_->Write([&](Tx& tx) {
    return tx.Exec("INSERT INTO items (name, qty) VALUES (?, ?)", {std::string("a")}).status();
  }),
              StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(db_->Read([&](Tx& tx) { return tx.Query("SELECT 1", {int64_t{1}}).status(); }),
              StatusIs(ErrorCode::kInvalidArgument));
}

TEST_P(DatabaseTest, QuestionMarkInsideStringLiteralIsNotAParameter) {
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO items (name, note) VALUES ('what? really?', ?)", {std::string("n1")})
            .status());
    return tx
        .Exec("INSERT INTO items (name, note) VALUES ('it''s ?', ? /* a comment? */) -- why?",
              {std::string("n2")})
        .status();
  }));
  ASSERT_OK(db_->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        Row row, tx.QueryOne("SELECT note, '?' FROM items WHERE name = 'what? really?' AND "
                             "note = ?",
                             {std::string("n1")}, "item"));
    EXPECT_EQ(row.Text(0), "n1");
    EXPECT_EQ(row.Text(1), "?");
    VIGIL_ASSIGN_OR_RETURN(Row row2, tx.QueryOne("SELECT note FROM items WHERE name = ?",
                                                 {std::string("it's ?")}, "item"));
    EXPECT_EQ(row2.Text(0), "n2");
    return Status::Ok();
  }));
}

// --- concurrency ------------------------------------------------------------------------------

TEST_P(DatabaseTest, ConcurrentWritesAreAllDurableAndCountedOnce) {
  constexpr int kThreads = 8;
  constexpr int kWrites = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        Status s = db_->Write([&](Tx& tx) {
          return tx.Exec("INSERT INTO writes (thread, seq) VALUES (?, ?)", {int64_t{t}, int64_t{i}})
              .status();
        });
        if (!s.ok()) {
          ++failures;
          ADD_FAILURE() << s.ToString();
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("writes"), kThreads * kWrites);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(
        Count("writes WHERE thread = ? AND seq >= 0 AND seq < ?", {int64_t{t}, int64_t{kWrites}}),
        kWrites);
  }
  if (auto* sqlite = dynamic_cast<SqliteDatabase*>(db_.get())) {
    // Group commit: some transactions were shared (in practice far fewer than 1600).
    EXPECT_LE(sqlite->groups(), kThreads * kWrites + 10);
    std::cout << "[ info     ] " << kThreads * kWrites << " writes in " << sqlite->groups()
              << " group transactions\n";
  }
  // Durable: a new instance (new connections) sees every row.
  db_.reset();
  db_ = Open(url_);
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(Count("writes"), kThreads * kWrites);
}

TEST_P(DatabaseTest, FailingJobInAGroupDoesNotAffectTheOthers) {
  auto* sqlite = dynamic_cast<SqliteDatabase*>(db_.get());
  const int64_t groups_before = sqlite != nullptr ? sqlite->groups() : 0;
  std::atomic<bool> gate_running{false};
  bool queued_in_time = true;

  // The gate job holds the SQLite writer until the four jobs below are all queued, so that they
  // are committed together as one group.
  std::thread gate([&] {
    EXPECT_OK(db_->Write([&](Tx& tx) -> Status {
      gate_running = true;
      if (sqlite != nullptr) {
        queued_in_time = WaitFor([&] { return sqlite->queued_writes() >= 4; });
      }
      return InsertItem(tx, "gate");
    }));
  });
  ASSERT_TRUE(WaitFor([&] { return gate_running.load(); }));

  Status a, b, c, d;
  std::vector<std::thread> jobs;
  jobs.emplace_back([&] { a = db_->Write([&](Tx& tx) { return InsertItem(tx, "a"); }); });
  jobs.emplace_back([&] {
    b = db_->Write([&](Tx& tx) -> Status {
      VIGIL_RETURN_IF_ERROR(InsertItem(tx, "b1"));
      return InsertItem(tx, "b1");  // unique violation
    });
  });
  jobs.emplace_back([&] { c = db_->Write([&](Tx& tx) { return InsertItem(tx, "c"); }); });
  jobs.emplace_back([&] {
    d = db_->Write([&](Tx& tx) -> Status {
      VIGIL_RETURN_IF_ERROR(InsertItem(tx, "d1"));
      return InvalidArgument("d refuses");
    });
  });
  for (std::thread& t : jobs) {
    t.join();
  }
  gate.join();

  EXPECT_TRUE(queued_in_time);
  EXPECT_OK(a);
  EXPECT_THAT(b, StatusIs(ErrorCode::kAlreadyExists));
  EXPECT_OK(c);
  EXPECT_THAT(d, StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_EQ(d.message(), "d refuses");
  EXPECT_EQ(Count("items WHERE name IN ('gate', 'a', 'c')"), 3);
  EXPECT_EQ(Count("items WHERE name IN ('b1', 'd1')"), 0);
  if (sqlite != nullptr) {
    EXPECT_EQ(sqlite->groups() - groups_before, 2) << "gate's group + one group of four";
  }
}

TEST_P(DatabaseTest, ReadSeesOneSnapshot) {
  ASSERT_OK(db_->Write([&](Tx& tx) { return InsertItem(tx, "before"); }));
  int64_t first = -1;
  int64_t second = -1;
  Status concurrent_write;
  ASSERT_OK(db_->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Row r1, tx.QueryOne("SELECT COUNT(*) FROM items", {}, "count"));
    first = r1.Int(0);
    // Another thread commits while this Read is open.
    std::thread writer(
        [&] { concurrent_write = db_->Write([&](Tx& wtx) { return InsertItem(wtx, "during"); }); });
    writer.join();
    VIGIL_ASSIGN_OR_RETURN(Row r2, tx.QueryOne("SELECT COUNT(*) FROM items", {}, "count"));
    second = r2.Int(0);
    return Status::Ok();
  }));
  EXPECT_OK(concurrent_write);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1) << "a Read must not see a commit that happened after it started";
  EXPECT_EQ(Count("items"), 2);
}

TEST_P(DatabaseTest, ReadsNeverSeeAHalfDoneTransfer) {
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO accounts (id, balance) VALUES (1, 500)").status());
    return tx.Exec("INSERT INTO accounts (id, balance) VALUES (2, 500)").status();
  }));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 100; ++i) {
        // Rows are always locked in id order, so these writers never deadlock.
        const int64_t amount = int64_t{(i + w) % 2 == 0 ? 1 : -1} * ((i % 7) + 1);
        EXPECT_OK(db_->Write([&](Tx& tx) -> Status {
          VIGIL_RETURN_IF_ERROR(
              tx.Exec("UPDATE accounts SET balance = balance - ? WHERE id = 1", {amount}).status());
          return tx.Exec("UPDATE accounts SET balance = balance + ? WHERE id = 2", {amount})
              .status();
        }));
      }
    });
  }
  std::vector<std::thread> readers;
  readers.reserve(2);
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        EXPECT_OK(db_->Read([&](Tx& tx) -> Status {
          VIGIL_ASSIGN_OR_RETURN(
              Row a, tx.QueryOne("SELECT balance FROM accounts WHERE id = 1", {}, "account 1"));
          std::this_thread::yield();
          VIGIL_ASSIGN_OR_RETURN(
              Row b, tx.QueryOne("SELECT balance FROM accounts WHERE id = 2", {}, "account 2"));
          if (a.Int(0) + b.Int(0) != 1000) {
            ++torn;
          }
          ++reads;
          return Status::Ok();
        }));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  done = true;
  for (std::thread& t : readers) {
    t.join();
  }
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(Count("accounts WHERE id IN (1, 2)"), 2);
}

TEST_P(DatabaseTest, DeadlockedWriteIsRetried) {
  if (IsSqlite()) {
    GTEST_SKIP() << "one writer thread: SQLite writes cannot deadlock";
  }
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO accounts (id, balance) VALUES (1, 0)").status());
    return tx.Exec("INSERT INTO accounts (id, balance) VALUES (2, 0)").status();
  }));
  // Two writers lock the rows in opposite orders; on their first attempt each waits until the
  // other holds its first row, so PostgreSQL must abort one of them (40P01). Write() retries it.
  std::atomic<int> holding{0};
  std::atomic<int> attempts{0};
  auto transfer = [&](int64_t first, int64_t second) {
    return db_->Write([&, first, second](Tx& tx) -> Status {
      const int attempt = ++attempts;
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("UPDATE accounts SET balance = balance + 1 WHERE id = ?", {first}).status());
      if (attempt <= 2) {
        ++holding;
        WaitFor([&] { return holding.load() >= 2; });
      }
      return tx.Exec("UPDATE accounts SET balance = balance + 1 WHERE id = ?", {second}).status();
    });
  };
  Status a;
  Status b;
  std::thread ta([&] { a = transfer(1, 2); });
  std::thread tb([&] { b = transfer(2, 1); });
  ta.join();
  tb.join();
  EXPECT_OK(a);
  EXPECT_OK(b);
  EXPECT_EQ(attempts.load(), 3) << "exactly one of the two was retried once";
  EXPECT_EQ(Count("accounts WHERE balance = 2"), 2);
}

// --- migrations -------------------------------------------------------------------------------

TEST_P(DatabaseTest, MigrationsAreAppliedOnceAndIdempotentOnReopen) {
  Result<int64_t> version = db_->SchemaVersion();
  ASSERT_OK(version);
  EXPECT_EQ(*version, 3);
  EXPECT_EQ(Count("schema_version"), 3);

  ASSERT_OK(Migrate(*db_, kTestMigrations));
  EXPECT_EQ(Count("schema_version"), 3);

  db_.reset();
  db_ = Open(url_);
  ASSERT_NE(db_, nullptr);
  ASSERT_OK(Migrate(*db_, kTestMigrations));
  EXPECT_EQ(Count("schema_version"), 3);
  ASSERT_OK(db_->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        tx.Query("SELECT version, name, applied_at_ms FROM schema_version ORDER BY version"));
    EXPECT_EQ(rows.size(), 3u);
    for (size_t i = 0; i < rows.size() && i < 3; ++i) {
      EXPECT_EQ(rows[i].Int(0), kTestMigrations[i].version);
      EXPECT_EQ(rows[i].Text(1), kTestMigrations[i].name);
      EXPECT_GT(rows[i].Int(2), 1'600'000'000'000);  // Unix ms, after 2020
    }
    return Status::Ok();
  }));

  // An empty store reports version 0 before migrating.
  const std::string fresh_url = NewStoreUrl();
  std::unique_ptr<Database> fresh = Open(fresh_url);
  ASSERT_NE(fresh, nullptr);
  Result<int64_t> fresh_version = fresh->SchemaVersion();
  ASSERT_OK(fresh_version);
  EXPECT_EQ(*fresh_version, 0);
  // Applying in two steps ends at the same place.
  ASSERT_OK(Migrate(*fresh, std::span<const Migration>(kTestMigrations).first(1)));
  EXPECT_EQ(fresh->SchemaVersion().value_or(-1), 1);
  ASSERT_OK(Migrate(*fresh, kTestMigrations));
  EXPECT_EQ(fresh->SchemaVersion().value_or(-1), 3);
}

TEST_P(DatabaseTest, StoreNewerThanTheBinaryIsRefused) {
  Status s = Migrate(*db_, std::span<const Migration>(kTestMigrations).first(2));
  EXPECT_THAT(s, StatusIs(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(s.message(), HasSubstr("version 3"));
  EXPECT_THAT(s.message(), HasSubstr("up to 2"));
  EXPECT_EQ(db_->SchemaVersion().value_or(-1), 3);
}

TEST_P(DatabaseTest, FailingMigrationLeavesThePreviousVersion) {
  const Migration bad[] = {
      kTestMigrations[0],
      kTestMigrations[1],
      kTestMigrations[2],
      {4, "broken", "CREATE TABLE partial (a BIGINT)\n--;\nINSERT INTO no_such_table VALUES (1)"},
  };
  Status s = Migrate(*db_, bad);
  EXPECT_THAT(s, StatusIs(ErrorCode::kInternal));
  EXPECT_THAT(s.message(), HasSubstr("migration 4 (broken)"));
  EXPECT_EQ(db_->SchemaVersion().value_or(-1), 3);
  // The migration's first statement was rolled back with it.
  EXPECT_FALSE(CountRows(*db_, "partial").has_value());

  const Migration fixed[] = {
      kTestMigrations[0],
      kTestMigrations[1],
      kTestMigrations[2],
      {4, "fixed", "CREATE TABLE partial (a BIGINT)\n--;\nINSERT INTO partial VALUES (1)"},
  };
  ASSERT_OK(Migrate(*db_, fixed));
  EXPECT_EQ(db_->SchemaVersion().value_or(-1), 4);
  EXPECT_EQ(Count("partial"), 1);
}

TEST_P(DatabaseTest, UnorderedMigrationsAreRejected) {
  const Migration unordered[] = {kTestMigrations[1], kTestMigrations[0]};
  EXPECT_THAT(Migrate(*db_, unordered), StatusIs(ErrorCode::kInvalidArgument));
}

TEST_P(DatabaseTest, NewSqliteFilesUseSixteenKibPages) {
  if (!IsSqlite()) {
    GTEST_SKIP() << "PostgreSQL's page size is fixed at build time";
  }
  int64_t page_size = 0;
  ASSERT_OK(db_->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Row row, tx.QueryOne("PRAGMA page_size", {}, "page size"));
    page_size = row.Int(0);
    return Status::Ok();
  }));
  EXPECT_EQ(page_size, 16384);
}

TEST_P(DatabaseTest, OpenDatabaseAppliesVigilsSchema) {
  const std::string url = NewStoreUrl();
  Result<std::unique_ptr<Database>> db = OpenDatabase(url);
  ASSERT_OK(db);
  EXPECT_EQ((*db)->dialect(), IsSqlite() ? Dialect::kSqlite : Dialect::kPostgres);
  ASSERT_FALSE(Schema().empty());
  EXPECT_EQ((*db)->SchemaVersion().value_or(-1), Schema().back().version);
  db->reset();
  // Reopening applies nothing new.
  Result<std::unique_ptr<Database>> again = OpenDatabase(url);
  ASSERT_OK(again);
  EXPECT_EQ(CountRows(**again, "schema_version").value_or(-1),
            static_cast<int64_t>(Schema().size()));

  // Someone ran a newer vigild against this store: this binary must refuse it.
  const int64_t future = Schema().back().version + 1000;
  ASSERT_OK((*again)->Write([&](Tx& tx) {
    return tx
        .Exec("INSERT INTO schema_version (version, name, applied_at_ms) VALUES (?, 'future', 0)",
              {future})
        .status();
  }));
  again->reset();
  Result<std::unique_ptr<Database>> refused = OpenDatabase(url);
  EXPECT_THAT(refused, StatusIs(ErrorCode::kFailedPrecondition));
  EXPECT_THAT(refused.status().message(), HasSubstr(std::to_string(future)));
  EXPECT_THAT(refused.status().message(), HasSubstr(std::to_string(Schema().back().version)));
}

TEST_P(DatabaseTest, UpgradingAStoreKeepsItsResults) {
  // A store at schema version 2 (devices, before the per-row device keys were dropped and before
  // history was keyed by series) with a device, its current state, history and a roll-up,
  // upgraded by today's schema.
  std::unique_ptr<Database> db = Open(NewStoreUrl());
  ASSERT_NE(db, nullptr);
  ASSERT_OK(Migrate(*db, Schema().first(2)));
  const std::string hour = std::to_string(3'600'000);
  ASSERT_OK(db->Write([&](Tx& tx) -> Status {
    for (const std::string& sql :
         {std::string("INSERT INTO clients (id, name, name_key, timezone, business_hours, "
                      "currency, created_at, updated_at) VALUES (7, 'c', 'c', 'UTC', '', 'EUR', "
                      "0, 0)"),
          std::string("INSERT INTO devices (id, client_id, kind, hostname, credential_hash, "
                      "enrolled_at) VALUES (3, 7, 'server', 'h', 'x', 0)"),
          std::string("INSERT INTO check_states VALUES (3, 'disk', '/', 1, 'm', "
                      "'[{\"name\":\"disk.used\",\"value\":91.5,\"unit\":\"%\"}]', '{}', 5, "
                      "4)"),
          // Two results of the first hour (rolled up before the upgrade), one of the next.
          std::string("INSERT INTO check_results VALUES (3, 'disk', '/', 5, 1, 'm', "
                      "'[{\"name\":\"disk.used\",\"value\":91.5,\"unit\":\"%\"},"
                      "{\"name\":\"disk.inodes\",\"value\":2}]')"),
          std::string("INSERT INTO check_results VALUES (3, 'disk', '/', 4, 0, 'ok', '[]')"),
          "INSERT INTO check_results VALUES (3, 'disk', '/', " + hour + ", 0, 'ok', '[]')",
          std::string("INSERT INTO check_rollups VALUES (3, 'disk', '/', 'disk.used', 0, 91.5, "
                      "91.5, 91.5, 1, 1)"),
          "INSERT INTO settings (key, value) VALUES ('rollup_watermark', '" + hour + "')"}) {
      VIGIL_RETURN_IF_ERROR(tx.Exec(sql).status());
    }
    return Status::Ok();
  }));
  ASSERT_OK(Migrate(*db, Schema()));
  EXPECT_EQ(db->SchemaVersion().value_or(-1), Schema().back().version);
  EXPECT_EQ(CountRows(*db,
                      "check_series WHERE device_id = 3 AND check_name = 'disk' AND "
                      "target = '/'")
                .value_or(-1),
            1);
  const std::string series = "(SELECT id FROM check_series WHERE device_id = 3)";
  EXPECT_EQ(CountRows(*db, "check_states WHERE series_id = " + series +
                               " AND changed_at = 4 AND metrics LIKE '%unit%'")
                .value_or(-1),
            1);
  EXPECT_EQ(CountRows(*db, "check_results WHERE device_id = 3 AND results = 1").value_or(-1), 3);
  EXPECT_EQ(CountRows(*db, "check_rollups WHERE series_id = " + series).value_or(-1), 1);
  // History keeps check, target, time, status, message and the metrics' values.
  std::string entries;
  ASSERT_OK(db->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT entries FROM check_results WHERE first_at = 5"));
    entries = rows.empty() ? "" : rows[0].Text(0);
    return Status::Ok();
  }));
  auto values = nlohmann::json::parse(entries, nullptr, false);
  EXPECT_EQ(values, nlohmann::json::array({nlohmann::json::array(
                        {"disk", "/", 5, 1, "m", {{"disk.used", 91.5}, {"disk.inodes", 2}}})}))
      << entries;
  // The roll-up watermark now names the newest row before the hour it stood at: the two results of
  // the first hour are not counted again, the third is still to come.
  EXPECT_EQ(CountRows(*db,
                      "settings WHERE key = 'rollup_last_result_id' AND value = "
                      "(SELECT CAST(MAX(id) AS TEXT) FROM check_results WHERE "
                      "first_at < " +
                          hour + ")")
                .value_or(-1),
            1);
  EXPECT_EQ(CountRows(*db, "settings WHERE key = 'rollup_watermark'").value_or(-1), 0);
  // History has one index, by device and time.
  EXPECT_EQ(CountRows(*db, IsSqlite() ? "sqlite_master WHERE type = 'index' AND tbl_name = "
                                        "'check_results'"
                                      : "pg_indexes WHERE schemaname = current_schema() AND "
                                        "tablename = 'check_results'")
                .value_or(-1),
            IsSqlite() ? 1 : 2);  // PostgreSQL counts the primary key's too
}

// --- backup and observer ----------------------------------------------------------------------

TEST_P(DatabaseTest, BackupWhileWritingHoldsEveryEarlierCommit) {
  const std::string backup_path = IsSqlite() ? (fs::path(dir_) / "backup.db").string() : "";
  if (IsPostgres()) {
    Status s = db_->Backup("/tmp/unused.db");
    EXPECT_THAT(s, StatusIs(ErrorCode::kFailedPrecondition));
    EXPECT_THAT(s.message(), HasSubstr("pg_dump"));
    return;
  }
  ASSERT_OK(db_->Write([&](Tx& tx) -> Status {
    for (int64_t i = 0; i < 300; ++i) {
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO writes (thread, seq) VALUES (0, ?)", {i}).status());
    }
    return Status::Ok();
  }));
  std::atomic<int64_t> committed{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int64_t seq = 0; !stop.load(); ++seq) {
      Status s = db_->Write([&](Tx& tx) {
        return tx.Exec("INSERT INTO writes (thread, seq) VALUES (1, ?)", {seq}).status();
      });
      ASSERT_TRUE(s.ok()) << s.ToString();
      committed = seq + 1;
    }
  });
  ASSERT_TRUE(WaitFor([&] { return committed.load() >= 20; }));
  const int64_t before = committed.load();
  const Status backup = db_->Backup(backup_path);
  const int64_t after_backup = committed.load();
  ASSERT_TRUE(WaitFor([&] { return committed.load() > after_backup; }))
      << "the store keeps serving writes after a backup";
  stop = true;
  writer.join();
  ASSERT_OK(backup);
  EXPECT_FALSE(fs::exists(backup_path + ".tmp"));

  std::unique_ptr<Database> copy = Open(backup_path);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->SchemaVersion().value_or(-1), 3);
  EXPECT_EQ(CountRows(*copy, "writes WHERE thread = 0").value_or(-1), 300);
  EXPECT_EQ(CountRows(*copy, "writes WHERE thread = 1 AND seq < ?", {before}).value_or(-1), before);
  ASSERT_OK(copy->Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Row r, tx.QueryOne("PRAGMA integrity_check", {}, "integrity"));
    EXPECT_EQ(r.Text(0), "ok");
    return Status::Ok();
  }));
  // A second backup replaces the first atomically.
  ASSERT_OK(db_->Backup(backup_path));
  EXPECT_THAT(db_->Backup(url_), StatusIs(ErrorCode::kInvalidArgument));
}

TEST_P(DatabaseTest, ObserverSeesEveryReadAndWrite) {
  std::mutex mu;
  std::vector<std::pair<std::string, bool>> seen;
  db_->SetObserver([&](std::string_view kind, double seconds, bool ok) {
    EXPECT_GE(seconds, 0.0);
    std::lock_guard<std::mutex> lock(mu);
    seen.emplace_back(std::string(kind), ok);
  });
  EXPECT_OK(db_->Write([&](Tx& tx) { return InsertItem(tx, "o"); }));
  EXPECT_THAT(db_->Write([&](Tx& tx) { return InsertItem(tx, "o"); }),
              StatusIs(ErrorCode::kAlreadyExists));
  EXPECT_OK(db_->Read([&](Tx& tx) { return tx.Query("SELECT 1").status(); }));
  db_->SetObserver(nullptr);
  EXPECT_OK(db_->Read([&](Tx& tx) { return tx.Query("SELECT 1").status(); }));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_pair(std::string("write"), true));
  EXPECT_EQ(seen[1], std::make_pair(std::string("write"), false));
  EXPECT_EQ(seen[2], std::make_pair(std::string("read"), true));
}

// --- engine-independent units -----------------------------------------------------------------

TEST(RowTest, AccessorsConvert) {
  Row row({int64_t{42}, 2.75, std::string("17"), std::monostate{}, -2.5, 1e300});
  EXPECT_EQ(row.Int(0), 42);
  EXPECT_EQ(row.Double(0), 42.0);
  EXPECT_EQ(row.Text(0), "42");
  EXPECT_EQ(row.Int(1), 2);  // truncates
  EXPECT_EQ(row.Text(1), "2.75");
  EXPECT_EQ(row.Int(2), 0);  // text is never parsed as a number
  EXPECT_EQ(row.Double(2), 0.0);
  EXPECT_EQ(row.Text(2), "17");
  EXPECT_TRUE(row.IsNull(3));
  EXPECT_EQ(row.Int(3), 0);
  EXPECT_EQ(row.Text(3), "");
  EXPECT_EQ(row.OptInt(3), std::nullopt);
  EXPECT_EQ(row.OptText(3), std::nullopt);
  EXPECT_EQ(row.OptInt(0), 42);
  EXPECT_EQ(row.OptText(2), "17");
  EXPECT_EQ(row.Int(4), -2);
  EXPECT_EQ(row.Int(5), std::numeric_limits<int64_t>::max());  // saturates
  EXPECT_TRUE(row.Bool(0));
  EXPECT_FALSE(row.Bool(3));
}

TEST(RenderMigrationTest, ExpandsTokensPerDialectAndSplitsOnSeparatorLines) {
  const Migration m{
      7, "m", "CREATE TABLE a (id {{pk}}, b {{blob}})\n--;\n  --;  \n\nCREATE INDEX i ON a (b)",
      "CREATE TRIGGER t BEFORE DELETE ON a BEGIN SELECT 1; SELECT 2; END", "SELECT 'pg only'"};
  const std::vector<std::string> lite = RenderMigration(m, Dialect::kSqlite);
  ASSERT_EQ(lite.size(), 3u);
  EXPECT_EQ(lite[0], "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, b BLOB)");
  EXPECT_EQ(lite[1], "CREATE INDEX i ON a (b)");
  EXPECT_EQ(lite[2], "CREATE TRIGGER t BEFORE DELETE ON a BEGIN SELECT 1; SELECT 2; END");
  const std::vector<std::string> pg = RenderMigration(m, Dialect::kPostgres);
  ASSERT_EQ(pg.size(), 3u);
  EXPECT_EQ(pg[0],
            "CREATE TABLE a (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, b BYTEA)");
  EXPECT_EQ(pg[2], "SELECT 'pg only'");
}

TEST(NumberPlaceholdersTest, SkipsLiteralsIdentifiersCommentsAndDollarQuotes) {
  Result<std::string> r = NumberPlaceholders(
      "SELECT ?, '?', 'it''s ?', E'\\'?', \"col?\", $$ ? $$, $t$ ? $t$ -- ?\n /* ? /* ? */ */ ?",
      2);
  ASSERT_OK(r);
  EXPECT_EQ(*r,
            "SELECT $1, '?', 'it''s ?', E'\\'?', \"col?\", $$ ? $$, $t$ ? $t$ -- ?\n /* ? /* ? */ "
            "*/ $2");
  EXPECT_EQ(NumberPlaceholders("a = ? AND b = ?", 2).value_or(""), "a = $1 AND b = $2");
  EXPECT_THAT(NumberPlaceholders("a = ?", 2), StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(NumberPlaceholders("a = 1", 1), StatusIs(ErrorCode::kInvalidArgument));
}

class OpenDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "vigil-open-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(OpenDatabaseTest, AcceptsSqliteUrlForms) {
  const fs::path abs = dir_ / "abs.db";
  Result<std::unique_ptr<Database>> a = OpenDatabase("sqlite://" + abs.string());
  ASSERT_OK(a);
  EXPECT_EQ((*a)->dialect(), Dialect::kSqlite);
  EXPECT_TRUE(fs::exists(abs));

  const fs::path rel = fs::relative(dir_ / "rel.db", fs::current_path());
  ASSERT_OK(OpenDatabase("sqlite:" + rel.string()));
  EXPECT_TRUE(fs::exists(dir_ / "rel.db"));

  ASSERT_OK(OpenDatabase((dir_ / "plain.db").string()));
  EXPECT_TRUE(fs::exists(dir_ / "plain.db"));
}

TEST_F(OpenDatabaseTest, RejectsUnknownSchemesAndBadUrls) {
  EXPECT_THAT(OpenDatabase("mysql://localhost/vigil"), StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(OpenDatabase("file:vigil.db"), StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(OpenDatabase(""), StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(OpenDatabase("sqlite://relative.db"), StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(OpenDatabase("sqlite:"), StatusIs(ErrorCode::kInvalidArgument));
  EXPECT_THAT(OpenDatabase((dir_ / "no" / "such" / "dir.db").string()),
              StatusIs(ErrorCode::kUnavailable));
}

TEST_F(OpenDatabaseTest, UnreachablePostgresIsUnavailable) {
  // Port 1 on loopback: connection refused at once.
  EXPECT_THAT(OpenDatabase("postgresql://vigil@127.0.0.1:1/vigil?connect_timeout=2"),
              StatusIs(ErrorCode::kUnavailable));
  EXPECT_THAT(OpenDatabase("postgres://vigil@127.0.0.1:1/vigil?connect_timeout=2"),
              StatusIs(ErrorCode::kUnavailable));
}

}  // namespace
}  // namespace vigil::storage
