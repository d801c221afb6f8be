// OpenDatabase: picks the engine from the URL, opens it and migrates it to Schema().
//
// Accepted forms:
//   sqlite:///abs/path/vigil.db   absolute path (three slashes)
//   sqlite:relative/or/abs.db     the rest is the path, as given
//   /path/vigil.db, vigil.db      a plain path (one without a "scheme:" prefix) is SQLite
//   postgresql://... postgres://...  passed to libpq unchanged
// Anything else that starts with a URL scheme ("mysql://x", "file:x.db") is kInvalidArgument; to
// open a SQLite file whose name contains ':' write "sqlite:name:with:colons.db" or "./name:x.db".

#include <cctype>
#include <string>
#include <string_view>

#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/postgres/postgres_database.h"
#include "storage/sqlite/sqlite_database.h"

namespace vigil::storage {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The "scheme" of "scheme:rest" per RFC 3986 (letter, then letters, digits, + - .), or "".
std::string_view SchemeOf(std::string_view url) {
  if (url.empty() || std::isalpha(static_cast<unsigned char>(url[0])) == 0) {
    return {};
  }
  for (size_t i = 1; i < url.size(); ++i) {
    const char c = url[i];
    if (c == ':') {
      return url.substr(0, i);
    }
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') {
      return {};
    }
  }
  return {};
}

Result<std::unique_ptr<Database>> OpenEngine(const std::string& url, const OpenOptions& options) {
  if (url.empty()) {
    return InvalidArgument("empty database URL");
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<PostgresDatabase> db,
                           PostgresDatabase::Open(url, options));
    return std::unique_ptr<Database>(std::move(db));
  }
  std::string path;
  const std::string_view scheme = SchemeOf(url);
  if (scheme.empty()) {
    path = url;
  } else if (scheme == "sqlite") {
    std::string_view rest = std::string_view(url).substr(scheme.size() + 1);
    if (StartsWith(rest, "//")) {
      rest.remove_prefix(2);
      if (!StartsWith(rest, "/")) {
        return InvalidArgument("a sqlite:// URL needs an absolute path (sqlite:///abs/path.db); " +
                               std::string("for a relative path write sqlite:relative/path.db"));
      }
    }
    path = std::string(rest);
  } else {
    return InvalidArgument("unknown database URL scheme '" + std::string(scheme) +
                           "'; use sqlite:///abs/path.db, sqlite:rel/path.db, a file path or "
                           "postgresql://user@host:port/db");
  }
  if (path.empty()) {
    return InvalidArgument("database URL '" + url + "' has no path");
  }
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDatabase> db, SqliteDatabase::Open(path, options));
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace

Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url, const OpenOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenEngine(url, options));
  VIGIL_RETURN_IF_ERROR(Migrate(*db, Schema()));
  return db;
}

}  // namespace vigil::storage
