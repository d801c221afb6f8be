#pragma once

// DevicesRepo: enrollment tokens, devices, what their agents report (batches, current check
// states, history and hourly roll-ups, inventory with its history) and check configuration.
//
// Tenancy: like AccountsRepo, methods that read client data take a `scope`; a row outside it is
// kNotFound, exactly like a row that does not exist.
// Idempotency: Ingest stores a batch once per (device, sequence); a replay changes nothing and
// is reported as a duplicate. An ingested batch is durable when Ingest returns.
//
// Errors (all methods): kUnavailable when the database is busy or gone; kInternal otherwise.
// Thread safety: every method may be called from any thread.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "domain/devices.h"
#include "proto/batch.h"
#include "storage/accounts_repo.h"
#include "storage/database.h"

namespace vigil::storage {

extern const std::vector<std::string_view> kDeviceSortKeys;
extern const std::vector<std::string_view> kEnrollmentTokenSortKeys;

// Devices without a WebSocket count as online this long after their last batch.
inline constexpr std::chrono::seconds kPresenceGrace{300};

struct EnrollRequest {
  std::string hostname;
  std::string kind;  // "" = the token's
  std::string agent_version;
  std::string os;
  std::string inventory_json;  // canonical (EncodeInventory), "" = none yet
};

// A (device, check, target) whose status changed in an ingested batch.
struct StatusChange {
  DeviceId device_id{};
  ClientId client_id{};
  std::string check;
  std::string target;
  std::optional<proto::CheckStatus> from;  // nullopt: first result
  proto::CheckStatus to = proto::CheckStatus::kUnknown;
  std::string message;
  TimePoint at;
};

struct IngestOutcome {
  bool duplicate = false;
  int64_t stored = 0;  // observations stored
  int64_t config_revision = 0;
  std::vector<StatusChange> changes;
};

struct InventoryChange {
  int64_t id = 0;
  TimePoint changed_at;
  std::string inventory_json;
};

// Devices (not revoked) of one client and site, counted by presence and by status.
struct FleetGroup {
  ClientId client_id{};
  std::string client_name;
  std::optional<SiteId> site_id;
  std::optional<std::string> site_name;
  int64_t devices = 0;
  int64_t online = 0;
  int64_t never = 0;  // offline = devices - online - never
  int64_t ok = 0;
  int64_t warning = 0;
  int64_t critical = 0;
  int64_t unknown = 0;  // no result yet ("none") = devices - the four statuses
};

struct RetentionPolicy {
  std::chrono::hours raw{24 * 14};       // raw results
  std::chrono::hours rollups{24 * 400};  // hourly roll-ups
};

struct MaintenanceReport {
  int64_t results_rolled_up = 0;  // history rows counted into roll-ups
  int64_t rollup_rows = 0;        // roll-up rows written or merged into
  int64_t raw_deleted = 0;
  int64_t rollups_deleted = 0;
  int64_t batch_marks_deleted = 0;
};

class DevicesRepo {
 public:
  explicit DevicesRepo(Database& db) : db_(db) {}

  // ---- enrollment tokens
  // Errors: kNotFound when the client (or the site, in that client) is outside `scope`.
  Result<domain::EnrollmentToken> CreateEnrollmentToken(domain::EnrollmentToken t,
                                                        const std::string& token_hash,
                                                        ClientScope scope,
                                                        const AuditContext& audit);
  Result<Page<domain::EnrollmentToken>> ListEnrollmentTokens(const ListQuery& q, ClientScope scope);
  Status RevokeEnrollmentToken(EnrollmentTokenId id, ClientScope scope, const AuditContext& audit);

  // Uses one use of the token whose SHA-256 is `token_hash` and creates the device with
  // `credential_hash`, in one transaction. Errors: kUnauthenticated for an unknown, expired,
  // revoked or used-up token (one message for all).
  Result<domain::Device> Enroll(const std::string& token_hash, const EnrollRequest& req,
                                const std::string& credential_hash, const AuditContext& audit);

  // ---- devices
  // The device holding this credential. Errors: kUnauthenticated when none, or revoked.
  Result<domain::Device> Authenticate(const std::string& credential_hash);
  Result<domain::Device> GetDevice(DeviceId id, ClientScope scope);
  // Filters: client_id, site_id, kind, status (ok|warning|critical|unknown|none),
  // presence (online|offline|never), revoked (true|false; default false).
  Result<Page<domain::Device>> ListDevices(const ListQuery& q, ClientScope scope, TimePoint now);
  // Device counts per (client, site) within `scope`, ordered by client name, then site name
  // ("no site" first). Presence as in ListDevices.
  Result<std::vector<FleetGroup>> FleetSummary(ClientScope scope, TimePoint now);
  Status RevokeDevice(DeviceId id, ClientScope scope, const AuditContext& audit);
  Status SetConnected(DeviceId id, bool connected, TimePoint now);
  // Marks every device disconnected (at start: no WebSocket survives a restart).
  Status ResetConnections();

  // ---- ingest
  // Errors: kUnauthenticated when the device was revoked meanwhile.
  Result<IngestOutcome> Ingest(DeviceId device, const proto::Batch& batch, TimePoint now);

  Result<std::vector<domain::CheckState>> CurrentChecks(DeviceId device, ClientScope scope);
  // Raw results of one check in [from, to), oldest first, at most `limit`.
  Result<std::vector<domain::HistoryPoint>> History(DeviceId device, ClientScope scope,
                                                    const std::string& check,
                                                    const std::string& target, TimePoint from,
                                                    TimePoint to, int64_t limit);
  Result<std::vector<domain::RollupPoint>> Rollups(DeviceId device, ClientScope scope,
                                                   const std::string& check,
                                                   const std::string& target, TimePoint from,
                                                   TimePoint to, int64_t limit);

  // ---- inventory
  // Stores the inventory when it differs from the current one (history row too); returns
  // whether it changed. `os` updates the device's summary.
  Result<bool> PutInventory(DeviceId device, const std::string& inventory_json,
                            const std::string& os, const std::string& hostname, TimePoint now);
  Result<std::optional<std::string>> GetInventory(DeviceId device, ClientScope scope);
  Result<std::vector<InventoryChange>> InventoryHistory(DeviceId device, ClientScope scope,
                                                        int64_t limit);

  // ---- configuration (JSON merge-patch overrides; validated by the caller)
  Result<std::string> KindOverride(const std::string& kind);
  Status SetKindOverride(const std::string& kind, const std::string& override_json,
                         const AuditContext& audit);
  // The device's override and its kind's, and the revision the agent should see.
  struct ConfigSources {
    std::string kind;
    std::string kind_override = "{}";
    std::string device_override = "{}";
    int64_t revision = 0;  // device revision + kind revision: changes when either changes
  };
  Result<ConfigSources> DeviceConfigSources(DeviceId device, ClientScope scope);
  Status SetDeviceOverride(DeviceId device, ClientScope scope, const std::string& override_json,
                           const AuditContext& audit);

  // ---- maintenance
  // Rolls raw results not yet counted up into hourly roll-ups (per series, metric and hour of
  // observation: min, max, sum, count; worst status), merging into the roll-ups already there,
  // then deletes raw results rolled up longer than `policy.raw` ago and roll-ups of hours older
  // than `policy.rollups`. Works in write transactions of bounded size; a backlog takes several
  // calls (vigild calls it every few minutes).
  Result<MaintenanceReport> RollUpAndPrune(TimePoint now, const RetentionPolicy& policy);

 private:
  Database& db_;
};

}  // namespace vigil::storage
