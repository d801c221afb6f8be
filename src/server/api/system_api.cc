// Health, metrics, the OpenAPI document and backups of Vigil's own store.

#include <filesystem>

#include <fmt/format.h>

#include "core/version.h"
#include "server/api/services.h"

namespace vigil::server::api {

using nlohmann::json;

void RegisterSystemRoutes(Router& router, Services& s) {
  router.Add(
      {"GET", "/healthz", {}, true, false, [&s](Ctx&) -> Result<Reply> {
         Status db = s.db.Read([](storage::Tx& tx) { return tx.Query("SELECT 1").status(); });
         if (!db.ok()) {
           return Unavailable("the database does not answer: " + db.message());
         }
         VIGIL_ASSIGN_OR_RETURN(int64_t version, s.db.SchemaVersion());
         return Ok(json{
             {"status", "ok"},
             {"version", kVersion},
             {"schema_version", version},
             {"database", s.db.dialect() == storage::Dialect::kSqlite ? "sqlite" : "postgresql"}});
       }});

  router.Add({"GET", "/metrics", {}, true, false, [&s](Ctx&) -> Result<Reply> {
                Reply r;
                r.body = s.metrics.Render();  // Prometheus text; App writes string bodies raw
                r.headers.emplace_back("content-type", "text/plain; version=0.0.4; charset=utf-8");
                return r;
              }});

  router.Add({"GET", "/api/v1/openapi.json", {}, true, false, [&s](Ctx&) -> Result<Reply> {
                Reply r;
                r.body = s.openapi_json;
                r.headers.emplace_back("content-type", "application/json");
                return r;
              }});

  router.Add({"POST",
              "/api/v1/admin/backup",
              {domain::Role::kOwner},
              false,
              false,
              [&s](Ctx& ctx) -> Result<Reply> {
                namespace fs = std::filesystem;
                fs::path dir = fs::path(s.data_dir) / "backups";
                std::error_code ec;
                fs::create_directories(dir, ec);
                if (ec) {
                  return Unavailable("cannot create " + dir.string() + ": " + ec.message());
                }
                std::string stamp = FormatRfc3339(ctx.now);  // to the millisecond
                for (char& c : stamp) {
                  if (c == ':' || c == '.') {
                    c = '-';
                  }
                }
                fs::path file = dir / fmt::format("vigil-{}.db", stamp);
                if (fs::exists(file)) {
                  return AlreadyExists("a backup is already being written");
                }
                VIGIL_RETURN_IF_ERROR(s.db.Backup(file.string()));
                auto size = fs::file_size(file, ec);
                VIGIL_RETURN_IF_ERROR(s.accounts.Audit("store.backup", "store", std::nullopt,
                                                       std::nullopt, AuditFor(ctx)));
                return Created(json{{"path", file.string()}, {"bytes", ec ? 0 : size}});
              }});
}

}  // namespace vigil::server::api
