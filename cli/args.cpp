// cli/args.cpp — the option parser.
#include "cli/args.h"

#include "absl/strings/numbers.h"    // defines: absl::SimpleAtoi
#include "absl/strings/str_split.h"  // defines: absl::StrSplit
#include "core/error.h"

namespace ssm::cli {

Args::Args(const std::string& command, const std::vector<OptionSpec>& specs, int argc, char** argv, int first)
    : command_(command), specs_(specs) {
  auto find = [&](const std::string& name) -> const OptionSpec* {
    for (const OptionSpec& s : specs_) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  auto allowed = [&] {
    std::string names;
    for (const OptionSpec& s : specs_) absl::StrAppend(&names, names.empty() ? "" : ", ", "--", s.name);
    return names;
  };
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = find(name);
    SSM_USER_CHECK(spec != nullptr, "unknown option '--", name, "' for 'ssmlab ", command_, "' (allowed: ", allowed(),
                   ")");
    if (spec->is_flag) {
      SSM_USER_CHECK(!inline_value, "option '--", name, "' takes no value");
      value = "true";
    } else if (!inline_value) {
      const bool next_is_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
      if (!spec->implicit_value.empty() && !next_is_value) {
        value = spec->implicit_value;
      } else {
        SSM_USER_CHECK(i + 1 < argc, "option '--", name, "' needs a value");
        value = argv[++i];
      }
    }
    SSM_USER_CHECK(spec->repeatable || values_[name].empty(), "option '--", name, "' given twice");
    values_[name].push_back(value);
  }
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

bool Args::flag(const std::string& name) const { return has(name); }

std::string Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  for (const OptionSpec& s : specs_) {
    if (s.name == name) return s.default_value;
  }
  return "";
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Args::get_int(const std::string& name) const {
  const std::string text = get(name);
  int64_t value = 0;
  SSM_USER_CHECK(absl::SimpleAtoi(text, &value), "option '--", name, "' must be an integer, got '", text, "'");
  return value;
}

std::vector<int64_t> Args::get_int_list(const std::string& name) const {
  std::vector<int64_t> out;
  const std::string text = get(name);
  if (text.empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t value = 0;
    SSM_USER_CHECK(absl::SimpleAtoi(part, &value) && value > 0, "option '--", name,
                   "' must be a comma-separated list of positive integers, got '", text, "'");
    out.push_back(value);
  }
  return out;
}

std::string Args::usage(const std::string& synopsis) const {
  std::string text = absl::StrCat("usage: ssmlab ", command_, " ", synopsis, "\n\noptions:\n");
  for (const OptionSpec& s : specs_) {
    std::string left = absl::StrCat("  --", s.name, s.is_flag ? "" : !s.implicit_value.empty() ? " [VALUE]" : " VALUE");
    left.resize(std::max<size_t>(left.size() + 2, 26), ' ');
    // Help may span lines ('\n'); continuation lines line up under the first.
    std::string help = s.help;
    for (size_t at = help.find('\n'); at != std::string::npos; at = help.find('\n', at + 1)) {
      help.insert(at + 1, std::string(26, ' '));
    }
    absl::StrAppend(&text, left, help);
    if (!s.default_value.empty()) absl::StrAppend(&text, " (default: ", s.default_value, ")");
    absl::StrAppend(&text, "\n");
  }
  return text;
}

}  // namespace ssm::cli
