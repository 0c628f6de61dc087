// core/error.h — the project's one error type and its check macros.
//
// Two kinds of failure exist and the CLI treats them differently:
//   * UserError: the user's input is wrong (bad config key, missing file, shape the user chose).
//     The CLI prints its one-line message and exits with code 2.
//   * Error: a bug or an environment failure (CUDA call failed, invariant broken). Exit code 1.
// Messages are built with absl::StrCat so every check can name the op, the file or the shapes.
#pragma once

#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"  // defines: absl::StrCat

namespace ssm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from the user: the message alone must tell them what to fix.
class UserError : public Error {
 public:
  using Error::Error;
};

}  // namespace ssm

// SSM_CHECK(cond, parts...): internal invariant; parts are concatenated into the message.
#define SSM_CHECK(cond, ...)                                                         \
  do {                                                                               \
    if (!(cond)) throw ::ssm::Error(::absl::StrCat(__VA_ARGS__));                    \
  } while (0)

// SSM_USER_CHECK(cond, parts...): input validation; becomes exit code 2 at the CLI.
#define SSM_USER_CHECK(cond, ...)                                                    \
  do {                                                                               \
    if (!(cond)) throw ::ssm::UserError(::absl::StrCat(__VA_ARGS__));                \
  } while (0)
