#include "server/api/services.h"

#include <charconv>

#include <fmt/format.h>

namespace vigil::server::api {

constexpr int64_t kMaxLimit = 200;
constexpr int64_t kMaxOffset = 1'000'000;

Result<json::Json> JsonBody(const Ctx& ctx) {
  auto ct = ctx.req.Header("content-type");
  std::string_view type = ct.value_or("");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') {
    type.remove_suffix(1);
  }
  if (type != "application/json") {
    return Status(ErrorCode::kUnsupportedMediaType,
                  "the body must be JSON with Content-Type: application/json");
  }
  return json::ParseObject(ctx.req.body);
}

namespace {
Result<int64_t> QueryInt(const std::string& name, const std::string& v, int64_t min, int64_t max) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < min || out > max) {
    return FieldInvalid(name, fmt::format("must be an integer between {} and {}", min, max));
  }
  return out;
}
}  // namespace

Result<storage::ListQuery> ReadListQuery(const Ctx& ctx, const ListParams& params) {
  storage::ListQuery q;
  for (const auto& [k, v] : ctx.QueryPairs()) {
    if (k == "limit") {
      VIGIL_ASSIGN_OR_RETURN(q.limit, QueryInt(k, v, 1, kMaxLimit));
    } else if (k == "offset") {
      VIGIL_ASSIGN_OR_RETURN(q.offset, QueryInt(k, v, 0, kMaxOffset));
    } else if (k == "sort") {
      std::string_view key = v;
      bool desc = !key.empty() && key[0] == '-';
      if (desc) {
        key.remove_prefix(1);
      }
      bool ok = false;
      for (auto s : params.sort_keys) {
        ok = ok || s == key;
      }
      if (!ok) {
        std::string allowed;
        for (auto s : params.sort_keys) {
          allowed += (allowed.empty() ? "" : ", ") + std::string(s);
        }
        return FieldInvalid("sort", "must be one of " + allowed + " (prefix - for descending)");
      }
      q.sort = std::string(key);
      q.descending = desc;
    } else if (k == "q") {
      if (v.size() > 200) {
        return FieldInvalid("q", "must be at most 200 characters");
      }
      if (!json::IsValidUtf8(v)) {
        return FieldInvalid("q", "must be valid UTF-8");
      }
      q.search = v;
    } else {
      bool known = false;
      for (const auto& [name, allowed] : params.filters) {
        if (name != k) {
          continue;
        }
        known = true;
        if (allowed == kAnyId) {
          VIGIL_RETURN_IF_ERROR(QueryInt(k, v, 1, INT64_MAX).status());
        } else if (allowed == kAnyText) {
          if (v.empty() || v.size() > 200 || !json::IsValidUtf8(v)) {
            return FieldInvalid(k, "must be 1 to 200 characters of UTF-8");
          }
        } else {
          bool ok = false;
          std::string list;
          for (auto a : allowed) {
            ok = ok || a == v;
            list += (list.empty() ? "" : ", ") + std::string(a);
          }
          if (!ok) {
            return FieldInvalid(k, "must be one of " + list);
          }
        }
        q.filters.emplace_back(k, v);
      }
      if (!known) {
        return FieldInvalid(k.substr(0, 64), "is not a known query parameter");
      }
    }
  }
  return q;
}

storage::AuditContext AuditFor(const Ctx& ctx) {
  storage::AuditContext a;
  a.now = ctx.now;
  a.request_id = ctx.request_id;
  a.remote_address = ctx.req.remote_address;
  if (ctx.principal) {
    const auto& p = *ctx.principal;
    a.actor_type = p.method == domain::AuthMethod::kApiToken ? domain::ActorType::kToken
                                                             : domain::ActorType::kUser;
    a.actor_id = Raw(p.user_id);
    if (p.token_id) {
      a.token_id = Raw(*p.token_id);
    }
    a.actor_label = p.email;
  }
  return a;
}

}  // namespace vigil::server::api
