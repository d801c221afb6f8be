// Vigil's schema. Append new migrations at the end; never edit one that has shipped.

#include "storage/migrations.h"

namespace vigil::storage {
namespace {

constexpr std::string_view kAccounts = R"sql(
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
)
--;
CREATE TABLE clients (
  id {{pk}},
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  timezone TEXT NOT NULL,
  business_hours TEXT NOT NULL,
  employees BIGINT,
  currency TEXT NOT NULL,
  downtime_per_hour_minor BIGINT,
  staff_affected BIGINT,
  loaded_hourly_cost_minor BIGINT,
  revenue_per_hour_minor BIGINT,
  notes TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
)
--;
CREATE TABLE sites (
  id {{pk}},
  client_id BIGINT NOT NULL REFERENCES clients(id),
  name TEXT NOT NULL,
  address TEXT NOT NULL DEFAULT '',
  timezone TEXT,
  notes TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (client_id, name)
)
--;
CREATE INDEX sites_by_client ON sites (client_id, id)
--;
CREATE TABLE contacts (
  id {{pk}},
  client_id BIGINT NOT NULL REFERENCES clients(id),
  site_id BIGINT REFERENCES sites(id),
  name TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  is_primary BIGINT NOT NULL DEFAULT 0,
  is_billing BIGINT NOT NULL DEFAULT 0,
  is_technical BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
)
--;
CREATE INDEX contacts_by_client ON contacts (client_id, id)
--;
CREATE TABLE users (
  id {{pk}},
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  client_id BIGINT REFERENCES clients(id),
  password_hash TEXT NOT NULL,
  totp_secret TEXT,
  totp_enabled BIGINT NOT NULL DEFAULT 0,
  totp_last_step BIGINT NOT NULL DEFAULT 0,
  disabled BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_login_at BIGINT,
  CHECK ((role IN ('client_admin', 'client_user')) = (client_id IS NOT NULL))
)
--;
CREATE TABLE recovery_codes (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  code_hash TEXT NOT NULL,
  used_at BIGINT
)
--;
CREATE INDEX recovery_codes_by_user ON recovery_codes (user_id)
--;
CREATE TABLE sessions (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL UNIQUE,
  csrf_token TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  remote_address TEXT NOT NULL DEFAULT ''
)
--;
CREATE INDEX sessions_by_user ON sessions (user_id)
--;
CREATE TABLE api_tokens (
  id {{pk}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  last_used_at BIGINT,
  revoked_at BIGINT
)
--;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id)
--;
CREATE TABLE audit_log (
  id {{pk}},
  at BIGINT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id BIGINT,
  token_id BIGINT,
  actor_label TEXT NOT NULL,
  action TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id BIGINT,
  client_id BIGINT,
  before_json TEXT NOT NULL DEFAULT '',
  after_json TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT '',
  remote_address TEXT NOT NULL DEFAULT ''
)
--;
CREATE INDEX audit_by_time ON audit_log (at, id)
)sql";

// The audit log is append-only: the engine itself refuses updates and deletes.
constexpr std::string_view kAccountsSqlite = R"sql(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
--;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
)sql";

constexpr std::string_view kAccountsPostgres = R"sql(
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = '23000'; END $$
--;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
)sql";

// Devices and what their agents report (the agent issue).
constexpr std::string_view kDevices = R"sql(
CREATE TABLE enrollment_tokens (
  id {{pk}},
  client_id BIGINT NOT NULL REFERENCES clients(id),
  site_id BIGINT REFERENCES sites(id),
  kind TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  prefix TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  max_uses BIGINT NOT NULL,
  uses BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT,
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL
)
--;
CREATE INDEX enrollment_tokens_by_client ON enrollment_tokens (client_id, id)
--;
CREATE TABLE devices (
  id {{pk}},
  client_id BIGINT NOT NULL REFERENCES clients(id),
  site_id BIGINT REFERENCES sites(id),
  kind TEXT NOT NULL,
  hostname TEXT NOT NULL,
  os TEXT NOT NULL DEFAULT '',
  agent_version TEXT NOT NULL DEFAULT '',
  credential_hash TEXT NOT NULL UNIQUE,
  enrollment_token_id BIGINT REFERENCES enrollment_tokens(id),
  enrolled_at BIGINT NOT NULL,
  last_seen_at BIGINT,
  connected BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT,
  last_sequence BIGINT NOT NULL DEFAULT 0,
  status TEXT,
  failing_checks BIGINT NOT NULL DEFAULT 0,
  gap_batches BIGINT NOT NULL DEFAULT 0,
  config_override TEXT NOT NULL DEFAULT '{}',
  config_revision BIGINT NOT NULL DEFAULT 1
)
--;
CREATE INDEX devices_by_client ON devices (client_id, id)
--;
CREATE TABLE device_batches (
  device_id BIGINT NOT NULL REFERENCES devices(id),
  sequence BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  observations BIGINT NOT NULL,
  PRIMARY KEY (device_id, sequence)
)
--;
CREATE TABLE device_gaps (
  device_id BIGINT NOT NULL REFERENCES devices(id),
  first_sequence BIGINT NOT NULL,
  last_sequence BIGINT NOT NULL,
  reported_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, first_sequence)
)
--;
CREATE TABLE check_states (
  device_id BIGINT NOT NULL REFERENCES devices(id),
  check_name TEXT NOT NULL,
  target TEXT NOT NULL,
  status BIGINT NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  details TEXT NOT NULL,
  observed_at BIGINT NOT NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, check_name, target)
)
--;
CREATE TABLE check_results (
  device_id BIGINT NOT NULL REFERENCES devices(id),
  check_name TEXT NOT NULL,
  target TEXT NOT NULL,
  observed_at BIGINT NOT NULL,
  status BIGINT NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL
)
--;
CREATE INDEX check_results_by_check ON check_results (device_id, check_name, observed_at)
--;
CREATE INDEX check_results_by_time ON check_results (observed_at)
--;
CREATE TABLE check_rollups (
  device_id BIGINT NOT NULL REFERENCES devices(id),
  check_name TEXT NOT NULL,
  target TEXT NOT NULL,
  metric TEXT NOT NULL,
  hour BIGINT NOT NULL,
  min_value DOUBLE PRECISION NOT NULL,
  max_value DOUBLE PRECISION NOT NULL,
  sum_value DOUBLE PRECISION NOT NULL,
  samples BIGINT NOT NULL,
  worst_status BIGINT NOT NULL,
  PRIMARY KEY (device_id, check_name, target, metric, hour)
)
--;
CREATE TABLE device_inventory (
  device_id BIGINT PRIMARY KEY REFERENCES devices(id),
  inventory TEXT NOT NULL,
  updated_at BIGINT NOT NULL
)
--;
CREATE TABLE inventory_history (
  id {{pk}},
  device_id BIGINT NOT NULL REFERENCES devices(id),
  inventory TEXT NOT NULL,
  changed_at BIGINT NOT NULL
)
--;
CREATE INDEX inventory_history_by_device ON inventory_history (device_id, id)
--;
CREATE TABLE device_kind_configs (
  kind TEXT PRIMARY KEY,
  override TEXT NOT NULL,
  revision BIGINT NOT NULL
)
)sql";

// The per-result tables lose their foreign key to devices: the ingest checks the device once per
// batch (it must exist and not be revoked), and SQLite's check of every history and state row
// slowed the single writer markedly at P1's rate (bench/README.md). Devices are never
// deleted (revocation keeps them), so the key guarded nothing the ingest does not.
// SQLite cannot drop a constraint: the two tables are rebuilt with the same columns, the current
// states clustered by their key (WITHOUT ROWID: the upsert of each result finds and rewrites one
// B-tree entry instead of an index entry and a table row).
constexpr std::string_view kIngestKeysSqlite = R"sql(
CREATE TABLE check_states_v3 (
  device_id BIGINT NOT NULL,
  check_name TEXT NOT NULL,
  target TEXT NOT NULL,
  status BIGINT NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  details TEXT NOT NULL,
  observed_at BIGINT NOT NULL,
  changed_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, check_name, target)
) WITHOUT ROWID
--;
INSERT INTO check_states_v3 (device_id, check_name, target, status, message, metrics, details,
  observed_at, changed_at)
SELECT device_id, check_name, target, status, message, metrics, details, observed_at, changed_at
FROM check_states
--;
DROP TABLE check_states
--;
ALTER TABLE check_states_v3 RENAME TO check_states
--;
CREATE TABLE check_results_v3 (
  device_id BIGINT NOT NULL,
  check_name TEXT NOT NULL,
  target TEXT NOT NULL,
  observed_at BIGINT NOT NULL,
  status BIGINT NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL
)
--;
INSERT INTO check_results_v3 (device_id, check_name, target, observed_at, status, message,
  metrics)
SELECT device_id, check_name, target, observed_at, status, message, metrics FROM check_results
--;
DROP TABLE check_results
--;
ALTER TABLE check_results_v3 RENAME TO check_results
--;
CREATE INDEX check_results_by_check ON check_results (device_id, check_name, observed_at)
--;
CREATE INDEX check_results_by_time ON check_results (observed_at)
)sql";

constexpr std::string_view kIngestKeysPostgres = R"sql(
ALTER TABLE check_states DROP CONSTRAINT IF EXISTS check_states_device_id_fkey
--;
ALTER TABLE check_results DROP CONSTRAINT IF EXISTS check_results_device_id_fkey
)sql";

// Check history by batch, current states by series (DESIGN.md P1). History held a row per
// result with the device, check and target again, the metrics with units and thresholds, and two
// indexes whose entries for a device's checks lie far apart: every result dirtied index pages of
// its own. Now a row holds one batch's results (domain::HistoryEntriesJson: check, target, time,
// status, message and the metrics' values), indexed by device and newest time: one row and one
// index entry per batch. Each (device, check, target) becomes a series with an id; current states
// and roll-ups are keyed by it. Roll-ups and retention follow the history's ids in bounded steps
// instead of observation times, which counts results that arrive after their hour was rolled up.
// The roll-up watermark (an hour) becomes the id of the newest row before that hour.
constexpr std::string_view kSeries = R"sql(
CREATE TABLE check_series (
  id {{pk}},
  device_id BIGINT NOT NULL,
  check_name TEXT NOT NULL,
  target TEXT NOT NULL,
  UNIQUE (device_id, check_name, target)
)
--;
INSERT INTO check_series (device_id, check_name, target)
SELECT device_id, check_name, target FROM check_states
UNION SELECT device_id, check_name, target FROM check_results
UNION SELECT device_id, check_name, target FROM check_rollups
ORDER BY 1, 2, 3
--;
CREATE TABLE check_states_v4 (
  series_id {{key}},
  status BIGINT NOT NULL,
  message TEXT NOT NULL,
  metrics TEXT NOT NULL,
  details TEXT NOT NULL,
  observed_at BIGINT NOT NULL,
  changed_at BIGINT NOT NULL
)
--;
INSERT INTO check_states_v4 (series_id, status, message, metrics, details, observed_at,
  changed_at)
SELECT c.id, s.status, s.message, s.metrics, s.details, s.observed_at, s.changed_at
FROM check_states s JOIN check_series c
  ON c.device_id = s.device_id AND c.check_name = s.check_name AND c.target = s.target
--;
DROP TABLE check_states
--;
ALTER TABLE check_states_v4 RENAME TO check_states
--;
CREATE TABLE check_rollups_v4 (
  series_id BIGINT NOT NULL,
  metric TEXT NOT NULL,
  hour BIGINT NOT NULL,
  min_value DOUBLE PRECISION NOT NULL,
  max_value DOUBLE PRECISION NOT NULL,
  sum_value DOUBLE PRECISION NOT NULL,
  samples BIGINT NOT NULL,
  worst_status BIGINT NOT NULL,
  PRIMARY KEY (series_id, metric, hour)
)
--;
INSERT INTO check_rollups_v4 (series_id, metric, hour, min_value, max_value, sum_value, samples,
  worst_status)
SELECT c.id, r.metric, r.hour, r.min_value, r.max_value, r.sum_value, r.samples, r.worst_status
FROM check_rollups r JOIN check_series c
  ON c.device_id = r.device_id AND c.check_name = r.check_name AND c.target = r.target
--;
DROP TABLE check_rollups
--;
ALTER TABLE check_rollups_v4 RENAME TO check_rollups
--;
CREATE TABLE check_result_marks (
  last_id BIGINT PRIMARY KEY,
  marked_at BIGINT NOT NULL
)
--;
CREATE TABLE check_results_v4 (
  id {{pk}},
  device_id BIGINT NOT NULL,
  first_at BIGINT NOT NULL,
  last_at BIGINT NOT NULL,
  results BIGINT NOT NULL,
  entries TEXT NOT NULL
)
)sql";

// The history's metrics become {"name": value} with each engine's JSON functions; what follows
// the copy is the same for both.
constexpr std::string_view kSeriesSqlite = R"sql(
INSERT INTO check_results_v4 (device_id, first_at, last_at, results, entries)
SELECT r.device_id, r.observed_at, r.observed_at, 1,
  json_array(json_array(r.check_name, r.target, r.observed_at, r.status, r.message,
    json(COALESCE((SELECT json_group_object(json_extract(m.value, '$.name'),
                                            json_extract(m.value, '$.value'))
                   FROM json_each(CASE WHEN json_valid(r.metrics) THEN r.metrics ELSE '[]' END) m
                   WHERE json_type(m.value, '$.name') = 'text'
                     AND json_type(m.value, '$.value') IN ('integer', 'real')), '{}'))))
FROM check_results r
ORDER BY r.observed_at
--;
INSERT INTO settings (key, value)
SELECT 'rollup_last_result_id', CAST(COALESCE(MAX(r.id), 0) AS TEXT) FROM check_results_v4 r
WHERE r.first_at < (SELECT CAST(value AS BIGINT) FROM settings WHERE key = 'rollup_watermark')
--;
DELETE FROM settings WHERE key = 'rollup_watermark'
--;
DROP TABLE check_results
--;
ALTER TABLE check_results_v4 RENAME TO check_results
--;
CREATE INDEX check_results_by_device ON check_results (device_id, last_at)
)sql";

constexpr std::string_view kSeriesPostgres = R"sql(
INSERT INTO check_results_v4 (device_id, first_at, last_at, results, entries)
SELECT r.device_id, r.observed_at, r.observed_at, 1,
  json_build_array(json_build_array(r.check_name, r.target, r.observed_at, r.status, r.message,
    COALESCE((SELECT json_object_agg(m->>'name', m->'value')
              FROM json_array_elements(CASE WHEN json_typeof(r.metrics::json) = 'array'
                                            THEN r.metrics::json ELSE '[]'::json END) m
              WHERE json_typeof(m->'name') = 'string' AND json_typeof(m->'value') = 'number'),
             '{}'::json)))::text
FROM check_results r
ORDER BY r.observed_at
--;
INSERT INTO settings (key, value)
SELECT 'rollup_last_result_id', CAST(COALESCE(MAX(r.id), 0) AS TEXT) FROM check_results_v4 r
WHERE r.first_at < (SELECT CAST(value AS BIGINT) FROM settings WHERE key = 'rollup_watermark')
--;
DELETE FROM settings WHERE key = 'rollup_watermark'
--;
DROP TABLE check_results
--;
ALTER TABLE check_results_v4 RENAME TO check_results
--;
CREATE INDEX check_results_by_device ON check_results (device_id, last_at)
)sql";

constexpr Migration kMigrations[] = {
    {1, "accounts", kAccounts, kAccountsSqlite, kAccountsPostgres},
    {2, "devices", kDevices},
    {3, "ingest without per-row device keys", {}, kIngestKeysSqlite, kIngestKeysPostgres},
    {4, "check history by batch, states by series", kSeries, kSeriesSqlite, kSeriesPostgres},
};

}  // namespace

std::span<const Migration> Schema() { return kMigrations; }

}  // namespace vigil::storage
