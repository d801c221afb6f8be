#include "agent/spool/file_system.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace vigil::agent {
namespace {

Status IoError(std::string_view what, const std::string& path, int err) {
  return Unavailable(std::string(what) + " " + path + ": " + std::strerror(err));
}

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  // Closes now and reports close(2)'s error (which may be a deferred write error).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status SyncPath(const std::string& path, int flags, std::string_view what) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd.get() < 0) {
    return IoError(what, path, errno);
  }
  if (::fsync(fd.get()) != 0) {
    return IoError(what, path, errno);
  }
  return Status::Ok();
}

}  // namespace

Status FileSystem::WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string tmp = path + std::string(kTempSuffix);
  Status s = WriteFile(tmp, data);
  if (s.ok()) {
    s = SyncFile(tmp);
  }
  if (s.ok()) {
    s = Rename(tmp, path);
  }
  if (!s.ok()) {
    (void)Remove(tmp);
    return s;
  }
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return SyncDir(dir.empty() ? "/" : dir);
}

Status RealFileSystem::CreateDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Unavailable("create directory " + path + ": " + ec.message());
  }
  if (!std::filesystem::is_directory(path, ec)) {
    return Unavailable("create directory " + path + ": not a directory");
  }
  return Status::Ok();
}

Status RealFileSystem::WriteFile(const std::string& path, std::string_view data) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    return IoError("open", path, errno);
  }
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return IoError("write", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fd.Close() != 0) {
    return IoError("close", path, errno);
  }
  return Status::Ok();
}

Status RealFileSystem::SyncFile(const std::string& path) {
  return SyncPath(path, O_RDONLY, "fsync");
}

Status RealFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return IoError("rename", from + " -> " + to, errno);
  }
  return Status::Ok();
}

Status RealFileSystem::SyncDir(const std::string& path) {
  return SyncPath(path, O_RDONLY | O_DIRECTORY, "fsync directory");
}

Result<std::string> RealFileSystem::ReadFile(const std::string& path, uint64_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return NotFound("no file " + path);
    }
    return IoError("open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return IoError("stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Unavailable("not a regular file: " + path);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return ResourceExhausted("file too large: " + path);
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return IoError("read", path, errno);
    }
    if (n == 0) {
      break;  // shrank meanwhile
    }
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<std::vector<DirEntry>> RealFileSystem::ListDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::directory_iterator it(path, ec);
  if (ec) {
    return Unavailable("list " + path + ": " + ec.message());
  }
  std::vector<DirEntry> out;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) {
      return Unavailable("list " + path + ": " + ec.message());
    }
    DirEntry e;
    e.name = it->path().filename().string();
    std::error_code type_ec;
    // symlink_status: a symlink is kOther, never followed.
    const auto st = it->symlink_status(type_ec);
    if (!type_ec && std::filesystem::is_regular_file(st)) {
      e.type = DirEntry::Type::kFile;
      std::error_code size_ec;
      const auto size = it->file_size(size_ec);
      e.size = size_ec ? 0 : size;
    } else if (!type_ec && std::filesystem::is_directory(st)) {
      e.type = DirEntry::Type::kDirectory;
    }
    out.push_back(std::move(e));
  }
  if (ec) {
    return Unavailable("list " + path + ": " + ec.message());
  }
  return out;
}

Status RealFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return IoError("remove", path, errno);
  }
  return Status::Ok();
}

std::string_view FsOpName(FsOp op) {
  switch (op) {
    case FsOp::kCreateDir:
      return "create_dir";
    case FsOp::kWriteFile:
      return "write_file";
    case FsOp::kSyncFile:
      return "sync_file";
    case FsOp::kRename:
      return "rename";
    case FsOp::kSyncDir:
      return "sync_dir";
    case FsOp::kReadFile:
      return "read_file";
    case FsOp::kListDir:
      return "list_dir";
    case FsOp::kRemove:
      return "remove";
  }
  return "unknown";
}

Status FaultyFileSystem::Inject(FsOp op, const std::string& path) {
  ++calls_;
  const bool nth = fail_at_call_ != 0 && calls_ == fail_at_call_;
  if (nth || (failing_ops_ & Bit(op)) != 0) {
    ++injected_failures_;
    return Unavailable("injected fault: " + std::string(FsOpName(op)) + " " + path);
  }
  return Status::Ok();
}

Status FaultyFileSystem::CreateDir(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kCreateDir, path));
  return base_.CreateDir(path);
}

Status FaultyFileSystem::WriteFile(const std::string& path, std::string_view data) {
  Status s = Inject(FsOp::kWriteFile, path);
  if (!s.ok()) {
    (void)base_.WriteFile(path, data.substr(0, data.size() / 2));  // a torn write
    return s;
  }
  return base_.WriteFile(path, data);
}

Status FaultyFileSystem::SyncFile(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kSyncFile, path));
  return base_.SyncFile(path);
}

Status FaultyFileSystem::Rename(const std::string& from, const std::string& to) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kRename, from));
  VIGIL_RETURN_IF_ERROR(base_.Rename(from, to));
  last_written_ = to;
  return Status::Ok();
}

Status FaultyFileSystem::SyncDir(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kSyncDir, path));
  return base_.SyncDir(path);
}

Result<std::string> FaultyFileSystem::ReadFile(const std::string& path, uint64_t max_bytes) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kReadFile, path));
  return base_.ReadFile(path, max_bytes);
}

Result<std::vector<DirEntry>> FaultyFileSystem::ListDir(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kListDir, path));
  return base_.ListDir(path);
}

Status FaultyFileSystem::Remove(const std::string& path) {
  VIGIL_RETURN_IF_ERROR(Inject(FsOp::kRemove, path));
  return base_.Remove(path);
}

Status FaultyFileSystem::TruncateLastWritten(uint64_t keep_bytes) {
  if (last_written_.empty()) {
    return FailedPrecondition("nothing written yet");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string data, base_.ReadFile(last_written_, UINT64_MAX));
  data.resize(std::min<uint64_t>(keep_bytes, data.size()));
  return base_.WriteFile(last_written_, data);
}

Status FaultyFileSystem::CorruptLastWritten(uint64_t offset) {
  if (last_written_.empty()) {
    return FailedPrecondition("nothing written yet");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string data, base_.ReadFile(last_written_, UINT64_MAX));
  if (data.empty()) {
    return FailedPrecondition("empty file");
  }
  data[std::min<uint64_t>(offset, data.size() - 1)] ^= static_cast<char>(0xFF);
  return base_.WriteFile(last_written_, data);
}

}  // namespace vigil::agent
