// OutputFile: a file written under a temporary name (".<name>.tmp.XXXXXX" in
// the destination's directory) and renamed into place by Commit(). An error,
// an exception, or SIGINT / SIGTERM / SIGHUP before the rename removes the
// temporary file, so no truncated file ever appears under the final name.
#ifndef FANFILL_TOOLS_CLI_OUTPUT_FILE_H_
#define FANFILL_TOOLS_CLI_OUTPUT_FILE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace fanfill::cli {

class OutputFile {
 public:
  // Installs the signal handlers that unlink the temporary file and re-raise.
  // Call once at start-up, before any thread is started.
  static void InstallSignalCleanup();

  // Throws std::runtime_error unless `path` can be created: it exists and
  // `overwrite` is false, or its directory is missing.
  static void CheckCreatable(const std::string& path, bool overwrite);

  // Creates the temporary file and reserves `size` bytes (so that a full disk
  // is reported before anything is computed, where the file system can tell).
  // A size beyond the largest file (FileSize, formats.h) is refused first.
  // At most one OutputFile exists at a time (the signal handler knows one path).
  OutputFile(std::string path, bool overwrite, uint64_t size);
  ~OutputFile();  // removes the temporary file unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // pwrite of all `bytes` at `offset`; thread-safe (one write at a time).
  // Throws std::runtime_error naming the file and the system error (a full
  // disk is "No space left on device").
  void WriteAt(const void* data, size_t bytes, uint64_t offset) const;

  // fsync, then rename to the final path (without replacing an existing file
  // unless `overwrite`).
  void Commit();

  const std::string& path() const { return path_; }

 private:
  void Discard() noexcept;

  std::string path_;
  std::string temp_path_;
  bool overwrite_;
  int fd_ = -1;
  bool active_ = false;  // holds the temporary file and the signal handler's path
  mutable std::mutex write_mutex_;
};

}  // namespace fanfill::cli

#endif  // FANFILL_TOOLS_CLI_OUTPUT_FILE_H_
