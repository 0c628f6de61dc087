// cli/commands.h — one function per `ssmlab` subcommand; each returns the process exit code.
#pragma once

namespace ssm::cli {

int cmd_train(int argc, char** argv);     // ssmlab train CONFIG
int cmd_capacity(int argc, char** argv);  // ssmlab capacity --model CKPT
int cmd_passkey(int argc, char** argv);   // ssmlab passkey --model CKPT
int cmd_ppl(int argc, char** argv);       // ssmlab ppl --model CKPT
int cmd_states(int argc, char** argv);    // ssmlab states --model CKPT
int cmd_info(int argc, char** argv);      // ssmlab info --model CKPT
int cmd_bench(int argc, char** argv);     // ssmlab bench [--device cuda|cpu]
int cmd_sweep(int argc, char** argv);     // ssmlab sweep [SWEEP.yaml]
int cmd_generate(int argc, char** argv);  // ssmlab generate --model CKPT --prompt TEXT
int cmd_export(int argc, char** argv);    // ssmlab export --model CKPT --to TARGET --out DIR

}  // namespace ssm::cli
