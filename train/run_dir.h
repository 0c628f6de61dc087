// train/run_dir.h — the run directory as `ssmlab train` owns it: one writer at a time, and no
// file rewritten in place.
//
//   RunDirLock            creates the run directory (UserError naming it when it is a file, lies
//                         under a file or cannot be written) and holds an exclusive flock on
//                         <run_dir>/.lock for its lifetime, the pid of the holder written inside.
//                         A second `ssmlab train` on the same directory is refused naming that pid,
//                         instead of interleaving its metrics rows with the first one's. The kernel
//                         drops the lock when the process ends, however it ends, so a stale .lock
//                         file left by a killed run never blocks the next one.
//   write_file_atomically a file's new contents go to "<path>.tmp", are fsynced, then renamed over
//                         <path>: a kill at any moment leaves the old contents or the new, never a
//                         truncated file. A "<path>.tmp" left behind by a killed writer is simply
//                         overwritten by the next one.
//   rewrite_metrics       on resume, metrics.jsonl keeps the rows up to the checkpoint's step
//                         (the interrupted run may have logged steps the checkpoint lacks, and they
//                         are about to be run again), through write_file_atomically.
#pragma once

#include <cstdint>
#include <string>

namespace ssm {

class RunDirLock {
 public:
  explicit RunDirLock(const std::string& run_dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

 private:
  int fd_ = -1;
};

// UserError naming the file (and the system's reason) when it cannot be written or renamed.
void write_file_atomically(const std::string& path, const std::string& text);

// Keeps the rows of `path` whose "step" is at most `last_step`, and rows without a numeric step;
// drops lines that are not JSON objects (a row torn by a kill). Nothing happens when `path` does
// not exist. Returns the number of rows kept.
int64_t rewrite_metrics(const std::string& path, int64_t last_step);

}  // namespace ssm
