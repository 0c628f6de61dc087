// eval/sweep_spec.cpp — reading sweep files, checking them, and expanding the grid into runs.
#include "eval/sweep_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "absl/strings/str_join.h"  // defines: absl::StrJoin
#include "core/error.h"             // defines: SSM_USER_CHECK, UserError
#include "core/regular_file.h"      // defines: read_regular_file, kMaxConfigFileBytes
#include "eval/passkey.h"           // defines: parse_lengths

namespace ssm {
namespace {

// One mapping of the sweep file: rejects keys it does not know, reads typed values by key.
class Node {
 public:
  Node(const std::string& source, YAML::Node node, std::string path, std::vector<std::string> allowed)
      : source_(source), node_(std::move(node)), path_(std::move(path)) {
    if (!node_ || node_.IsNull()) return;
    if (!node_.IsMap()) fail(absl::StrCat(where(), " must be a mapping (keys: ", absl::StrJoin(allowed, ", "), ")"));
    for (const auto& kv : node_) {
      // A key that is itself a list or a mapping (YAML's "? [a]") names nothing.
      if (!kv.first.IsScalar()) fail(absl::StrCat("a key of ", where(), " is not a plain name"));
      const std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(absl::StrCat("unknown key '", full(key), "' (allowed: ", absl::StrJoin(allowed, ", "), ")"));
      }
    }
  }
  [[noreturn]] void fail(const std::string& what) const { throw UserError(absl::StrCat(source_, ": ", what)); }
  std::string full(const std::string& key) const { return path_.empty() ? key : absl::StrCat(path_, ".", key); }
  std::string where() const { return path_.empty() ? "the sweep file" : absl::StrCat("'", path_, "'"); }
  YAML::Node get(const std::string& key) const {
    return node_ && node_.IsMap() ? node_[key] : YAML::Node(YAML::NodeType::Undefined);
  }
  bool has(const std::string& key) const { return static_cast<bool>(get(key)); }

  std::string text(const std::string& key, const std::string& fallback) const {
    const YAML::Node n = get(key);
    if (!n) return fallback;
    if (!n.IsScalar()) fail(absl::StrCat("'", full(key), "' must be a string"));
    return n.Scalar();
  }
  // An integer with an optional K suffix (K = 1024), >= 0.
  int64_t length(const std::string& key, int64_t fallback) const {
    const YAML::Node n = get(key);
    if (!n) return fallback;
    if (!n.IsScalar()) fail(absl::StrCat("'", full(key), "' must be a length such as 512 or 16K"));
    if (n.Scalar() == "0") return 0;
    return single_length(n.Scalar(), full(key));
  }
  int64_t length_at_least(const std::string& key, int64_t fallback, int64_t lowest) const {
    const int64_t v = length(key, fallback);
    if (v < lowest) fail(absl::StrCat("'", full(key), "' must be at least ", lowest, ", got ", v));
    return v;
  }
  double number(const std::string& key, double fallback) const {
    const YAML::Node n = get(key);
    if (!n) return fallback;
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
      fail(absl::StrCat("'", full(key), "' must be a number"));
    }
    return v;
  }
  bool boolean(const std::string& key, bool fallback) const {
    const YAML::Node n = get(key);
    if (!n) return fallback;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) fail(absl::StrCat("'", full(key), "' must be true or false"));
    return v;
  }
  std::vector<std::string> strings(const std::string& key) const {
    const YAML::Node n = get(key);
    std::vector<std::string> out;
    if (!n) return out;
    if (!n.IsSequence()) fail(absl::StrCat("'", full(key), "' must be a list of key.path=value strings"));
    for (const YAML::Node& item : n) {
      if (!item.IsScalar()) fail(absl::StrCat("'", full(key), "' must be a list of key.path=value strings"));
      out.push_back(item.Scalar());
    }
    return out;
  }

  int64_t single_length(const std::string& text, const std::string& what) const {
    std::vector<int64_t> v;
    try {
      v = parse_lengths(text, what);
    } catch (const UserError& e) {
      fail(e.what());
    }
    if (v.size() != 1) fail(absl::StrCat("'", what, "' must be one length, got '", text, "'"));
    return v.front();
  }

  const std::string& source_;
  YAML::Node node_;
  std::string path_;
};

SweepStatePoint read_state(const Node& parent, const YAML::Node& item, size_t index) {
  const Node n(parent.source_, item, absl::StrCat("states[", index, "]"), {"name", "model", "set"});
  if (!item.IsMap()) n.fail(absl::StrCat("'states[", index, "]' must be a mapping with model: or set:"));
  SweepStatePoint p;
  const YAML::Node model = n.get("model");
  if (model) {
    if (!model.IsMap()) n.fail(absl::StrCat("'", n.full("model"), "' must be a mapping of model keys"));
    for (const auto& kv : model) {
      if (!kv.first.IsScalar()) n.fail(absl::StrCat("a key of '", n.full("model"), "' is not a plain name"));
      if (!kv.second.IsScalar()) n.fail(absl::StrCat("'", n.full("model"), ".", kv.first.Scalar(),
                                                     "' must be a single value"));
      p.overrides.push_back(absl::StrCat("model.", kv.first.Scalar(), "=", kv.second.Scalar()));
    }
  }
  for (const std::string& s : n.strings("set")) p.overrides.push_back(s);
  if (p.overrides.empty()) n.fail(absl::StrCat("'states[", index, "]' changes nothing: give model: or set:"));
  p.name = n.text("name", state_point_name(p.overrides));
  return p;
}

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         });
}

}  // namespace

SweepSpec parse_sweep_spec(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw UserError(absl::StrCat(source, ": not valid YAML (line ", e.mark.line + 1, ": ", e.msg, ")"));
  }
  const Node top(source, root, "", {"base", "set", "states", "lengths", "tokens_per_step", "out", "eval", "fit"});
  SweepSpec spec;
  spec.base = top.text("base", "");
  spec.overrides = top.strings("set");
  const YAML::Node states = top.get("states");
  if (states) {
    if (!states.IsSequence()) top.fail("'states' must be a list of state points");
    for (size_t i = 0; i < states.size(); ++i) spec.states.push_back(read_state(top, states[i], i));
  }
  const YAML::Node lengths = top.get("lengths");
  if (lengths) {
    if (!lengths.IsSequence()) top.fail("'lengths' must be a list of training lengths, e.g. [128, 256, 1K]");
    for (const YAML::Node& item : lengths) {
      if (!item.IsScalar()) top.fail("'lengths' must be a list of training lengths, e.g. [128, 256, 1K]");
      spec.lengths.push_back(top.single_length(item.Scalar(), "lengths"));
    }
  }
  spec.tokens_per_step = top.length("tokens_per_step", 0);
  spec.out = top.text("out", spec.out);

  const Node e(source, top.get("eval"), "eval",
               {"length", "docs", "data", "prompt", "samples", "depth_bins", "seed", "bos", "start_length",
                "max_length", "resolution", "bucket", "smooth", "state_length", "window", "rri", "delta_scale",
                "state_norm"});
  SweepEvalSpec& ev = spec.eval;
  ev.length = e.length("length", 0);
  ev.docs = e.length_at_least("docs", ev.docs, 1);
  ev.data = e.text("data", "");
  ev.prompt = e.text("prompt", "");
  ev.samples = e.length_at_least("samples", ev.samples, 1);
  ev.depth_bins = e.length_at_least("depth_bins", ev.depth_bins, 1);
  ev.seed = static_cast<uint64_t>(e.length("seed", 0));
  ev.bos = e.boolean("bos", false);
  ev.start_length = e.length("start_length", 0);
  ev.max_length = e.length("max_length", 0);
  ev.resolution = e.length("resolution", 0);
  ev.bucket = e.length("bucket", 0);
  ev.smooth = e.length_at_least("smooth", ev.smooth, 1);
  ev.state_length = e.length("state_length", 0);
  if (e.text("window", "") == "train") {
    ev.window_train_length = true;
  } else {
    ev.window = e.length("window", 0);
  }
  const YAML::Node rri = e.get("rri");
  if (rri) {
    if (rri.IsScalar() && YAML::convert<bool>::decode(rri, ev.rri)) {
    } else if (rri.IsSequence() && rri.size() == 2 && YAML::convert<double>::decode(rri[0], ev.rri_lambda) &&
               YAML::convert<double>::decode(rri[1], ev.rri_gamma)) {
      ev.rri = true;
    } else {
      e.fail("'eval.rri' must be true, false or [lambda, gamma]");
    }
  }
  ev.delta_scale = e.number("delta_scale", 0);
  ev.state_norm = e.boolean("state_norm", false);

  const Node f(source, top.get("fit"), "fit", {"state", "anchor", "collapse_factor"});
  spec.fit.state = f.text("state", spec.fit.state);
  spec.fit.anchor = f.boolean("anchor", false);
  spec.fit.collapse_factor = f.number("collapse_factor", spec.fit.collapse_factor);
  return spec;
}

SweepSpec load_sweep_spec(const std::string& path) {
  // A regular file of config size (core/regular_file.h): a FIFO or /dev/zero is refused at once.
  return parse_sweep_spec(
      read_regular_file(path, absl::StrCat("sweep file '", path, "' cannot be read"), kMaxConfigFileBytes,
                        "a sweep file"),
      path);
}

void check_sweep_spec(const SweepSpec& s) {
  SSM_USER_CHECK(!s.base.empty(), "sweep: no base config (base: in the sweep file, or --config)");
  SSM_USER_CHECK(!s.states.empty(), "sweep: no state sizes (states: in the sweep file, or --state)");
  SSM_USER_CHECK(!s.lengths.empty(), "sweep: no training lengths (lengths: in the sweep file, or --lengths)");
  std::set<std::string> names;
  for (const SweepStatePoint& p : s.states) {
    SSM_USER_CHECK(valid_name(p.name), "sweep: state name '", p.name, "' may only hold letters, digits, '_', '.', '-'");
    SSM_USER_CHECK(names.insert(p.name).second, "sweep: two state points are named '", p.name, "'");
  }
  std::set<int64_t> seen;
  for (int64_t t : s.lengths) {
    SSM_USER_CHECK(t > 0, "sweep: training lengths must be positive, got ", t);
    SSM_USER_CHECK(seen.insert(t).second, "sweep: training length ", t, " is listed twice");
  }
  SSM_USER_CHECK(s.tokens_per_step >= 0, "sweep: tokens_per_step must be positive, got ", s.tokens_per_step);
  SSM_USER_CHECK(s.fit.state == "main" || s.fit.state == "all", "sweep: fit.state must be main or all, got '",
                 s.fit.state, "'");
  SSM_USER_CHECK(s.fit.collapse_factor > 1, "sweep: fit.collapse_factor must exceed 1, got ", s.fit.collapse_factor);
  SSM_USER_CHECK(s.eval.data.empty() || s.eval.prompt.empty(), "sweep: eval.data and eval.prompt exclude each other");
  SSM_USER_CHECK(!s.out.empty(), "sweep: the output directory is empty");
  const bool window = s.eval.window > 0 || s.eval.window_train_length;
  SSM_USER_CHECK(!(s.eval.state_norm && window), "sweep: eval.state_norm and eval.window do not combine (the window ",
                 "subtracts an unnormalised lagged state)");
}

std::string state_point_name(const std::vector<std::string>& overrides) {
  std::vector<std::string> parts;
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    std::string key = o.substr(0, eq), value = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (const size_t dot = key.rfind('.'); dot != std::string::npos) key = key.substr(dot + 1);
    std::string part;
    for (char c : key + value) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') part += c;
    }
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "-");
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec) {
  check_sweep_spec(spec);
  std::vector<int64_t> lengths = spec.lengths;
  std::sort(lengths.begin(), lengths.end());
  std::vector<SweepRun> runs;
  for (const SweepStatePoint& p : spec.states) {
    std::vector<std::string> overrides = spec.overrides;
    overrides.insert(overrides.end(), p.overrides.begin(), p.overrides.end());
    const Config base = load_config(spec.base, overrides);
    const int64_t segments = base.data.segments, accum = base.train.grad_accum;
    for (int64_t t : lengths) {
      SSM_USER_CHECK(t % segments == 0, "sweep: training length ", t, " is not a multiple of data.segments (",
                     segments, ")");
      SweepRun r;
      r.name = absl::StrCat(p.name, "_T", t);
      r.state = p.name;
      r.train_length = t;
      r.overrides = overrides;
      r.overrides.push_back(absl::StrCat("data.seq_len=", t / segments));
      if (spec.tokens_per_step > 0) {
        SSM_USER_CHECK(spec.tokens_per_step % (t * accum) == 0, "sweep: tokens_per_step (", spec.tokens_per_step,
                       ") is not a multiple of training length ", t, " x train.grad_accum (", accum, ")");
        r.overrides.push_back(absl::StrCat("data.batch_size=", spec.tokens_per_step / (t * accum)));
      }
      runs.push_back(std::move(r));
    }
  }
  return runs;
}

Config sweep_run_config(const SweepSpec& spec, const SweepRun& run) { return load_config(spec.base, run.overrides); }

std::string sweep_run_dir(const SweepSpec& spec, const SweepRun& run) {
  return (std::filesystem::path(spec.out) / "runs" / run.name).string();
}

}  // namespace ssm
