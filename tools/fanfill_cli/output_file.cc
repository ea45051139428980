#include "tools/fanfill_cli/output_file.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "tools/fanfill_cli/formats.h"

namespace fanfill::cli {
namespace {

// The temporary file the signal handler removes: a fixed buffer (the handler
// may only make async-signal-safe calls, so it cannot touch a std::string)
// and its state. The cleanup signals are blocked only in the thread that
// creates or removes the file; a process-directed signal can still run the
// handler on a oneTBB or OpenBLAS worker thread meanwhile, so "being created"
// is a state of its own that the handler waits out (lock-free atomics are
// async-signal-safe).
enum TempState : int { kNoTemp = 0, kTempArmed = 1, kTempCreating = 2 };
char g_temp_path[PATH_MAX];
std::atomic<int> g_temp_state{kNoTemp};
static_assert(std::atomic<int>::is_always_lock_free);
mode_t g_umask = 022;

constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void RemoveTempAndReraise(int sig) {
  int state;
  while ((state = g_temp_state.load()) == kTempCreating) {
  }
  if (state == kTempArmed) unlink(g_temp_path);
  signal(sig, SIG_DFL);
  raise(sig);
}

// Blocks the cleanup signals while the armed path and the file disagree.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kCleanupSignals) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

std::runtime_error SystemError(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::atomic<bool> g_file_open{false};

}  // namespace

void OutputFile::InstallSignalCleanup() {
  g_umask = umask(0);
  umask(g_umask);
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = RemoveTempAndReraise;
  sigemptyset(&action.sa_mask);
  for (int sig : kCleanupSignals) {
    struct sigaction old;
    // A signal ignored by our parent (nohup, background jobs) stays ignored.
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sig, &action, nullptr);
  }
  // Past a file-size limit, write errors are reported like any other.
  signal(SIGXFSZ, SIG_IGN);
}

void OutputFile::CheckCreatable(const std::string& path, bool overwrite) {
  if (path.empty()) throw std::runtime_error("the output path is empty");
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw std::runtime_error("'" + path + "' is a directory");
    if (!overwrite) {
      throw std::runtime_error("'" + path + "' exists (use --force to overwrite it)");
    }
  }
  const std::string dir = DirectoryOf(path);
  if (stat(dir.c_str(), &st) != 0) throw SystemError("cannot write '" + path + "'", errno);
  if (!S_ISDIR(st.st_mode)) {
    throw std::runtime_error("cannot write '" + path + "': '" + dir + "' is not a directory");
  }
}

OutputFile::OutputFile(std::string path, bool overwrite, uint64_t size)
    : path_(std::move(path)), overwrite_(overwrite) {
  FileSize().Add(size).Total();  // fallocate's off_t would be negative: refused before creating
  CheckCreatable(path_, overwrite_);
  if (g_file_open.exchange(true)) throw std::logic_error("one OutputFile at a time");
  const std::string dir = DirectoryOf(path_);
  std::string templ = (dir == "/" ? "" : dir) + "/." + BaseName(path_) + ".tmp.XXXXXX";
  if (templ.size() >= sizeof(g_temp_path)) {
    g_file_open = false;
    throw std::runtime_error("cannot write '" + path_ + "': the path is too long");
  }
  {
    SignalBlock block;
    g_temp_state.store(kTempCreating);
    fd_ = mkstemp(templ.data());
    if (fd_ >= 0) std::memcpy(g_temp_path, templ.c_str(), templ.size() + 1);
    g_temp_state.store(fd_ >= 0 ? kTempArmed : kNoTemp);
  }
  if (fd_ < 0) {
    const int err = errno;
    g_file_open = false;
    throw SystemError("cannot create a file in '" + dir + "' for '" + path_ + "'", err);
  }
  temp_path_ = templ;
  active_ = true;
  try {
    // mkstemp makes 0600; give the file the mode open(O_CREAT, 0666) would.
    if (fchmod(fd_, 0666 & ~g_umask) != 0) throw SystemError("chmod " + temp_path_, errno);
    if (size > 0) {
      // Not posix_fallocate: where the file system cannot reserve space, its
      // fallback writes every block; pwrite reports a full disk then instead.
      if (fallocate(fd_, 0, 0, static_cast<off_t>(size)) != 0 && errno != EOPNOTSUPP &&
          errno != ENOSYS) {
        throw SystemError("cannot write " + std::to_string(size) + " bytes to '" + path_ + "'",
                          errno);
      }
    }
  } catch (...) {
    Discard();
    throw;
  }
}

OutputFile::~OutputFile() { Discard(); }

void OutputFile::Discard() noexcept {
  if (!active_) return;
  SignalBlock block;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) unlink(temp_path_.c_str());
  temp_path_.clear();
  g_temp_state.store(kNoTemp);
  g_file_open = false;
  active_ = false;
}

void OutputFile::WriteAt(const void* data, size_t bytes, uint64_t offset) const {
  // One write at a time: buffered writes to one file serialize in the kernel
  // anyway (the inode lock), and contending for that lock there costs system
  // time the fills could use. The fills still run in parallel. (4 GB model spec on 2 cores, ext4: 10.5 s
  // with this lock, 15 s without; dd of the same bytes 9.9 s.)
  std::lock_guard<std::mutex> lock(write_mutex_);
  const char* p = static_cast<const char*>(data);
  const uint64_t first = offset, count = bytes;
  while (bytes > 0) {
    const ssize_t n = pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError("cannot write '" + path_ + "'", errno);
    }
    p += n;
    bytes -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
#ifdef SYNC_FILE_RANGE_WRITE
  // Start writing these pages back now (asynchronous; no wait), so that the
  // disk works while the next chunks are computed instead of all of it in
  // Commit's fsync. Only a hint: its errors are left to fsync.
  sync_file_range(fd_, static_cast<off_t>(first), static_cast<off_t>(count), SYNC_FILE_RANGE_WRITE);
#else
  (void)first;
  (void)count;
#endif
}

void OutputFile::Commit() {
  if (fsync(fd_) != 0) throw SystemError("cannot write '" + path_ + "'", errno);
  if (close(fd_) != 0) {
    fd_ = -1;
    throw SystemError("cannot write '" + path_ + "'", errno);
  }
  fd_ = -1;
  SignalBlock block;
  int rc;
  if (overwrite_) {
    rc = rename(temp_path_.c_str(), path_.c_str());
  } else {
    // Atomic no-replace: a file that appeared since CheckCreatable is kept.
    rc = renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {  // file system without RENAME_NOREPLACE
      rc = link(temp_path_.c_str(), path_.c_str());
      if (rc == 0) unlink(temp_path_.c_str());
    }
  }
  const int err = errno;
  if (rc == 0) temp_path_.clear();  // nothing left to remove
  Discard();
  if (rc != 0) {
    if (err == EEXIST) {
      throw std::runtime_error("'" + path_ + "' exists (use --force to overwrite it)");
    }
    throw SystemError("cannot rename the finished file to '" + path_ + "'", err);
  }
}

}  // namespace fanfill::cli
