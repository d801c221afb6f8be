#pragma once

// JSON representations of accounts entities, as the API returns them and the audit log records
// them. One place, so the audit's before/after snapshots and the API agree. Secrets (password
// hashes, TOTP secrets, token hashes) never appear here.

#include <nlohmann/json.hpp>

#include "domain/accounts.h"

namespace vigil::domain {

nlohmann::json ToJson(const BusinessHours& h);
nlohmann::json ToJson(const Client& c);
nlohmann::json ToJson(const Site& s);
nlohmann::json ToJson(const Contact& c);
nlohmann::json ToJson(const User& u);
nlohmann::json ToJson(const ApiToken& t);
nlohmann::json ToJson(const AuditEntry& e);

std::string_view ClientStatusName(ClientStatus s);

}  // namespace vigil::domain
