#include "cli/terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace vigil::cli {
namespace {

constexpr size_t kMaxSecretBytes = 64 << 10;

// State for restoring the terminal when a signal arrives during a silent prompt.
int g_tty_fd = -1;
struct termios g_saved_mode;

extern "C" void RestoreTerminalAndDie(int sig) {
  if (g_tty_fd >= 0) {
    ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved_mode);
    (void)!::write(g_tty_fd, "\n", 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void StripNewline(std::string& s) {
  if (!s.empty() && s.back() == '\n') {
    s.pop_back();
    if (!s.empty() && s.back() == '\r') {
      s.pop_back();
    }
  }
}

// Reads up to a newline from `fd`, one byte at a time (so nothing past the line is consumed).
Result<std::string> ReadLine(int fd) {
  std::string line;
  while (line.size() < kMaxSecretBytes) {
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Unavailable(std::string("cannot read from the terminal: ") + std::strerror(errno));
    }
    if (n == 0 || c == '\n') {
      break;
    }
    line += c;
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

Result<std::string> Prompt(const std::string& prompt, bool echo) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Unavailable("no terminal to ask on");
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  struct termios mode;
  bool restore = false;
  if (!echo && ::tcgetattr(fd, &mode) == 0) {
    g_saved_mode = mode;
    g_tty_fd = fd;
    std::signal(SIGINT, RestoreTerminalAndDie);
    std::signal(SIGTERM, RestoreTerminalAndDie);
    std::signal(SIGHUP, RestoreTerminalAndDie);
    mode.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    mode.c_lflag |= ECHONL;
    restore = ::tcsetattr(fd, TCSAFLUSH, &mode) == 0;
  }
  auto line = ReadLine(fd);
  if (restore) {
    ::tcsetattr(fd, TCSAFLUSH, &g_saved_mode);
  }
  if (!echo) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGHUP, SIG_DFL);
    g_tty_fd = -1;
  }
  ::close(fd);
  if (line && line->empty()) {
    return InvalidArgument("nothing was entered");
  }
  return line;
}

}  // namespace

Result<std::string> ReadSecretFromStdin() {
  std::string data;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Unavailable(std::string("cannot read stdin: ") + std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxSecretBytes) {
      return InvalidArgument("stdin holds more than 64 KiB; expected one password");
    }
  }
  StripNewline(data);
  if (data.empty()) {
    return InvalidArgument("stdin is empty; expected the password");
  }
  return data;
}

bool HaveTerminal() {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

Result<std::string> PromptSecret(const std::string& prompt) { return Prompt(prompt, false); }

Result<std::string> PromptLine(const std::string& prompt) { return Prompt(prompt, true); }

}  // namespace vigil::cli
