// tests/support/cli_runner.h — running the real `ssmlab` executable from a test: to completion through
// the shell (exit code, stdout, stderr), or in the background with its pid (to signal it); and
// reading what it wrote (metrics rows, checkpoint parameters).
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/safetensors.h"

extern char** environ;

namespace ssm::testing {

inline const std::filesystem::path kSsmlab = std::filesystem::path(SSMLAB_BINARY_DIR) / "cli" / "ssmlab";

struct RunResult {
  int exit_code;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `command` (a shell command line) with stdout/stderr captured into files under `work`.
inline RunResult run_shell(const std::string& command, const std::filesystem::path& work) {
  const std::filesystem::path out = work / "stdout.txt", err = work / "stderr.txt";
  const int status = std::system((command + " >" + out.string() + " 2>" + err.string()).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

// Runs `ssmlab <args>` through the shell, its output captured under `work` (made if missing).
inline RunResult run_ssmlab(const std::string& args, const std::filesystem::path& work) {
  std::filesystem::create_directories(work);
  return run_shell(kSsmlab.string() + " " + args, work);
}

// Lines of a command's output.
inline size_t count_lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// A bad-input run of `ssmlab <args>`: exit code 2 and exactly one line on stderr, containing
// `needle` (the project's rule for user errors).
inline void check_user_error(const std::string& args, const std::string& needle, const std::filesystem::path& work) {
  const RunResult r = run_ssmlab(args, work);
  INFO("ssmlab " << args << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(count_lines(r.err) == 1);
}

// Starts `ssmlab args...` in the background (output to /dev/null); returns its pid.
inline pid_t spawn_ssmlab(const std::vector<std::string>& args) {
  std::vector<std::string> all = {kSsmlab.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid`; returns its exit code, or 128 + the signal that killed it.
inline int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Lines of `path` containing `needle` (metrics.jsonl rows, say).
inline int count_lines_with(const std::filesystem::path& path, const std::string& needle) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// Polls until `path` has `rows` lines containing `needle`, or `seconds` pass. Returns success.
inline bool wait_for_rows(const std::filesystem::path& path, const std::string& needle, int rows, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (count_lines_with(path, needle) >= rows) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// The "loss" of each training row of a metrics.jsonl, in order, as written (full precision).
inline std::vector<std::string> logged_losses(const std::filesystem::path& metrics) {
  std::vector<std::string> out;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find("\"loss\":");
    if (at == std::string::npos) continue;
    const size_t end = line.find_first_of(",}", at);
    out.push_back(line.substr(at + 7, end - at - 7));
  }
  return out;
}

// Every parameter of a checkpoint, concatenated in name order, as f64.
inline std::vector<double> checkpoint_parameters(const std::filesystem::path& ckpt) {
  std::vector<double> all;
  SafetensorsFile f = load_safetensors((ckpt / "model.safetensors").string());
  for (const std::string& name : f.names()) {
    std::vector<double> v = f.get(name).to_vector<double>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

}  // namespace ssm::testing
