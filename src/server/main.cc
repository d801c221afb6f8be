// vigild: the Vigil server. Wires the store, the API and the HTTP server together.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <filesystem>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/version.h"
#include "net/http.h"
#include "server/app.h"
#include "storage/database.h"

namespace {

std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "vigild: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"vigild: the Vigil server (RMM + PSA for managed service providers)"};
  cli.set_version_flag("--version", std::string("vigild ") + vigil::kVersion);
  cli.set_config("--config", "", "read options from this INI/TOML file (keys as long options)");

  std::string listen = "127.0.0.1:8080";
  std::string data_dir = EnvOr("VIGIL_DATA", ".vigil");
  std::string store_url = EnvOr("VIGIL_STORE", "");
  std::string tls_cert, tls_key;
  std::string log_format = "text";
  std::string log_level = "info";
  std::string owner_email = EnvOr("VIGIL_OWNER_EMAIL", "owner@vigil.localhost");
  std::string backup_to;
  int io_threads = 2;
  int workers = 8;
  size_t max_body = 1 << 20;
  bool fast_hash = false;
  std::string local_agent_token;
  std::string web_root = EnvOr("VIGIL_WEB", "");

  cli.add_option("--listen", listen, "address and port to listen on (port 0: any free port)")
      ->capture_default_str();
  cli.add_option("--data", data_dir, "data folder (SQLite store, backups); env VIGIL_DATA")
      ->capture_default_str();
  cli.add_option("--store", store_url,
                 "store URL: sqlite:///path/vigil.db or postgresql://user@host:port/db; "
                 "default: SQLite in the data folder; env VIGIL_STORE");
  cli.add_option("--web", web_root,
                 "folder of the web console's files (web/dist), served at /; env VIGIL_WEB");
  cli.add_option("--tls-cert", tls_cert, "PEM certificate chain; serve HTTPS");
  cli.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
  cli.add_option("--log-format", log_format, "text or json (one JSON object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  cli.add_option("--owner-email", owner_email,
                 "e-mail of the first owner, created on first start; env VIGIL_OWNER_EMAIL "
                 "(password from VIGIL_OWNER_PASSWORD, else generated and printed once)")
      ->capture_default_str();
  cli.add_option("--io-threads", io_threads, "network threads")->check(CLI::Range(1, 64));
  cli.add_option("--workers", workers, "request worker threads")->check(CLI::Range(1, 256));
  cli.add_option("--max-body", max_body, "largest request body in bytes")
      ->check(CLI::Range(1024, 64 << 20));
  cli.add_option("--backup", backup_to,
                 "write a consistent copy of the SQLite store to this file and exit "
                 "(safe while another vigild serves it)");
  cli.add_option("--local-agent-token", local_agent_token,
                 "write a one-use enrollment token for an agent on this machine to this file "
                 "(mode 0600; client \"Internal IT\")");
  cli.add_flag("--insecure-fast-password-hashing", fast_hash,
               "use Argon2id's minimum cost (tests only)")
      ->group("");
  CLI11_PARSE(cli, argc, argv);

  vigil::log::Init(log_format == "json" ? vigil::log::Format::kJson : vigil::log::Format::kText,
                   spdlog::level::from_str(log_level));

  // Signals are handled by one thread with sigwait; block them everywhere else first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (!backup_to.empty()) {
    std::string file = std::filesystem::absolute(data_dir + "/vigil.db").string();
    if (store_url.empty() && !std::filesystem::exists(file)) {
      return Fail("no Vigil store at " + file + " to back up");
    }
    std::string url = store_url.empty() ? "sqlite://" + file : store_url;
    auto db = vigil::storage::OpenDatabase(url);
    if (!db) {
      return Fail(db.error().ToString());
    }
    vigil::Status st = (*db)->Backup(backup_to);
    if (!st.ok()) {
      return Fail("backup failed: " + st.ToString());
    }
    std::printf("vigild: wrote a consistent copy of the store to %s\n", backup_to.c_str());
    return 0;
  }

  vigil::SystemClock clock;
  vigil::server::AppOptions options;
  options.store_url = store_url;
  options.data_dir = data_dir;
  options.max_body_bytes = max_body;
  options.web_root = web_root;
  if (fast_hash) {
    options.auth.password_cost = vigil::crypto::PasswordCost::kMinimum;
  }
  auto app = vigil::server::App::Create(options, clock);
  if (!app) {
    return Fail(app.error().ToString());
  }

  auto owner = (*app)->EnsureOwner(owner_email, EnvOr("VIGIL_OWNER_PASSWORD", ""));
  if (!owner) {
    return Fail("cannot create the first owner: " + owner.error().ToString());
  }
  if (owner->has_value()) {
    std::printf(
        "\n  First start: created the owner account.\n    e-mail:   %s\n    password: %s\n"
        "  This password is shown only once. Sign in and change it.\n\n",
        owner_email.c_str(), (*owner)->c_str());
    std::fflush(stdout);
  }

  if (!local_agent_token.empty()) {
    auto token = (*app)->IssueLocalEnrollmentToken();
    if (!token) {
      return Fail("cannot issue the local agent's enrollment token: " + token.error().ToString());
    }
    int fd = ::open(local_agent_token.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::fchmod(fd, 0600) != 0 ||
        ::write(fd, token->data(), token->size()) != static_cast<ssize_t>(token->size())) {
      return Fail("cannot write " + local_agent_token);
    }
    ::close(fd);
  }

  vigil::net::ServerOptions server_options;
  server_options.listen = listen;
  server_options.io_threads = io_threads;
  server_options.worker_threads = workers;
  // Agent batches may be 4 MiB; the App holds every other route to --max-body.
  server_options.max_body_bytes = std::max<size_t>(max_body, (4 << 20) + 8192);
  server_options.tls_cert_file = tls_cert;
  server_options.tls_key_file = tls_key;
  vigil::server::App* a = app->get();
  auto server = vigil::net::HttpServer::Create(
      server_options, [a](const vigil::net::HttpRequest& req) { return a->Handle(req); },
      [a](const vigil::net::HttpRequest* req, vigil::net::HttpResponse& resp) {
        a->Decorate(req, resp);
      },
      [a](const vigil::net::HttpRequest& req) { return a->Upgrade(req); });
  if (!server) {
    return Fail(server.error().ToString());
  }

  std::string host = listen.substr(0, listen.rfind(':'));
  vigil::log::Write(spdlog::level::info, "vigild listening",
                    {{"address", fmt::format("{}://{}:{}", tls_cert.empty() ? "http" : "https",
                                             host, (*server)->port())},
                     {"version", vigil::kVersion}});
  // Machine-readable line for scripts that start vigild on port 0.
  std::printf("vigild: listening on %s:%u\n", host.c_str(), (*server)->port());
  std::fflush(stdout);

  vigil::net::HttpServer* srv = server->get();
  std::thread signal_thread([srv, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    vigil::log::Write(spdlog::level::info, "shutting down", {{"signal", std::to_string(sig)}});
    srv->Shutdown();
  });
  signal_thread.detach();

  // History roll-ups and retention, every few minutes, off the request path.
  std::jthread maintenance([a](const std::stop_token& stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    while (!stop.stop_requested()) {
      auto report = a->RunMaintenance();
      if (!report) {
        vigil::log::Write(spdlog::level::warn, "maintenance failed",
                          {{"error", report.error().ToString()}});
      }
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, std::chrono::minutes(5), [] { return false; });
    }
  });

  srv->Run();
  maintenance.request_stop();
  maintenance.join();
  vigil::log::Write(spdlog::level::info, "vigild stopped");
  return 0;
}
