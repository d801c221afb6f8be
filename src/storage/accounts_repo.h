#pragma once

// AccountsRepo: clients, sites, contacts, users, sessions, API tokens, settings and the audit log.
//
// Every mutating method takes an AuditContext and writes its audit entry (with before/after
// snapshots) in the same transaction as the change, so the log and the data never disagree.
// Tenancy: methods that read client data take a `scope` (nullopt = every client); a row outside
// the scope is reported as kNotFound, exactly like a row that does not exist, so a client contact
// cannot learn that another client's record exists.
//
// Errors (all methods): kUnavailable when the database is busy or gone; kInternal otherwise.
// Thread safety: every method may be called from any thread.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "domain/accounts.h"
#include "storage/database.h"

namespace vigil::storage {

// Who makes a change, for the audit log.
struct AuditContext {
  domain::ActorType actor_type = domain::ActorType::kSystem;
  std::optional<int64_t> actor_id;
  std::optional<int64_t> token_id;
  std::string actor_label;
  std::string request_id;
  std::string remote_address;
  TimePoint now;
};

using ClientScope = std::optional<ClientId>;

// A page of a list endpoint.
struct ListQuery {
  int64_t limit = 50;
  int64_t offset = 0;
  std::string sort;  // a key the list accepts; "" = default order
  bool descending = false;
  std::string search;  // case-insensitive substring of the main text fields; "" = none
  // List-specific filters, already validated by the caller ("status" → "active").
  std::vector<std::pair<std::string, std::string>> filters;
};

template <typename T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;
};

// The sort keys each list accepts (the API validates `sort` against these).
extern const std::vector<std::string_view> kClientSortKeys;
extern const std::vector<std::string_view> kSiteSortKeys;
extern const std::vector<std::string_view> kContactSortKeys;
extern const std::vector<std::string_view> kUserSortKeys;
extern const std::vector<std::string_view> kTokenSortKeys;
extern const std::vector<std::string_view> kAuditSortKeys;

// What sign-in needs about a user, secrets included. Never leaves the server.
struct UserCredentials {
  domain::User user;
  std::string password_hash;
  std::optional<std::string> totp_secret;  // base32
  int64_t totp_last_step = 0;
};

struct SessionRecord {
  SessionId id{};
  UserId user_id{};
  std::string csrf_token;
  TimePoint expires_at;
  TimePoint last_seen_at;
  TimePoint created_at;
};

struct TokenRecord {
  domain::ApiToken token;
  domain::User user;
};

class AccountsRepo {
 public:
  explicit AccountsRepo(Database& db) : db_(db) {}

  // --- settings
  Result<std::optional<std::string>> GetSetting(const std::string& key);
  Status SetSetting(const std::string& key, const std::string& value, const AuditContext& audit);

  // --- clients. Errors: kAlreadyExists for a duplicate name (case-insensitive).
  Result<domain::Client> CreateClient(domain::Client client, const AuditContext& audit);
  Result<domain::Client> GetClient(ClientId id, ClientScope scope);
  Result<Page<domain::Client>> ListClients(const ListQuery& q, ClientScope scope);
  // Loads, applies `mutate` (which may refuse with a Status), saves and audits, atomically.
  Result<domain::Client> UpdateClient(ClientId id, ClientScope scope,
                                      const std::function<Status(domain::Client&)>& mutate,
                                      const AuditContext& audit);

  // --- sites. Errors: kNotFound when the client is outside the scope; kAlreadyExists for a
  // duplicate name within the client.
  Result<domain::Site> CreateSite(domain::Site site, ClientScope scope, const AuditContext& audit);
  Result<domain::Site> GetSite(SiteId id, ClientScope scope);
  Result<Page<domain::Site>> ListSites(ClientId client, const ListQuery& q, ClientScope scope);
  Result<domain::Site> UpdateSite(SiteId id, ClientScope scope,
                                  const std::function<Status(domain::Site&)>& mutate,
                                  const AuditContext& audit);
  // Errors: kFailedPrecondition while contacts still refer to the site.
  Status DeleteSite(SiteId id, ClientScope scope, const AuditContext& audit);

  // --- contacts. A contact's site must belong to the contact's client (kInvalidArgument).
  Result<domain::Contact> CreateContact(domain::Contact contact, ClientScope scope,
                                        const AuditContext& audit);
  Result<domain::Contact> GetContact(ContactId id, ClientScope scope);
  Result<Page<domain::Contact>> ListContacts(ClientId client, const ListQuery& q,
                                             ClientScope scope);
  Result<domain::Contact> UpdateContact(ContactId id, ClientScope scope,
                                        const std::function<Status(domain::Contact&)>& mutate,
                                        const AuditContext& audit);
  Status DeleteContact(ContactId id, ClientScope scope, const AuditContext& audit);

  // --- users. Errors: kAlreadyExists for a duplicate e-mail.
  Result<domain::User> CreateUser(domain::User user, const std::string& password_hash,
                                  const AuditContext& audit);
  Result<domain::User> GetUser(UserId id, ClientScope scope);
  Result<Page<domain::User>> ListUsers(const ListQuery& q, ClientScope scope);
  Result<domain::User> UpdateUser(UserId id, ClientScope scope,
                                  const std::function<Status(domain::User&)>& mutate,
                                  const AuditContext& audit);
  Result<int64_t> CountUsers();
  // Active (not disabled) owners.
  Result<int64_t> CountActiveOwners();
  Result<UserCredentials> GetCredentialsByEmail(const std::string& email_lower);
  Result<UserCredentials> GetCredentials(UserId id);
  // Also ends every session of the user except `keep_session` (a changed password logs out others).
  Status SetPassword(UserId id, const std::string& password_hash,
                     std::optional<SessionId> keep_session, const AuditContext& audit);
  Status RecordLogin(UserId id, TimePoint now);

  // --- TOTP
  // Stores a new, not yet enabled secret (replacing a pending one).
  Status SetPendingTotp(UserId id, const std::string& secret_base32);
  // Enables TOTP with `secret_base32` (refused with kFailedPrecondition unless it is still the
  // pending secret and TOTP is off), records `step` as used, replaces the recovery codes with
  // `code_hashes`, and ends every other session of the user.
  Status EnableTotp(UserId id, const std::string& secret_base32, int64_t step,
                    const std::vector<std::string>& code_hashes,
                    std::optional<SessionId> keep_session, const AuditContext& audit);
  Status DisableTotp(UserId id, const AuditContext& audit);
  // Records `step` as used when it is newer than the last used one. False: a replay.
  Result<bool> ConsumeTotpStep(UserId id, int64_t step);
  // Marks an unused recovery code as used. False when no such unused code exists.
  Result<bool> ConsumeRecoveryCode(UserId id, const std::string& code_hash, TimePoint now);
  Result<int64_t> CountUnusedRecoveryCodes(UserId id);

  // --- sessions
  Result<SessionId> CreateSession(UserId user, const std::string& token_hash,
                                  const std::string& csrf_token, TimePoint now,
                                  TimePoint expires_at, const std::string& remote_address);
  // The live session with this token hash (not expired at `now`), or kNotFound.
  Result<SessionRecord> FindSession(const std::string& token_hash, TimePoint now);
  // Slides the expiry forward.
  Status TouchSession(SessionId id, TimePoint now, TimePoint expires_at);
  Status DeleteSession(SessionId id);
  Status DeleteUserSessions(UserId user);
  Result<int64_t> DeleteExpiredSessions(TimePoint now);

  // --- API tokens
  Result<domain::ApiToken> CreateToken(domain::ApiToken token, const std::string& token_hash,
                                       const AuditContext& audit);
  // A live token (not revoked, not expired) and its enabled user, or kNotFound.
  Result<TokenRecord> FindToken(const std::string& token_hash, TimePoint now);
  Result<domain::ApiToken> GetToken(TokenId id);
  // Tokens of `user`, or of every user when nullopt.
  Result<Page<domain::ApiToken>> ListTokens(std::optional<UserId> user, const ListQuery& q);
  Status RevokeToken(TokenId id, const AuditContext& audit);
  Status TouchToken(TokenId id, TimePoint now);

  // --- audit
  // Appends an entry of its own (for events that change no other row: sign-in, failed sign-in).
  Status Audit(const std::string& action, const std::string& entity_type,
               std::optional<int64_t> entity_id, std::optional<ClientId> client,
               const AuditContext& audit);
  Result<Page<domain::AuditEntry>> ListAudit(const ListQuery& q);

 private:
  Database& db_;
};

}  // namespace vigil::storage
