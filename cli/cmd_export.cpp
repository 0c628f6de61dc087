// cli/cmd_export.cpp — `ssmlab export --model DIR --to TARGET --out DIR2`: an ssmlab checkpoint in
// another ecosystem's layout (train/export.h, docs/export.md).
#include <cstdio>

#include "absl/strings/str_join.h"  // defines: absl::StrJoin
#include "cli/args.h"               // defines: Args
#include "cli/commands.h"           // defines: the cmd_* entry points
#include "core/error.h"             // defines: SSM_USER_CHECK
#include "train/export.h"           // defines: export_checkpoint, export_targets

namespace ssm::cli {

int cmd_export(int argc, char** argv) {
  Args args("export",
            {{"model", "the ssmlab checkpoint to export (runs/<run>/ckpt)"},
             {"to", absl::StrCat(absl::StrJoin(export_targets(), " | "),
                                 ": transformers, mamba_ssm, flash-linear-attention, the rwkv package")},
             {"out", "the directory to write (must not exist, or be empty)"}},
            argc, argv, 2);
  if (args.help_requested()) {
    std::fputs(args.usage("--model DIR --to TARGET --out DIR2").c_str(), stdout);
    return 0;
  }
  SSM_USER_CHECK(args.positionals().empty(), "ssmlab export takes no positional arguments, got '",
                 args.positionals().front(), "'");
  for (const char* required : {"model", "to", "out"}) {
    SSM_USER_CHECK(args.has(required), "ssmlab export needs --", required);
  }
  const ExportResult r = export_checkpoint(args.get("model"), args.get("to"), args.get("out"));
  std::printf("wrote %s: %s\nload it with: %s\n", args.get("out").c_str(), absl::StrJoin(r.files, ", ").c_str(),
              r.load_hint.c_str());
  return 0;
}

}  // namespace ssm::cli
