// cuda/dynamic/library_loader.cpp — the search for cuBLAS and NCCL on the host (library_loader.h).
#include "cuda/dynamic/library_loader.h"

#include <cublas_api.h>  // defines: CUBLAS_VER_MAJOR
#include <dlfcn.h>
#include <glob.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_join.h"   // defines: absl::StrJoin
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "core/error.h"              // defines: UserError, Error

namespace ssm::cuda {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// Every existing path matching `pattern` (glob(3): '*' within one path component), sorted.
std::vector<std::string> matching_paths(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), GLOB_ONLYDIR, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

}  // namespace

std::vector<std::string> library_search_dirs() {
  std::vector<std::string> candidates;
  for (const auto& dir : absl::StrSplit(env("SSMLAB_CUDA_LIBRARY_PATH"), ':', absl::SkipEmpty())) {
    candidates.emplace_back(dir);
  }
  // A toolkit: lib64 on most installations, lib on some (and in the toolkit this was built with).
  std::vector<std::string> toolkits;
  for (const char* name : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"}) {
    if (!env(name).empty()) toolkits.push_back(env(name));
  }
  toolkits.push_back("/usr/local/cuda");
  toolkits.push_back("/usr/local/cuda-" + std::to_string(CUBLAS_VER_MAJOR));
  for (const std::string& root : toolkits) {
    candidates.push_back(root + "/lib64");
    candidates.push_back(root + "/lib");
  }
  // PyTorch's CUDA wheels: site-packages/nvidia/cu13/lib (one folder for all, CUDA 13) or
  // nvidia/cublas/lib, nvidia/nccl/lib (one per library, CUDA 12).
  std::vector<std::string> prefixes;
  for (const char* name : {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
    if (!env(name).empty()) prefixes.push_back(env(name));
  }
  if (!env("HOME").empty()) prefixes.push_back(env("HOME") + "/.local");
  for (const char* p : {"/usr/local", "/usr", "/opt/conda"}) prefixes.emplace_back(p);
  for (const std::string& prefix : prefixes) {
    for (const std::string& dir : matching_paths(prefix + "/lib/python3*/*-packages/nvidia/*/lib")) {
      candidates.push_back(dir);
    }
  }
  std::vector<std::string> dirs;
  for (const std::string& dir : candidates) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  return dirs;
}

LoadedLibrary open_library(const std::string& file_name, const std::string& what) {
  // RTLD_GLOBAL: the library's own dependencies (cuBLASLt for cuBLAS) resolve against it.
  if (void* h = dlopen(file_name.c_str(), RTLD_NOW | RTLD_GLOBAL)) return {h, file_name};
  const std::vector<std::string> dirs = library_search_dirs();
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/" + file_name;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    if (void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) return {h, path};
    // Present but unloadable (wrong architecture, a missing dependency): say why, not "not found".
    throw UserError(absl::StrCat("cannot load ", what, " from ", path, ": ", dlerror()));
  }
  throw UserError(absl::StrCat(
      "cannot find ", what, " (", file_name, "): looked where the dynamic loader looks (LD_LIBRARY_PATH, ",
      "/etc/ld.so.cache) and in ", dirs.empty() ? "no other existing folder" : absl::StrJoin(dirs, ", "),
      "; install the CUDA ", CUBLAS_VER_MAJOR, " toolkit's libraries or PyTorch's nvidia packages, or set ",
      "SSMLAB_CUDA_LIBRARY_PATH to the folder that holds ", file_name));
}

void* library_symbol(const LoadedLibrary& library, const char* symbol) {
  void* address = dlsym(library.handle, symbol);
  if (address == nullptr) {
    throw Error(absl::StrCat(library.path, " has no ", symbol, ": it is older than the CUDA ", CUBLAS_VER_MAJOR,
                             " headers this ssmlab was built with"));
  }
  return address;
}

const LoadedLibrary& cublas_library() {
  // Function-local statics are initialised once even when threads race; a failed attempt
  // (exception) leaves it uninitialised, so the error repeats on the next use.
  static const LoadedLibrary lib = open_library("libcublas.so." + std::to_string(CUBLAS_VER_MAJOR), "cuBLAS");
  return lib;
}

const LoadedLibrary& nccl_library() {
  // NCCL's file name has carried major version 2 since NCCL 2.0 (2017).
  static const LoadedLibrary lib = open_library("libnccl.so.2", "NCCL");
  return lib;
}

}  // namespace ssm::cuda
