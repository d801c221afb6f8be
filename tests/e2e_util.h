#pragma once

// Helpers of the end-to-end tests: the programs started as processes, as a user runs them.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace vigil::testing {

namespace fs = std::filesystem;
using nlohmann::json;

inline constexpr const char* kPassword = "correct horse battery staple";

// Runs a shell command, returns its exit code and standard output.
inline std::pair<int, std::string> Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    return {-1, ""};
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) {
    out.append(buf.data(), n);
  }
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class Vigild {
 public:
  // Starts vigild on `listen` ("127.0.0.1:0": a free port) with its store in `data`.
  explicit Vigild(const fs::path& data, const std::string& listen = "127.0.0.1:0") : data_(data) {
    fs::create_directories(data);
    log_ = data / "vigild.log";
    pid_ = fork();
    if (pid_ == 0) {
      setenv("VIGIL_OWNER_PASSWORD", kPassword, 1);
      FILE* f = std::fopen(log_.c_str(), "w");
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
      execl(VIGILD_PATH, VIGILD_PATH, "--listen", listen.c_str(), "--data", data.c_str(),
            "--log-format", "json", "--insecure-fast-password-hashing", nullptr);
      _exit(127);
    }
    // Wait for the "listening on" line.
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(log_);
      std::string line;
      while (std::getline(in, line)) {
        auto at = line.find("vigild: listening on 127.0.0.1:");
        if (at != std::string::npos) {
          port_ = std::stoi(line.substr(at + 31));
        }
      }
    }
  }
  ~Vigild() { Stop(); }

  // SIGTERM; returns the exit status.
  int Stop() {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // SIGKILL: no chance to finish anything.
  void Kill() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  fs::path data_, log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    dir_ = fs::temp_directory_path() /
           ("vigil-e2e-" + crypto::Sha256Hex(crypto::RandomToken()).substr(0, 10));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Cli(const std::string& args) const {
    return std::string(VIGIL_CLI_PATH) + " --config " + (dir_ / "cli.json").string() + " " + args;
  }
  fs::path dir_;
};

}  // namespace vigil::testing
