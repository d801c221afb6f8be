#include "agent/collect/tool_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace vigil::agent {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kSearchPath = "/usr/sbin:/usr/bin:/sbin:/bin";
constexpr auto kKillGrace = std::chrono::milliseconds(1000);
// After the program exited, how long output still held open by a killed descendant is drained.
constexpr auto kDrainGrace = std::chrono::milliseconds(500);

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The absolute path of argv[0]: as given when it holds a '/', else searched in kSearchPath.
Result<std::string> ResolveProgram(const std::string& program) {
  if (program.empty()) {
    return NotFound("no program given");
  }
  if (program.find('/') != std::string::npos) {
    if (!IsExecutableFile(program)) {
      return NotFound(program + " does not exist or is not executable");
    }
    return program;
  }
  std::string_view dirs = kSearchPath;
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + program;
    if (IsExecutableFile(candidate)) {
      return candidate;
    }
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return NotFound(program + " is not installed (not found in " + std::string(kSearchPath) + ")");
}

std::vector<std::string> BuildEnvironment(const ToolRequest& request) {
  const char* home = std::getenv("HOME");  // NOLINT(concurrency-mt-unsafe): read-only use
  std::vector<std::pair<std::string, std::string>> vars = {
      {"PATH", std::string(kSearchPath)},
      {"LANG", "C"},
      {"HOME", home != nullptr && home[0] == '/' ? home : "/root"}};
  for (const auto& var : request.env) {
    auto it =
        std::find_if(vars.begin(), vars.end(), [&](const auto& p) { return p.first == var.first; });
    if (it != vars.end()) {
      it->second = var.second;
    } else {
      vars.push_back(var);
    }
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [k, v] : vars) {
    out.push_back(k + "=" + v);
  }
  return out;
}

// Closes every descriptor from `low` up, except `keep`. Async-signal-safe.
void CloseFrom(int low, int keep, int max_fd) {
#ifdef SYS_close_range
  if (keep > low) {
    if (::syscall(SYS_close_range, static_cast<unsigned>(low), static_cast<unsigned>(keep - 1),
                  0) != 0) {
      for (int fd = low; fd < keep; ++fd) {
        ::close(fd);
      }
    }
  }
  if (::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0) == 0) {
    return;
  }
#endif
  for (int fd = low; fd <= max_fd; ++fd) {
    if (fd != keep) {
      ::close(fd);
    }
  }
}

// In the child, after fork(): only async-signal-safe calls. Never returns.
[[noreturn]] void ExecChild(const char* path, char* const argv[], char* const envp[], int out_w,
                            int err_w, int fail_w, int max_fd) {
  ::setpgid(0, 0);
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2}) {
    ::signal(sig, SIG_DFL);
  }
  int devnull = ::open("/dev/null", O_RDONLY);
  bool ok =
      devnull >= 0 && ::dup2(devnull, 0) == 0 && ::dup2(out_w, 1) == 1 && ::dup2(err_w, 2) == 2;
  if (ok) {
    CloseFrom(3, fail_w, max_fd);
    ::execve(path, argv, envp);
  }
  int err = errno;
  ssize_t n = ::write(fail_w, &err, sizeof err);
  (void)n;
  ::_exit(127);
}

// Reads what is available on `fd` into `sink` (up to `max` bytes, the rest discarded).
// Returns false at EOF or on a hard error.
bool Drain(int fd, std::string& sink, size_t max, bool& truncated) {
  std::array<char, 65536> buf;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      size_t room = sink.size() < max ? max - sink.size() : 0;
      size_t take = std::min(room, static_cast<size_t>(n));
      sink.append(buf.data(), take);
      if (take < static_cast<size_t>(n)) {
        truncated = true;
      }
      continue;
    }
    if (n == 0) {
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// True once `pid` has exited (left as a zombie, not reaped, so its id cannot be reused while
// its process group is signalled).
bool HasExited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  return info.si_pid == pid;
}

class ProcessRunner final : public ToolRunner {
 public:
  Result<ToolOutput> Run(const ToolRequest& request) const override {
    if (request.argv.empty()) {
      return NotFound("no program given");
    }
    VIGIL_ASSIGN_OR_RETURN(std::string path, ResolveProgram(request.argv[0]));

    // Everything the child needs is prepared before fork(): it may not allocate.
    std::vector<std::string> env = BuildEnvironment(request);
    std::vector<char*> argv_p;
    for (const std::string& a : request.argv) {
      argv_p.push_back(const_cast<char*>(a.c_str()));
    }
    argv_p.push_back(nullptr);
    std::vector<char*> env_p;
    for (const std::string& e : env) {
      env_p.push_back(const_cast<char*>(e.c_str()));
    }
    env_p.push_back(nullptr);
    struct rlimit rl {};
    int max_fd = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                     ? static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 20))
                     : 65536;

    int out_p[2], err_p[2], fail_p[2];
    if (::pipe2(out_p, O_CLOEXEC) != 0) {
      return Unavailable(std::string("pipe: ") + std::strerror(errno));
    }
    Fd out_r(out_p[0]), out_w(out_p[1]);
    if (::pipe2(err_p, O_CLOEXEC) != 0) {
      return Unavailable(std::string("pipe: ") + std::strerror(errno));
    }
    Fd err_r(err_p[0]), err_w(err_p[1]);
    if (::pipe2(fail_p, O_CLOEXEC) != 0) {
      return Unavailable(std::string("pipe: ") + std::strerror(errno));
    }
    Fd fail_r(fail_p[0]), fail_w(fail_p[1]);

    const auto start = Clock::now();
    pid_t pid = ::fork();
    if (pid < 0) {
      return Unavailable(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ExecChild(path.c_str(), argv_p.data(), env_p.data(), out_w.get(), err_w.get(), fail_w.get(),
                max_fd);
    }
    ::setpgid(pid, pid);  // also done by the child; whichever runs first wins the race
    out_w.Close();
    err_w.Close();
    fail_w.Close();

    // The exec-failure pipe: EOF when execve succeeded (close-on-exec), an errno otherwise.
    int child_errno = 0;
    ssize_t n;
    do {
      n = ::read(fail_r.get(), &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof child_errno) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (child_errno == ENOENT || child_errno == EACCES || child_errno == ENOEXEC ||
          child_errno == ENOTDIR) {
        return NotFound(request.argv[0] + " cannot be executed: " + std::strerror(child_errno));
      }
      return Unavailable(request.argv[0] + " cannot be started: " + std::strerror(child_errno));
    }

    ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);

    ToolOutput result;
    const auto deadline = start + request.timeout;
    auto drain_until = Clock::time_point::max();  // set once the program has exited
    auto kill_at = Clock::time_point::max();      // SIGKILL after SIGTERM's grace
    bool exited = false;
    Fd* fds[2] = {&out_r, &err_r};
    std::string* sinks[2] = {&result.out, &result.err};

    for (;;) {
      if (!exited && HasExited(pid)) {
        exited = true;
        // Descendants left behind (a daemonized grandchild holding stdout) go with the program.
        ::kill(-pid, SIGKILL);
        drain_until = Clock::now() + kDrainGrace;
      }
      bool open = out_r.get() >= 0 || err_r.get() >= 0;
      auto now = Clock::now();
      if (exited && (!open || now >= drain_until)) {
        break;
      }
      if (!exited && now >= deadline && !result.timed_out) {
        result.timed_out = true;
        ::kill(-pid, SIGTERM);
        kill_at = now + kKillGrace;
      }
      if (!exited && now >= kill_at) {
        ::kill(-pid, SIGKILL);
        kill_at = Clock::time_point::max();
      }
      auto wake =
          std::min({result.timed_out ? Clock::time_point::max() : deadline, kill_at, drain_until});
      auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
      // Wake at least every 50 ms to notice the program's exit while its output stays open.
      int timeout_ms = static_cast<int>(std::clamp<int64_t>(wait_ms, 0, 50));
      pollfd pfds[2];
      nfds_t count = 0;
      int which[2];
      for (int i = 0; i < 2; ++i) {
        if (fds[i]->get() >= 0) {
          pfds[count] = {fds[i]->get(), POLLIN, 0};
          which[count++] = i;
        }
      }
      int ready = ::poll(count > 0 ? pfds : nullptr, count, timeout_ms);
      if (ready < 0 && errno != EINTR) {
        break;
      }
      for (nfds_t k = 0; ready > 0 && k < count; ++k) {
        if (pfds[k].revents != 0) {
          int i = which[k];
          if (!Drain(fds[i]->get(), *sinks[i], request.max_output_bytes, result.truncated)) {
            fds[i]->Close();
          }
        }
      }
    }

    // Always reap; the group is killed first so nothing is left running.
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }
};

}  // namespace

std::unique_ptr<ToolRunner> MakeProcessRunner() { return std::make_unique<ProcessRunner>(); }

}  // namespace vigil::agent
