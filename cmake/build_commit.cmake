# cmake/build_commit.cmake — run at every build (cli/CMakeLists.txt): writes the source tree's
# commit into OUT (a one-line header, SSMLAB_COMMIT), rewriting it only when it changed, so
# `ssmlab --version` names the commit that was built without rebuilding anything when it did not.
# Outside a git checkout (a source tarball) the commit is SSMLAB_COMMIT from the environment, or
# "unknown".
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE commit RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(rc EQUAL 0 AND NOT commit STREQUAL "")
  # Uncommitted changes to tracked files make a build that no commit describes.
  execute_process(COMMAND git -C "${SOURCE_DIR}" diff --quiet HEAD -- RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    string(APPEND commit "-dirty")
  endif()
elseif(DEFINED ENV{SSMLAB_COMMIT})
  set(commit "$ENV{SSMLAB_COMMIT}")
else()
  set(commit "unknown")
endif()
file(WRITE "${OUT}.new" "#define SSMLAB_COMMIT \"${commit}\"\n")
file(COPY_FILE "${OUT}.new" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.new")
