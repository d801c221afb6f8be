#pragma once

// OwnerApp: a real App on a fresh SQLite store in a temporary folder, with an owner and a write
// API token for it. For benchmarks and fuzz harnesses that drive the request pipeline without
// sockets. Test-only: fast password hashing, the folder is removed on destruction.

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "net/http.h"
#include "server/app.h"

namespace vigil::testing {

class OwnerApp {
 public:
  // `name` goes into the temporary folder's name ("bench", "fuzz").
  OwnerApp(const std::string& name, const Clock& clock);
  ~OwnerApp();
  OwnerApp(const OwnerApp&) = delete;
  OwnerApp& operator=(const OwnerApp&) = delete;

  // A request as the owner's token, with a JSON content type. `target` may carry a query.
  net::HttpRequest Request(const std::string& method, const std::string& target,
                           std::string body = "") const;
  net::HttpResponse Handle(const net::HttpRequest& req) { return app_->Handle(req); }

  server::App& app() { return *app_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<server::App> app_;
  std::string token_;
};

}  // namespace vigil::testing
