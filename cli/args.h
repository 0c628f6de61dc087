// cli/args.h — command-line parsing for one subcommand: `ssmlab <cmd> [positionals] [--opts]`.
//
// Each subcommand declares its options; anything else is a UserError that names the option and
// lists the allowed ones (exit code 2). Accepts "--name value", "--name=value" and repeatable
// options (--set a=1 --set b=2), and options whose value may be left out (--rri). Written here rather than with absl::flags because flags there are
// process-global, which fits one program with one set of flags but not git-style subcommands.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ssm::cli {

struct OptionSpec {
  std::string name;         // without dashes: "run-dir"
  std::string help;
  bool is_flag = false;     // takes no value
  bool repeatable = false;  // may be given several times
  std::string default_value;  // shown in --help; options whose default is computed describe it here
  // When set, the value may be left out ("--rri" alone): this is used when the next argument is
  // missing or is another option.
  std::string implicit_value;
};

class Args {
 public:
  // Parses argv[first..] for `command` against `specs`; `positional_names` documents the
  // expected positionals (their count is checked by `positional()`).
  Args(const std::string& command, const std::vector<OptionSpec>& specs, int argc, char** argv, int first);

  bool flag(const std::string& name) const;
  std::string get(const std::string& name) const;                 // value or default
  std::vector<std::string> get_all(const std::string& name) const;  // repeatable options
  bool has(const std::string& name) const;
  int64_t get_int(const std::string& name) const;                 // UserError naming the option
  std::vector<int64_t> get_int_list(const std::string& name) const;  // "1,2,4"
  const std::vector<std::string>& positionals() const { return positionals_; }
  bool help_requested() const { return help_; }
  std::string usage(const std::string& synopsis) const;

 private:
  std::string command_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
  bool help_ = false;
};

}  // namespace ssm::cli
