#include "storage/devices_repo.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_reader.h"
#include "storage/repo_util.h"

namespace vigil::storage {

using domain::CheckState;
using domain::Device;
using domain::EnrollmentToken;
using nlohmann::json;
using proto::CheckStatus;

const std::vector<std::string_view> kDeviceSortKeys = {"id", "hostname", "last_seen_at",
                                                       "enrolled_at", "failing_checks"};
const std::vector<std::string_view> kEnrollmentTokenSortKeys = {"id", "created_at", "expires_at"};

namespace {

// The id of the newest history row already counted in the roll-ups.
constexpr std::string_view kRollupWatermarkKey = "rollup_last_result_id";
constexpr size_t kRowsPerInsert = 100;
constexpr int64_t kHourMs = 3'600'000;
// Maintenance works in write transactions of bounded size (about this many results rolled up,
// this many batches pruned), so that it never holds the single writer (and the acknowledgement
// of agents' batches) for long, and at most kMaxStepsPerMaintenance of them per call; a backlog
// is caught up over several calls.
constexpr int64_t kResultsPerMaintenanceStep = 20'000;
constexpr int64_t kBatchesPerPruneStep = 1'000;
constexpr int64_t kMaxStepsPerMaintenance = 50;
// Batch marks are kept past the oldest observation a batch may carry (DecodeBatch's max_past),
// so a replay is recognised for as long as it could be accepted at all.
constexpr std::chrono::hours kBatchMarkRetention{24 * 31};

std::optional<CheckStatus> StatusFromInt(int64_t v) {
  if (v < 0 || v > 3) {
    return std::nullopt;
  }
  return static_cast<CheckStatus>(v);
}

// ---- enrollment tokens

constexpr std::string_view kTokenCols =
    "id, client_id, site_id, kind, label, prefix, max_uses, uses, expires_at, revoked_at, "
    "created_by, created_at";

EnrollmentToken TokenFromRow(const Row& r) {
  EnrollmentToken t;
  t.id = EnrollmentTokenId{r.Int(0)};
  t.client_id = ClientId{r.Int(1)};
  if (auto s = r.OptInt(2)) {
    t.site_id = SiteId{*s};
  }
  t.kind = r.Text(3);
  t.label = r.Text(4);
  t.prefix = r.Text(5);
  t.max_uses = r.Int(6);
  t.uses = r.Int(7);
  t.expires_at = FromUnixMillis(r.Int(8));
  t.revoked_at = OptTime(r, 9);
  if (auto u = r.OptInt(10)) {
    t.created_by = UserId{*u};
  }
  t.created_at = FromUnixMillis(r.Int(11));
  return t;
}

json TokenAuditJson(const EnrollmentToken& t) {
  return {{"id", Raw(t.id)},
          {"client_id", Raw(t.client_id)},
          {"site_id", t.site_id ? json(Raw(*t.site_id)) : json(nullptr)},
          {"kind", t.kind},
          {"label", t.label},
          {"prefix", t.prefix},
          {"max_uses", t.max_uses},
          {"expires_at", FormatRfc3339(t.expires_at)},
          {"revoked", t.revoked_at.has_value()}};
}

// Checks that `client` (and `site`, within it) exist and are within scope.
Status CheckClientAndSite(Tx& tx, ClientId client, std::optional<SiteId> site, ClientScope scope) {
  if (scope && *scope != client) {
    return NotFound(fmt::format("client {} not found", Raw(client)));
  }
  VIGIL_RETURN_IF_ERROR(tx.QueryOne("SELECT id FROM clients WHERE id = ?", {Raw(client)},
                                    fmt::format("client {}", Raw(client)))
                            .status());
  if (site) {
    VIGIL_RETURN_IF_ERROR(tx.QueryOne("SELECT id FROM sites WHERE id = ? AND client_id = ?",
                                      {Raw(*site), Raw(client)}, fmt::format("site {}", Raw(*site)))
                              .status());
  }
  return Status::Ok();
}

// ---- devices

constexpr std::string_view kDeviceCols =
    "id, client_id, site_id, kind, hostname, os, agent_version, enrolled_at, last_seen_at, "
    "connected, revoked_at, last_sequence, status, failing_checks, config_revision, gap_batches";

Device DeviceFromRow(const Row& r) {
  Device d;
  d.id = DeviceId{r.Int(0)};
  d.client_id = ClientId{r.Int(1)};
  if (auto s = r.OptInt(2)) {
    d.site_id = SiteId{*s};
  }
  d.kind = r.Text(3);
  d.hostname = r.Text(4);
  d.os = r.Text(5);
  d.agent_version = r.Text(6);
  d.enrolled_at = FromUnixMillis(r.Int(7));
  d.last_seen_at = OptTime(r, 8);
  d.connected = r.Bool(9);
  d.revoked_at = OptTime(r, 10);
  d.last_sequence = r.Int(11);
  if (auto s = r.OptText(12)) {
    d.status = proto::ParseCheckStatus(*s);
  }
  d.failing_checks = r.Int(13);
  d.config_revision = r.Int(14);
  d.gap_batches = r.Int(15);
  return d;
}

json DeviceAuditJson(const Device& d) {
  return {{"id", Raw(d.id)},
          {"client_id", Raw(d.client_id)},
          {"site_id", d.site_id ? json(Raw(*d.site_id)) : json(nullptr)},
          {"kind", d.kind},
          {"hostname", d.hostname},
          {"revoked", d.revoked_at.has_value()}};
}

Result<Device> LoadDevice(Tx& tx, DeviceId id, ClientScope scope) {
  auto row = tx.QueryOne(fmt::format("SELECT {} FROM devices WHERE id = ?", kDeviceCols), {Raw(id)},
                         fmt::format("device {}", Raw(id)));
  if (!row) {
    return row.status();
  }
  Device d = DeviceFromRow(*row);
  if (scope && *scope != d.client_id) {
    return NotFound(fmt::format("device {} not found", Raw(id)));
  }
  return d;
}

// ---- ingest

// A multi-row INSERT: `head` + "(?, ...)" per row, `columns` parameters each, with the rows'
// parameters laid out one after the other in `params`.
struct RowsInsert {
  std::string sql;
  std::vector<Value> params;
};

// Splits `rows` (each `columns` values, concatenated in `values`) into INSERTs of at most
// kRowsPerInsert rows: `head` + VALUES list + `tail`.
std::vector<RowsInsert> MultiRowInserts(std::string_view head, std::string_view tail,
                                        size_t columns, std::vector<Value> values) {
  std::vector<RowsInsert> out;
  const size_t rows = columns == 0 ? 0 : values.size() / columns;
  std::string tuple = "(?";
  for (size_t c = 1; c < columns; ++c) {
    tuple += ", ?";
  }
  tuple += ")";
  for (size_t start = 0; start < rows; start += kRowsPerInsert) {
    size_t end = std::min(rows, start + kRowsPerInsert);
    RowsInsert ins;
    ins.sql.reserve(head.size() + tail.size() + (end - start) * (tuple.size() + 2));
    ins.sql += head;
    for (size_t r = start; r < end; ++r) {
      ins.sql += r == start ? "" : ", ";
      ins.sql += tuple;
    }
    ins.sql += tail;
    ins.params.assign(
        std::make_move_iterator(values.begin() + static_cast<std::ptrdiff_t>(start * columns)),
        std::make_move_iterator(values.begin() + static_cast<std::ptrdiff_t>(end * columns)));
    out.push_back(std::move(ins));
  }
  return out;
}

// One string for a (check, target): checks are names, so they hold no NUL.
std::string SeriesKey(std::string_view check, std::string_view target) {
  std::string key;
  key.reserve(check.size() + 1 + target.size());
  key.append(check).append(1, '\0').append(target);
  return key;
}

// Everything about a batch that does not depend on what is stored, computed before the write
// transaction so that the single writer thread only binds and steps (DESIGN.md P1).
struct PreparedBatch {
  std::string entries;  // the history row: domain::HistoryEntriesJson
  int64_t first_at = 0;
  int64_t last_at = 0;
  // One per newest result of a (check, target): its row for check_states.
  struct State {
    const proto::Observation* observation;
    int64_t observed_at;
    std::string metrics;
    std::string details;
  };
  std::vector<State> states;
};

PreparedBatch PrepareBatch(const proto::Batch& batch) {
  PreparedBatch p;
  for (const proto::Observation* o : domain::NewestPerTarget(batch.observations)) {
    p.states.push_back({o, ToUnixMillis(o->observed_at), domain::MetricsJson(o->result.metrics),
                        domain::DetailsJson(o->result.details)});
  }
  p.entries = domain::HistoryEntriesJson(batch.observations);
  for (size_t i = 0; i < batch.observations.size(); ++i) {
    const int64_t at = ToUnixMillis(batch.observations[i].observed_at);
    p.first_at = i == 0 ? at : std::min(p.first_at, at);
    p.last_at = i == 0 ? at : std::max(p.last_at, at);
  }
  return p;
}

int64_t KindRevision(Tx& tx, const std::string& kind) {
  auto rows = tx.Query("SELECT revision FROM device_kind_configs WHERE kind = ?", {kind});
  return rows && !rows->empty() ? (*rows)[0].Int(0) : 0;
}

}  // namespace

// ================= enrollment tokens

Result<EnrollmentToken> DevicesRepo::CreateEnrollmentToken(EnrollmentToken t,
                                                           const std::string& token_hash,
                                                           ClientScope scope,
                                                           const AuditContext& audit) {
  t.created_at = audit.now;
  t.uses = 0;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(CheckClientAndSite(tx, t.client_id, t.site_id, scope));
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("INSERT INTO enrollment_tokens (client_id, site_id, kind, label, prefix, "
                 "token_hash, max_uses, uses, expires_at, created_by, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) RETURNING id",
                 {Raw(t.client_id), t.site_id ? Value(Raw(*t.site_id)) : Value(), t.kind, t.label,
                  t.prefix, token_hash, t.max_uses, Ms(t.expires_at),
                  t.created_by ? Value(Raw(*t.created_by)) : Value(), Ms(t.created_at)}));
    t.id = EnrollmentTokenId{rows[0].Int(0)};
    return AppendAudit(tx, audit, "enrollment_token.create", "enrollment_token", Raw(t.id),
                       t.client_id, "", Dump(TokenAuditJson(t)));
  });
  if (!st.ok()) {
    return st;
  }
  return t;
}

Result<Page<EnrollmentToken>> DevicesRepo::ListEnrollmentTokens(const ListQuery& q,
                                                                ClientScope scope) {
  ListSql l;
  if (scope) {
    l.Add("client_id = ?", {Raw(*scope)});
  }
  for (const auto& [k, v] : q.filters) {
    if (k == "client_id") {
      l.Add("client_id = ?", {std::stoll(v)});
    } else if (k == "revoked") {
      l.Add(v == "true" ? "revoked_at IS NOT NULL" : "revoked_at IS NULL");
    }
  }
  l.Search(q.search, {"label", "prefix"});
  return RunList<EnrollmentToken>(db_, kTokenCols, "enrollment_tokens", l, q, "id", TokenFromRow);
}

Status DevicesRepo::RevokeEnrollmentToken(EnrollmentTokenId id, ClientScope scope,
                                          const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto row,
        tx.QueryOne(fmt::format("SELECT {} FROM enrollment_tokens WHERE id = ?", kTokenCols),
                    {Raw(id)}, fmt::format("enrollment token {}", Raw(id))));
    EnrollmentToken t = TokenFromRow(row);
    if (scope && *scope != t.client_id) {
      return NotFound(fmt::format("enrollment token {} not found", Raw(id)));
    }
    if (t.revoked_at) {
      return Status::Ok();
    }
    VIGIL_RETURN_IF_ERROR(tx.Exec("UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ?",
                                  {Ms(audit.now), Raw(id)})
                              .status());
    std::string before = Dump(TokenAuditJson(t));
    t.revoked_at = audit.now;
    return AppendAudit(tx, audit, "enrollment_token.revoke", "enrollment_token", Raw(id),
                       t.client_id, before, Dump(TokenAuditJson(t)));
  });
}

Result<Device> DevicesRepo::Enroll(const std::string& token_hash, const EnrollRequest& req,
                                   const std::string& credential_hash, const AuditContext& audit) {
  Device d;
  Status st = db_.Write([&](Tx& tx) -> Status {
    auto rows =
        tx.Query(fmt::format("SELECT {} FROM enrollment_tokens WHERE token_hash = ?", kTokenCols),
                 {token_hash});
    if (!rows) {
      return rows.status();
    }
    if (rows->empty() || !TokenFromRow((*rows)[0]).UsableAt(audit.now)) {
      return Unauthenticated("the enrollment token is unknown, expired, revoked or used up");
    }
    EnrollmentToken t = TokenFromRow((*rows)[0]);
    // Counted with a guard in the statement itself, so concurrent enrollments cannot overuse.
    VIGIL_ASSIGN_OR_RETURN(int64_t n,
                           tx.Exec("UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ? AND "
                                   "uses < max_uses AND revoked_at IS NULL",
                                   {Raw(t.id)}));
    if (n != 1) {
      return Unauthenticated("the enrollment token is unknown, expired, revoked or used up");
    }
    d.client_id = t.client_id;
    d.site_id = t.site_id;
    d.kind = req.kind.empty() ? t.kind : req.kind;
    d.hostname = req.hostname;
    d.os = req.os;
    d.agent_version = req.agent_version;
    d.enrolled_at = audit.now;
    VIGIL_ASSIGN_OR_RETURN(
        auto ins,
        tx.Query(
            "INSERT INTO devices (client_id, site_id, kind, hostname, os, agent_version, "
            "credential_hash, enrollment_token_id, enrolled_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {Raw(d.client_id), d.site_id ? Value(Raw(*d.site_id)) : Value(), d.kind, d.hostname,
             d.os, d.agent_version, credential_hash, Raw(t.id), Ms(d.enrolled_at)}));
    d.id = DeviceId{ins[0].Int(0)};
    if (!req.inventory_json.empty()) {
      VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO device_inventory (device_id, inventory, "
                                    "updated_at) VALUES (?, ?, ?)",
                                    {Raw(d.id), req.inventory_json, Ms(audit.now)})
                                .status());
      VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO inventory_history (device_id, inventory, "
                                    "changed_at) VALUES (?, ?, ?)",
                                    {Raw(d.id), req.inventory_json, Ms(audit.now)})
                                .status());
    }
    AuditContext a = audit;
    a.actor_label = fmt::format("enrollment token {}", t.prefix);
    return AppendAudit(tx, a, "device.enroll", "device", Raw(d.id), d.client_id, "",
                       Dump(DeviceAuditJson(d)));
  });
  if (!st.ok()) {
    return st;
  }
  return d;
}

// ================= devices

Result<Device> DevicesRepo::Authenticate(const std::string& credential_hash) {
  std::optional<Device> d;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(fmt::format("SELECT {} FROM devices WHERE credential_hash = ?", kDeviceCols),
                 {credential_hash}));
    if (!rows.empty()) {
      d = DeviceFromRow(rows[0]);
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  if (!d || d->revoked_at) {
    return Unauthenticated("unknown or revoked device credential");
  }
  return *d;
}

Result<Device> DevicesRepo::GetDevice(DeviceId id, ClientScope scope) {
  std::optional<Device> d;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(d, LoadDevice(tx, id, scope));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *d;
}

Result<Page<Device>> DevicesRepo::ListDevices(const ListQuery& q, ClientScope scope,
                                              TimePoint now) {
  ListSql l;
  if (scope) {
    l.Add("client_id = ?", {Raw(*scope)});
  }
  bool revoked_filter = false;
  int64_t online_since = ToUnixMillis(now - kPresenceGrace);
  for (const auto& [k, v] : q.filters) {
    if (k == "client_id") {
      l.Add("client_id = ?", {std::stoll(v)});
    } else if (k == "site_id") {
      l.Add("site_id = ?", {std::stoll(v)});
    } else if (k == "kind") {
      l.Add("kind = ?", {v});
    } else if (k == "status") {
      if (v == "none") {
        l.Add("status IS NULL");
      } else {
        l.Add("status = ?", {v});
      }
    } else if (k == "presence") {
      if (v == "online") {
        l.Add("revoked_at IS NULL AND (connected = 1 OR last_seen_at >= ?)", {online_since});
      } else if (v == "offline") {
        l.Add("(revoked_at IS NOT NULL OR (connected = 0 AND last_seen_at < ?))", {online_since});
      } else {
        l.Add("revoked_at IS NULL AND connected = 0 AND last_seen_at IS NULL");
      }
    } else if (k == "revoked") {
      revoked_filter = true;
      l.Add(v == "true" ? "revoked_at IS NOT NULL" : "revoked_at IS NULL");
    }
  }
  if (!revoked_filter) {
    l.Add("revoked_at IS NULL");
  }
  l.Search(q.search, {"hostname", "os"});
  return RunList<Device>(db_, kDeviceCols, "devices", l, q, "hostname", DeviceFromRow);
}

Result<std::vector<FleetGroup>> DevicesRepo::FleetSummary(ClientScope scope, TimePoint now) {
  std::string sql =
      "SELECT d.client_id, c.name, d.site_id, s.name, COUNT(*), "
      "SUM(CASE WHEN d.connected = 1 OR d.last_seen_at >= ? THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN d.connected = 0 AND d.last_seen_at IS NULL THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN d.status = 'ok' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN d.status = 'warning' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN d.status = 'critical' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN d.status = 'unknown' THEN 1 ELSE 0 END) "
      "FROM devices d JOIN clients c ON c.id = d.client_id "
      "LEFT JOIN sites s ON s.id = d.site_id WHERE d.revoked_at IS NULL";
  std::vector<Value> args = {ToUnixMillis(now - kPresenceGrace)};
  if (scope) {
    sql += " AND d.client_id = ?";
    args.emplace_back(Raw(*scope));
  }
  sql +=
      " GROUP BY d.client_id, c.name, d.site_id, s.name "
      "ORDER BY LOWER(c.name), d.client_id, CASE WHEN s.name IS NULL THEN 0 ELSE 1 END, "
      "LOWER(s.name), d.site_id";
  std::vector<FleetGroup> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, args));
    out.clear();
    out.reserve(rows.size());
    for (const Row& r : rows) {
      FleetGroup g;
      g.client_id = ClientId{r.Int(0)};
      g.client_name = r.Text(1);
      if (auto site = r.OptInt(2)) {
        g.site_id = SiteId{*site};
      }
      g.site_name = r.OptText(3);
      g.devices = r.Int(4);
      g.online = r.Int(5);
      g.never = r.Int(6);
      g.ok = r.Int(7);
      g.warning = r.Int(8);
      g.critical = r.Int(9);
      g.unknown = r.Int(10);
      out.push_back(std::move(g));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Status DevicesRepo::RevokeDevice(DeviceId id, ClientScope scope, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Device d, LoadDevice(tx, id, scope));
    if (d.revoked_at) {
      return Status::Ok();
    }
    VIGIL_RETURN_IF_ERROR(tx.Exec("UPDATE devices SET revoked_at = ?, connected = 0 WHERE id = ?",
                                  {Ms(audit.now), Raw(id)})
                              .status());
    std::string before = Dump(DeviceAuditJson(d));
    d.revoked_at = audit.now;
    return AppendAudit(tx, audit, "device.revoke", "device", Raw(id), d.client_id, before,
                       Dump(DeviceAuditJson(d)));
  });
}

Status DevicesRepo::SetConnected(DeviceId id, bool connected, TimePoint now) {
  return db_.Write([&](Tx& tx) -> Status {
    return tx
        .Exec("UPDATE devices SET connected = ?, last_seen_at = ? WHERE id = ?",
              {int64_t{connected ? 1 : 0}, Ms(now), Raw(id)})
        .status();
  });
}

Status DevicesRepo::ResetConnections() {
  return db_.Write([&](Tx& tx) -> Status {
    return tx.Exec("UPDATE devices SET connected = 0 WHERE connected <> 0").status();
  });
}

// ================= ingest

Result<IngestOutcome> DevicesRepo::Ingest(DeviceId device, const proto::Batch& batch,
                                          TimePoint now) {
  IngestOutcome out;
  PreparedBatch prepared = PrepareBatch(batch);
  Status st = db_.Write([&](Tx& tx) -> Status {
    out = IngestOutcome{};
    VIGIL_ASSIGN_OR_RETURN(Device d, LoadDevice(tx, device, std::nullopt));
    if (d.revoked_at) {
      return Unauthenticated("unknown or revoked device credential");
    }
    out.config_revision = d.config_revision + KindRevision(tx, d.kind);
    VIGIL_ASSIGN_OR_RETURN(
        auto seen, tx.Query("SELECT 1 FROM device_batches WHERE device_id = ? AND sequence = ?",
                            {Raw(device), static_cast<int64_t>(batch.sequence)}));
    if (!seen.empty()) {
      out.duplicate = true;
      return Status::Ok();
    }
    VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO device_batches (device_id, sequence, received_at, "
                                  "observations) VALUES (?, ?, ?, ?)",
                                  {Raw(device), static_cast<int64_t>(batch.sequence), Ms(now),
                                   static_cast<int64_t>(batch.observations.size())})
                              .status());
    // The device's series with their current state (status, observed_at) by (check, target):
    // updated below with this batch's, they give the device's summary without reading again.
    struct Series {
      int64_t id = 0;
      std::optional<std::pair<CheckStatus, int64_t>> state;
    };
    // By SeriesKey; a hash map: at P1's rate the device's series are looked up for every result.
    std::unordered_map<std::string, Series> series;
    auto read_series = [&]() -> Status {
      VIGIL_ASSIGN_OR_RETURN(
          auto rows, tx.Query("SELECT c.check_name, c.target, c.id, s.status, s.observed_at "
                              "FROM check_series c LEFT JOIN check_states s ON s.series_id = c.id "
                              "WHERE c.device_id = ?",
                              {Raw(device)}));
      series.reserve(rows.size());
      for (const auto& r : rows) {
        Series& x = series[SeriesKey(r.Text(0), r.Text(1))];
        x.id = r.Int(2);
        if (!r.IsNull(3)) {
          x.state = {StatusFromInt(r.Int(3)).value_or(CheckStatus::kUnknown), r.Int(4)};
        }
      }
      return Status::Ok();
    };
    VIGIL_RETURN_IF_ERROR(read_series());
    // New series first (ON CONFLICT: on PostgreSQL a concurrent batch of the same device may
    // create one first, and a unique violation would read as a duplicate batch).
    std::vector<Value> fresh;
    for (const PreparedBatch::State& s : prepared.states) {
      const auto& res = s.observation->result;
      if (series.find(SeriesKey(res.check, res.target)) == series.end()) {
        for (Value v : {Value(Raw(device)), Value(res.check), Value(res.target)}) {
          fresh.push_back(std::move(v));
        }
      }
    }
    if (!fresh.empty()) {
      for (const RowsInsert& ins : MultiRowInserts(
               "INSERT INTO check_series (device_id, check_name, target) VALUES ",
               " ON CONFLICT (device_id, check_name, target) DO NOTHING", 3, std::move(fresh))) {
        VIGIL_RETURN_IF_ERROR(tx.Exec(ins.sql, ins.params).status());
      }
      VIGIL_RETURN_IF_ERROR(read_series());
    }
    if (!batch.observations.empty()) {
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO check_results (device_id, first_at, last_at, results, entries) "
                  "VALUES (?, ?, ?, ?, ?)",
                  {Raw(device), prepared.first_at, prepared.last_at,
                   static_cast<int64_t>(batch.observations.size()), prepared.entries})
              .status());
    }
    out.stored = static_cast<int64_t>(batch.observations.size());

    std::vector<Value> values;
    values.reserve(prepared.states.size() * 7);
    for (const PreparedBatch::State& s : prepared.states) {
      const auto& res = s.observation->result;
      Series& x = series[SeriesKey(res.check, res.target)];
      if (x.state && x.state->second > s.observed_at) {
        continue;  // an older result replayed after a newer one: history only
      }
      for (Value v :
           {Value(x.id), Value(static_cast<int64_t>(res.status)), Value(res.message),
            Value(s.metrics), Value(s.details), Value(s.observed_at), Value(s.observed_at)}) {
        values.push_back(std::move(v));
      }
      if (!x.state || x.state->first != res.status) {
        StatusChange c;
        c.device_id = device;
        c.client_id = d.client_id;
        c.check = res.check;
        c.target = res.target;
        if (x.state) {
          c.from = x.state->first;
        }
        c.to = res.status;
        c.message = res.message;
        c.at = s.observation->observed_at;
        out.changes.push_back(std::move(c));
      }
      x.state = {res.status, s.observed_at};
    }
    for (const RowsInsert& ins :
         MultiRowInserts("INSERT INTO check_states (series_id, status, message, metrics, details, "
                         "observed_at, changed_at) VALUES ",
                         " ON CONFLICT (series_id) DO UPDATE SET "
                         "changed_at = CASE WHEN check_states.status = excluded.status "
                         "THEN check_states.changed_at ELSE excluded.changed_at END, "
                         "status = excluded.status, message = excluded.message, "
                         "metrics = excluded.metrics, details = excluded.details, "
                         "observed_at = excluded.observed_at",
                         7, std::move(values))) {
      VIGIL_RETURN_IF_ERROR(tx.Exec(ins.sql, ins.params).status());
    }
    int64_t lost = 0;
    for (const auto& g : batch.gaps) {
      VIGIL_ASSIGN_OR_RETURN(
          int64_t n,
          tx.Exec("INSERT INTO device_gaps (device_id, first_sequence, last_sequence, "
                  "reported_at) VALUES (?, ?, ?, ?) ON CONFLICT (device_id, first_sequence) "
                  "DO NOTHING",
                  {Raw(device), static_cast<int64_t>(g.first_sequence),
                   static_cast<int64_t>(g.last_sequence), Ms(now)}));
      if (n > 0) {
        lost += static_cast<int64_t>(g.last_sequence - g.first_sequence + 1);
      }
    }
    std::optional<CheckStatus> worst;
    int64_t failing = 0;
    for (const auto& [key, x] : series) {
      if (x.state) {
        worst = worst ? proto::Worst(*worst, x.state->first) : x.state->first;
        failing += x.state->first != CheckStatus::kOk ? 1 : 0;
      }
    }
    int64_t seq = static_cast<int64_t>(batch.sequence);
    return tx
        .Exec(
            "UPDATE devices SET last_seen_at = ?, last_sequence = CASE WHEN last_sequence < ? "
            "THEN ? ELSE last_sequence END, agent_version = ?, status = ?, failing_checks = ?, "
            "gap_batches = gap_batches + ? WHERE id = ?",
            {Ms(now), seq, seq, batch.agent_version,
             worst ? Value(std::string(proto::CheckStatusName(*worst))) : Value(), failing, lost,
             Raw(device)})
        .status();
  });
  if (st.code() == ErrorCode::kAlreadyExists) {
    // The same batch raced in on another connection and won: this one is its replay.
    out = IngestOutcome{};
    out.duplicate = true;
    return out;
  }
  if (!st.ok()) {
    return st;
  }
  return out;
}

Result<std::vector<CheckState>> DevicesRepo::CurrentChecks(DeviceId device, ClientScope scope) {
  std::vector<CheckState> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadDevice(tx, device, scope).status());
    VIGIL_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT c.check_name, c.target, s.status, s.message, "
                                    "s.metrics, s.details, s.observed_at, s.changed_at "
                                    "FROM check_series c JOIN check_states s ON s.series_id = c.id "
                                    "WHERE c.device_id = ? ORDER BY c.check_name, c.target",
                                    {Raw(device)}));
    for (const auto& r : rows) {
      CheckState c;
      c.device_id = device;
      c.check = r.Text(0);
      c.target = r.Text(1);
      c.status = StatusFromInt(r.Int(2)).value_or(CheckStatus::kUnknown);
      c.message = r.Text(3);
      c.metrics_json = r.Text(4);
      c.details_json = r.Text(5);
      c.observed_at = FromUnixMillis(r.Int(6));
      c.changed_at = FromUnixMillis(r.Int(7));
      out.push_back(std::move(c));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Result<std::vector<domain::HistoryPoint>> DevicesRepo::History(DeviceId device, ClientScope scope,
                                                               const std::string& check,
                                                               const std::string& target,
                                                               TimePoint from, TimePoint to,
                                                               int64_t limit) {
  std::vector<domain::HistoryPoint> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadDevice(tx, device, scope).status());
    // The batches that may hold results of the range, then the series' results in them.
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT entries FROM check_results WHERE "
                                               "device_id = ? AND last_at >= ? AND first_at < ?",
                                               {Raw(device), Ms(from), Ms(to)}));
    const auto series = std::pair<std::string_view, std::string_view>(check, target);
    for (const auto& r : rows) {
      VIGIL_ASSIGN_OR_RETURN(auto entries, domain::ParseHistoryEntries(r.Text(0), series));
      for (auto& e : entries) {
        if (e.point.at >= from && e.point.at < to) {
          out.push_back(std::move(e.point));
        }
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.at < b.at; });
    if (static_cast<int64_t>(out.size()) > limit) {
      out.resize(static_cast<size_t>(std::max<int64_t>(limit, 0)));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Result<std::vector<domain::RollupPoint>> DevicesRepo::Rollups(DeviceId device, ClientScope scope,
                                                              const std::string& check,
                                                              const std::string& target,
                                                              TimePoint from, TimePoint to,
                                                              int64_t limit) {
  std::vector<domain::RollupPoint> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadDevice(tx, device, scope).status());
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT r.hour, r.metric, r.min_value, r.max_value, r.sum_value, r.samples, "
                 "r.worst_status FROM check_series c JOIN check_rollups r ON r.series_id = c.id "
                 "WHERE c.device_id = ? AND c.check_name = ? AND c.target = ? AND r.hour >= ? "
                 "AND r.hour < ? ORDER BY r.hour, r.metric LIMIT ?",
                 {Raw(device), check, target, Ms(from), Ms(to), limit}));
    for (const auto& r : rows) {
      domain::RollupPoint p;
      p.hour = FromUnixMillis(r.Int(0));
      p.metric = r.Text(1);
      p.min = r.Double(2);
      p.max = r.Double(3);
      p.sum = r.Double(4);
      p.count = r.Int(5);
      p.worst = StatusFromInt(r.Int(6)).value_or(CheckStatus::kUnknown);
      out.push_back(std::move(p));
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

// ================= inventory

Result<bool> DevicesRepo::PutInventory(DeviceId device, const std::string& inventory_json,
                                       const std::string& os, const std::string& hostname,
                                       TimePoint now) {
  bool changed = false;
  Status st = db_.Write([&](Tx& tx) -> Status {
    changed = false;
    VIGIL_ASSIGN_OR_RETURN(Device d, LoadDevice(tx, device, std::nullopt));
    if (d.revoked_at) {
      return Unauthenticated("unknown or revoked device credential");
    }
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT inventory FROM device_inventory WHERE device_id = ?", {Raw(device)}));
    if (!rows.empty() && rows[0].Text(0) == inventory_json) {
      return Status::Ok();
    }
    changed = true;
    if (rows.empty()) {
      VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO device_inventory (device_id, inventory, "
                                    "updated_at) VALUES (?, ?, ?)",
                                    {Raw(device), inventory_json, Ms(now)})
                                .status());
    } else {
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("UPDATE device_inventory SET inventory = ?, updated_at = ? WHERE device_id = ?",
                  {inventory_json, Ms(now), Raw(device)})
              .status());
    }
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO inventory_history (device_id, inventory, changed_at) "
                "VALUES (?, ?, ?)",
                {Raw(device), inventory_json, Ms(now)})
            .status());
    return tx
        .Exec(
            "UPDATE devices SET os = ?, hostname = CASE WHEN ? = '' THEN hostname ELSE ? END "
            "WHERE id = ?",
            {os, hostname, hostname, Raw(device)})
        .status();
  });
  if (!st.ok()) {
    return st;
  }
  return changed;
}

Result<std::optional<std::string>> DevicesRepo::GetInventory(DeviceId device, ClientScope scope) {
  std::optional<std::string> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadDevice(tx, device, scope).status());
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT inventory FROM device_inventory WHERE device_id = ?", {Raw(device)}));
    if (!rows.empty()) {
      out = rows[0].Text(0);
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Result<std::vector<InventoryChange>> DevicesRepo::InventoryHistory(DeviceId device,
                                                                   ClientScope scope,
                                                                   int64_t limit) {
  std::vector<InventoryChange> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadDevice(tx, device, scope).status());
    VIGIL_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT id, changed_at, inventory FROM inventory_history WHERE "
                                    "device_id = ? ORDER BY id DESC LIMIT ?",
                                    {Raw(device), limit}));
    for (const auto& r : rows) {
      out.push_back({r.Int(0), FromUnixMillis(r.Int(1)), r.Text(2)});
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

// ================= configuration

Result<std::string> DevicesRepo::KindOverride(const std::string& kind) {
  std::string out = "{}";
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT override FROM device_kind_configs WHERE kind = ?", {kind}));
    if (!rows.empty()) {
      out = rows[0].Text(0);
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Status DevicesRepo::SetKindOverride(const std::string& kind, const std::string& override_json,
                                    const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT override FROM device_kind_configs WHERE kind = ?", {kind}));
    std::string before = rows.empty() ? "{}" : rows[0].Text(0);
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO device_kind_configs (kind, override, revision) VALUES (?, ?, 1) "
                "ON CONFLICT (kind) DO UPDATE SET override = excluded.override, "
                "revision = device_kind_configs.revision + 1",
                {kind, override_json})
            .status());
    return AppendAudit(tx, audit, "device_kind_config.update", "device_kind_config", std::nullopt,
                       std::nullopt, before, override_json);
  });
}

Result<DevicesRepo::ConfigSources> DevicesRepo::DeviceConfigSources(DeviceId device,
                                                                    ClientScope scope) {
  ConfigSources out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Device d, LoadDevice(tx, device, scope));
    out.kind = d.kind;
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT config_override FROM devices WHERE id = ?", {Raw(device)}));
    out.device_override = rows.empty() ? "{}" : rows[0].Text(0);
    VIGIL_ASSIGN_OR_RETURN(
        auto kinds,
        tx.Query("SELECT override, revision FROM device_kind_configs WHERE kind = ?", {d.kind}));
    int64_t kind_revision = 0;
    if (!kinds.empty()) {
      out.kind_override = kinds[0].Text(0);
      kind_revision = kinds[0].Int(1);
    }
    out.revision = d.config_revision + kind_revision;
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Status DevicesRepo::SetDeviceOverride(DeviceId device, ClientScope scope,
                                      const std::string& override_json, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Device d, LoadDevice(tx, device, scope));
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT config_override FROM devices WHERE id = ?", {Raw(device)}));
    std::string before = rows.empty() ? "{}" : rows[0].Text(0);
    VIGIL_RETURN_IF_ERROR(tx.Exec("UPDATE devices SET config_override = ?, config_revision = "
                                  "config_revision + 1 WHERE id = ?",
                                  {override_json, Raw(device)})
                              .status());
    return AppendAudit(tx, audit, "device.config", "device", Raw(device), d.client_id, before,
                       override_json);
  });
}

// ================= maintenance

Result<MaintenanceReport> DevicesRepo::RollUpAndPrune(TimePoint now,
                                                      const RetentionPolicy& policy) {
  MaintenanceReport report;
  const int64_t now_ms = ToUnixMillis(now);
  // Roll-ups follow the history's ids from the watermark on, a bounded step per transaction.
  // Results of an hour already rolled up (replayed late) are merged into its roll-up.
  int64_t watermark = -1;
  for (int64_t step = 0; step < kMaxStepsPerMaintenance; ++step) {
    int64_t read = 0;
    int64_t written = 0;
    Status st = db_.Write([&](Tx& tx) -> Status {
      read = 0;
      if (db_.dialect() == Dialect::kPostgres) {
        // Ids are taken when a row is inserted, not when it commits: waiting here for the
        // writers in flight (and holding back new ones for this step) makes every id up to the
        // newest one read below committed, so none is passed over.
        VIGIL_RETURN_IF_ERROR(tx.Exec("LOCK TABLE check_results IN SHARE MODE").status());
      }
      VIGIL_ASSIGN_OR_RETURN(auto wm, tx.Query("SELECT value FROM settings WHERE key = ?",
                                               {std::string(kRollupWatermarkKey)}));
      int64_t from = wm.empty() ? 0 : std::stoll(wm[0].Text(0));
      // Whole batches, about kResultsPerMaintenanceStep results (at least one batch).
      VIGIL_ASSIGN_OR_RETURN(auto sizes, tx.Query("SELECT id, results FROM check_results WHERE "
                                                  "id > ? ORDER BY id LIMIT 1000",
                                                  {from}));
      int64_t to = from;
      for (const auto& r : sizes) {
        if (to > from && read + r.Int(1) > kResultsPerMaintenanceStep) {
          break;
        }
        to = r.Int(0);
        read += r.Int(1);
      }
      watermark = to;
      VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT device_id, entries FROM check_results "
                                                 "WHERE id > ? AND id <= ? ORDER BY id",
                                                 {from, to}));
      struct Agg {
        double min = 0, max = 0, sum = 0;
        int64_t count = 0;
        CheckStatus worst = CheckStatus::kOk;
      };
      std::map<std::tuple<int64_t, std::string, int64_t>, Agg> aggs;
      // Series ids by device, then (check, target).
      std::map<int64_t, std::map<std::pair<std::string, std::string>, int64_t>> series;
      for (const auto& r : rows) {
        const int64_t device = r.Int(0);
        auto [known, added] = series.try_emplace(device);
        if (added) {
          VIGIL_ASSIGN_OR_RETURN(auto ids, tx.Query("SELECT check_name, target, id FROM "
                                                    "check_series WHERE device_id = ?",
                                                    {device}));
          for (const auto& i : ids) {
            known->second[{i.Text(0), i.Text(1)}] = i.Int(2);
          }
        }
        auto entries = domain::ParseHistoryEntries(r.Text(1));
        if (!entries) {
          continue;  // not what the ingest writes; nothing to count
        }
        for (const auto& e : *entries) {
          auto id = known->second.find({e.check, e.target});
          if (id == known->second.end()) {
            continue;
          }
          const int64_t at = ToUnixMillis(e.point.at);
          const int64_t hour = at - ((at % kHourMs) + kHourMs) % kHourMs;
          for (const auto& [name, v] : e.point.values) {
            Agg& a = aggs[{id->second, name, hour}];
            if (a.count == 0) {
              a.min = a.max = v;
              a.worst = e.point.status;
            } else {
              a.min = std::min(a.min, v);
              a.max = std::max(a.max, v);
              a.worst = proto::Worst(a.worst, e.point.status);
            }
            a.sum += v;
            ++a.count;
          }
        }
      }
      std::vector<Value> values;
      values.reserve(aggs.size() * 8);
      for (const auto& [k, a] : aggs) {
        for (Value v :
             {Value(std::get<0>(k)), Value(std::get<1>(k)), Value(std::get<2>(k)), Value(a.min),
              Value(a.max), Value(a.sum), Value(a.count), Value(static_cast<int64_t>(a.worst))}) {
          values.push_back(std::move(v));
        }
      }
      written = static_cast<int64_t>(aggs.size());
      // proto::Worst's order (ok < unknown < warning < critical) in SQL.
      auto rank = [](std::string_view column) {
        return fmt::format("CASE {} WHEN 0 THEN 0 WHEN 3 THEN 1 WHEN 1 THEN 2 ELSE 3 END", column);
      };
      const std::string merge = fmt::format(
          " ON CONFLICT (series_id, metric, hour) DO UPDATE SET "
          "min_value = CASE WHEN excluded.min_value < check_rollups.min_value "
          "THEN excluded.min_value ELSE check_rollups.min_value END, "
          "max_value = CASE WHEN excluded.max_value > check_rollups.max_value "
          "THEN excluded.max_value ELSE check_rollups.max_value END, "
          "sum_value = check_rollups.sum_value + excluded.sum_value, "
          "samples = check_rollups.samples + excluded.samples, "
          "worst_status = CASE WHEN {} > {} THEN excluded.worst_status "
          "ELSE check_rollups.worst_status END",
          rank("excluded.worst_status"), rank("check_rollups.worst_status"));
      for (const RowsInsert& ins :
           MultiRowInserts("INSERT INTO check_rollups (series_id, metric, hour, min_value, "
                           "max_value, sum_value, samples, worst_status) VALUES ",
                           merge, 8, std::move(values))) {
        VIGIL_RETURN_IF_ERROR(tx.Exec(ins.sql, ins.params).status());
      }
      return tx
          .Exec(
              "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
              "SET value = excluded.value",
              {std::string(kRollupWatermarkKey), std::to_string(watermark)})
          .status();
    });
    if (!st.ok()) {
      return st;
    }
    report.results_rolled_up += read;
    report.rollup_rows += written;
    if (read == 0) {
      break;
    }
  }

  // Retention: a raw result goes `policy.raw` after it was rolled up (about when it arrived),
  // so results replayed late are kept as long as any. A mark per call says how far the roll-ups
  // had come when.
  int64_t prune_to = 0;
  Status st = db_.Write([&](Tx& tx) -> Status {
    if (watermark > 0) {
      VIGIL_RETURN_IF_ERROR(tx.Exec("INSERT INTO check_result_marks (last_id, marked_at) "
                                    "VALUES (?, ?) ON CONFLICT (last_id) DO NOTHING",
                                    {watermark, now_ms})
                                .status());
    }
    VIGIL_ASSIGN_OR_RETURN(auto marks, tx.Query("SELECT MAX(last_id) FROM check_result_marks WHERE "
                                                "marked_at < ?",
                                                {ToUnixMillis(now - policy.raw)}));
    prune_to = marks.empty() || marks[0].IsNull(0) ? 0 : marks[0].Int(0);
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM check_result_marks WHERE last_id < ?", {prune_to}).status());
    VIGIL_ASSIGN_OR_RETURN(
        int64_t rollups_deleted,
        tx.Exec("DELETE FROM check_rollups WHERE hour < ?", {ToUnixMillis(now - policy.rollups)}));
    VIGIL_ASSIGN_OR_RETURN(int64_t marks_deleted,
                           tx.Exec("DELETE FROM device_batches WHERE received_at < ?",
                                   {ToUnixMillis(now - kBatchMarkRetention)}));
    report.rollups_deleted = rollups_deleted;
    report.batch_marks_deleted = marks_deleted;
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  // Raw rows up to prune_to, oldest first, a bounded step per transaction.
  for (int64_t step = 0; step < kMaxStepsPerMaintenance && prune_to > 0; ++step) {
    int64_t deleted = 0;
    st = db_.Write([&](Tx& tx) -> Status {
      VIGIL_ASSIGN_OR_RETURN(auto oldest, tx.Query("SELECT MIN(id) FROM check_results"));
      if (oldest.empty() || oldest[0].IsNull(0) || oldest[0].Int(0) > prune_to) {
        deleted = 0;
        return Status::Ok();
      }
      const int64_t lo = oldest[0].Int(0);
      VIGIL_ASSIGN_OR_RETURN(deleted,
                             tx.Exec("DELETE FROM check_results WHERE id >= ? AND id <= ?",
                                     {lo, std::min(prune_to, lo + kBatchesPerPruneStep - 1)}));
      return Status::Ok();
    });
    if (!st.ok()) {
      return st;
    }
    report.raw_deleted += deleted;
    if (deleted == 0) {
      break;
    }
  }
  return report;
}

}  // namespace vigil::storage
