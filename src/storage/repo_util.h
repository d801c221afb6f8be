#pragma once

// Helpers shared by the repositories (storage/*_repo.cc): value conversions, list queries with
// search/sort/paging, and the audit entry written in the same transaction as a change.
// Internal to storage: nothing outside src/storage includes this.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/ids.h"
#include "storage/accounts_repo.h"
#include "storage/database.h"

namespace vigil::storage {

inline Value Opt(const std::optional<int64_t>& v) { return v ? Value(*v) : Value(); }
inline Value OptStr(const std::optional<std::string>& v) { return v ? Value(*v) : Value(); }
inline Value Ms(TimePoint t) { return ToUnixMillis(t); }
inline Value OptMs(const std::optional<TimePoint>& t) {
  return t ? Value(ToUnixMillis(*t)) : Value();
}
std::optional<TimePoint> OptTime(const Row& r, size_t i);

// "%s%" for LIKE with wildcards in `s` escaped; used with ESCAPE '\'. Lower-cases `s`.
std::string LikePattern(std::string_view s);

// Compact JSON, invalid UTF-8 replaced.
std::string Dump(const nlohmann::json& j);

// Appends an audit entry in `tx` (the caller's transaction).
Status AppendAudit(Tx& tx, const AuditContext& a, std::string_view action,
                   std::string_view entity_type, std::optional<int64_t> entity_id,
                   std::optional<ClientId> client, const std::string& before,
                   const std::string& after);

// Builds "WHERE ... ORDER BY ... LIMIT ? OFFSET ?" around fixed conditions.
struct ListSql {
  std::vector<std::string> where;
  std::vector<Value> params;

  void Add(std::string cond, std::initializer_list<Value> ps = {}) {
    where.push_back(std::move(cond));
    params.insert(params.end(), ps);
  }
  void Search(const std::string& search, std::initializer_list<std::string_view> columns) {
    if (search.empty()) {
      return;
    }
    std::string cond = "(";
    bool first = true;
    for (auto c : columns) {
      if (!first) {
        cond += " OR ";
      }
      first = false;
      cond += fmt::format("LOWER({}) LIKE ? ESCAPE '\\'", c);
      params.emplace_back(LikePattern(search));
    }
    where.push_back(cond + ")");
  }
  std::string Where() const {
    if (where.empty()) {
      return "";
    }
    std::string out = " WHERE ";
    for (size_t i = 0; i < where.size(); ++i) {
      if (i) {
        out += " AND ";
      }
      out += where[i];
    }
    return out;
  }
};

template <typename T>
Result<Page<T>> RunList(Database& db, std::string_view select, std::string_view from,
                        const ListSql& l, const ListQuery& q, std::string_view default_sort,
                        const std::function<T(const Row&)>& map) {
  std::string sort = q.sort.empty() ? std::string(default_sort) : q.sort;
  std::string order = fmt::format(" ORDER BY {} {}, id {}", sort, q.descending ? "DESC" : "ASC",
                                  q.descending ? "DESC" : "ASC");
  std::string count_sql = fmt::format("SELECT COUNT(*) FROM {}{}", from, l.Where());
  std::string list_sql =
      fmt::format("SELECT {} FROM {}{}{} LIMIT ? OFFSET ?", select, from, l.Where(), order);
  std::vector<Value> params = l.params;
  Page<T> page;
  Status st = db.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto count, tx.Query(count_sql, l.params));
    page.total = count.empty() ? 0 : count[0].Int(0);
    params.emplace_back(q.limit);
    params.emplace_back(q.offset);
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query(list_sql, params));
    for (const auto& r : rows) {
      page.items.push_back(map(r));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return page;
}

}  // namespace vigil::storage
