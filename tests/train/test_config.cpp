// tests/train/test_config.cpp — run configs: defaults, a lossless YAML round trip, overrides, and the
// exact one-line UserError for each kind of mistake (unknown key, missing key, wrong type,
// out of range, bad enum value, bad YAML, missing file).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "models/model_factory.h"
#include "tests/support/testing.h"
#include "train/config.h"

using namespace ssm;
namespace fs = std::filesystem;

namespace {

const char* kSource = "configs/x.yaml";

// A small valid config; tests break one thing at a time with overrides or text edits.
const std::string kBase = R"(
model: {d_model: 64, n_layer: 2}
data:
  sources:
    - {kind: text, path: corpus.txt}
    - {kind: passkey, weight: 0.5, min_tokens: 10}
train: {steps: 10}
)";

Config parse(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return parse_config(yaml, kSource, overrides);
}

// The exact message of the UserError that parsing throws ("" if it does not throw).
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    parse(yaml, overrides);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::string error_with(const std::string& override_text) { return error_of(kBase, {override_text}); }

// Field-by-field equality (Config has no operator==), so a field the writer forgets fails here.
void check_same(const Config& a, const Config& b) {
  CHECK(a.run.seed == b.run.seed);
  CHECK(a.run.device == b.run.device);
  CHECK(a.run.precision == b.run.precision);
  const ModelConfig &ma = a.model, &mb = b.model;
  CHECK(ma.arch == mb.arch);
  CHECK(ma.d_model == mb.d_model);
  CHECK(ma.n_layer == mb.n_layer);
  CHECK(ma.d_state == mb.d_state);
  CHECK(ma.headdim == mb.headdim);
  CHECK(ma.expand == mb.expand);
  CHECK(ma.d_conv == mb.d_conv);
  CHECK(ma.ngroups == mb.ngroups);
  CHECK(ma.chunk_size == mb.chunk_size);
  CHECK(ma.pad_vocab_multiple == mb.pad_vocab_multiple);
  CHECK(ma.norm_eps == mb.norm_eps);
  CHECK(ma.init == mb.init);
  CHECK(a.data.tokenizer == b.data.tokenizer);
  CHECK(a.data.seq_len == b.data.seq_len);
  CHECK(a.data.batch_size == b.data.batch_size);
  CHECK(a.data.valid_fraction == b.data.valid_fraction);
  CHECK(a.data.segments == b.data.segments);
  CHECK(a.data.cache_dir == b.data.cache_dir);
  REQUIRE(a.data.sources.size() == b.data.sources.size());
  for (size_t i = 0; i < a.data.sources.size(); ++i) {
    CHECK(a.data.sources[i].kind == b.data.sources[i].kind);
    CHECK(a.data.sources[i].path == b.data.sources[i].path);
    CHECK(a.data.sources[i].weight == b.data.sources[i].weight);
    CHECK(a.data.sources[i].min_tokens == b.data.sources[i].min_tokens);
    CHECK(a.data.sources[i].min_doc_tokens == b.data.sources[i].min_doc_tokens);
    CHECK(a.data.sources[i].text_key == b.data.sources[i].text_key);
    CHECK(a.data.sources[i].ramp_steps == b.data.sources[i].ramp_steps);
  }
  const OptimConfig &oa = a.optim, &ob = b.optim;
  CHECK(oa.lr == ob.lr);
  CHECK(oa.min_lr == ob.min_lr);
  CHECK(oa.weight_decay == ob.weight_decay);
  CHECK(oa.beta1 == ob.beta1);
  CHECK(oa.beta2 == ob.beta2);
  CHECK(oa.eps == ob.eps);
  CHECK(oa.grad_clip == ob.grad_clip);
  CHECK(oa.schedule == ob.schedule);
  CHECK(oa.warmup_steps == ob.warmup_steps);
  CHECK(oa.decay_fraction == ob.decay_fraction);
  const TrainConfig &ta = a.train, &tb = b.train;
  CHECK(ta.steps == tb.steps);
  CHECK(ta.grad_accum == tb.grad_accum);
  CHECK(ta.log_every == tb.log_every);
  CHECK(ta.eval_every == tb.eval_every);
  CHECK(ta.eval_batches == tb.eval_batches);
  CHECK(ta.ckpt_every == tb.ckpt_every);
  CHECK(ta.keep_checkpoints == tb.keep_checkpoints);
  CHECK(ta.allreduce_bucket_mb == tb.allreduce_bucket_mb);
}

// Every field away from its default (values chosen to be awkward for a float printer).
Config unusual_config() {
  Config c;
  c.run = {18446744073709551615ull, "cpu", "bf16-mixed"};
  c.model.d_model = 96;
  c.model.n_layer = 3;
  c.model.d_state = 16;
  c.model.headdim = 24;
  c.model.expand = 3;
  c.model.d_conv = 2;
  c.model.ngroups = 4;
  c.model.chunk_size = 32;
  c.model.pad_vocab_multiple = 8;
  c.model.norm_eps = 1.0 / 3.0;
  c.model.init = "hf";
  c.data.tokenizer = "byte";
  c.data.seq_len = 300;
  c.data.batch_size = 3;
  c.data.valid_fraction = 0.1;
  c.data.segments = 4;
  c.data.cache_dir = "/tmp/my cache: tokens";
  c.data.sources = {{"bible", "data/my kjv: books", 0.7, 0, 4096},
                    {"passkey", "", 2.5e-3, 120, 0, "text", 300},
                    {"jsonl", "shards/", 1.5, 0, 0, "content"},
                    {"tokens", "c.tok", 1.0, 0, 7}};
  c.optim = {0.1 + 0.2, 1e-5, 0.0, 0.85, 0.999, 1e-12, 0.5, "wsd", 7, 0.25};
  c.train = {12345, 4, 3, 0, 9, 11, 5, 0.5};
  return c;
}

}  // namespace

TEST_CASE("a minimal config gets the documented defaults") {
  const Config c = parse(kBase);
  CHECK(c.source == kSource);
  CHECK(c.model.d_model == 64);
  CHECK(c.model.n_layer == 2);
  CHECK(c.model.d_state == 128);
  CHECK(c.model.arch == "mamba2");
  CHECK(c.run.seed == 1);
  CHECK(c.run.device == "auto");
  CHECK(c.data.seq_len == 512);
  REQUIRE(c.data.sources.size() == 2);
  CHECK(c.data.sources[0].kind == "text");
  CHECK(c.data.sources[0].path == "corpus.txt");
  CHECK(c.data.sources[0].weight == 1.0);
  CHECK(c.data.sources[1].weight == 0.5);
  CHECK(c.data.sources[1].min_tokens == 10);
  CHECK(c.optim.lr == 1e-3);
  CHECK(c.optim.schedule == "cosine");
  CHECK(c.train.steps == 10);
  CHECK(c.train.eval_every == 100);
}

TEST_CASE("the demo config in configs/ loads") {
  const Config c = load_config(std::string(SSMLAB_SOURCE_DIR) + "/configs/mamba2_s128.yaml");
  CHECK(c.model.d_model == 64);
  CHECK(c.data.sources.size() == 2);
  CHECK(c.data.sources[0].kind == "bible");
}

TEST_CASE("every shipped config loads; the public-checkpoint shapes have the published parameter counts") {
  for (const auto& entry : fs::directory_iterator(std::string(SSMLAB_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    const Config c = load_config(entry.path().string());
    CHECK(c.model.d_model > 0);
    // The shipped configs round-trip through config_to_yaml like any other.
    CHECK(config_to_yaml(parse_config(config_to_yaml(c), "x")) == config_to_yaml(c));
  }
  // The public shapes name tokenizer files a user downloads; count with the tokenizers' sizes.
  const std::pair<const char*, int64_t> published[] = {
      {"mamba-130m", 129'135'360},  {"mamba-370m", 371'516'416},    {"mamba-790m", 793'204'224},
      {"mamba-1.4b", 1'372'178'432}, {"mamba2-130m", 128'989'632},  {"mamba2-370m", 368'346'624},
      {"mamba2-780m", 780'161'280},  {"mamba2-1.3b", 1'343'757'312}, {"rwkv5-0.4b", 461'721'600},
      {"rwkv5-1b5", 1'577'754'624},  {"rwkv6-1b6", 1'599'873'024},  {"hgrn2-1.3b", 1'364'396'032}};
  int64_t checked = 0;
  for (const auto& [name, params] : published) {
    INFO(name);
    const std::string path = std::string(SSMLAB_SOURCE_DIR) + "/configs/public/" + name + ".yaml";
    const Config c = load_config(path, {"data.tokenizer=byte"});
    const std::string& arch = c.model.arch;
    const int64_t vocab = arch == "hgrn2" ? 32000 : (arch == "rwkv5" || arch == "rwkv6") ? 65536 : 50277;
    CHECK(make_model(c.model, vocab, 1, Dtype::f32, /*initialize=*/false)->num_parameters() == params);
    ++checked;
  }
  CHECK(checked == std::distance(fs::directory_iterator(std::string(SSMLAB_SOURCE_DIR) + "/configs/public"),
                                 fs::directory_iterator()));
}

TEST_CASE("config_to_yaml writes every field and parse_config reads it back identically") {
  SUBCASE("every field changed from its default") {
    const Config original = unusual_config();
    const std::string yaml = config_to_yaml(original);
    INFO(yaml);
    const Config back = parse(yaml);
    check_same(back, original);
    CHECK(config_to_yaml(back) == yaml);
  }
  SUBCASE("a parsed config with defaults") {
    const Config original = parse(kBase);
    check_same(parse(config_to_yaml(original)), original);
  }
  SUBCASE("short numbers stay short, and YAML 1.1 readers (PyYAML) read every one as a number") {
    const std::string yaml = config_to_yaml(parse(kBase));
    CHECK(yaml.find("lr: 0.001") != std::string::npos);
    CHECK(yaml.find("eps: 1.0e-08") != std::string::npos);  // 1e-08 is a string to YAML 1.1
    CHECK(yaml.find("norm_eps: 1.0e-05") != std::string::npos);
    // YAML 1.1's float: [-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)? ; its int: [-+]?[0-9]+
    const std::regex yaml11_float(R"([-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?)"), yaml11_int(R"([-+]?[0-9]+)");
    std::istringstream lines(config_to_yaml(unusual_config()) + yaml);
    int numbers = 0;
    for (std::string line; std::getline(lines, line);) {
      const size_t colon = line.find(": ");
      if (colon == std::string::npos) continue;
      const std::string value = line.substr(colon + 2);
      if (value.empty() || (value.find_first_of("0123456789") != 0 && value[0] != '-' && value[0] != '.')) continue;
      if (value.find_first_not_of("0123456789.eE+-_") != std::string::npos) continue;  // a name, a path
      CAPTURE(line);
      CHECK((std::regex_match(value, yaml11_float) || std::regex_match(value, yaml11_int)));
      ++numbers;
    }
    CHECK(numbers > 20);
  }
}

TEST_CASE("the keys of data parallelism, TBPTT, corpora and fault tolerance are validated") {
  CHECK(error_with("data.segments=0") == "configs/x.yaml: 'data.segments' must be a positive integer, got 0");
  CHECK(error_with("train.keep_checkpoints=0") ==
        "configs/x.yaml: 'train.keep_checkpoints' must be a positive integer, got 0");
  CHECK(error_with("train.allreduce_bucket_mb=0") ==
        "configs/x.yaml: 'train.allreduce_bucket_mb' must be in (0, 4096], got 0");
  CHECK(error_with("data.sources[0].kind=parquet") ==
        "configs/x.yaml: 'data.sources[0].kind' must be one of text, jsonl, tokens, bible, passkey; got 'parquet'");
  CHECK(error_with("data.sources[0].text_key=body") ==
        "configs/x.yaml: 'data.sources[0].text_key' is only read by kind jsonl, not text; remove it");
  CHECK(error_with("data.sources[1].min_doc_tokens=5") ==
        "configs/x.yaml: 'data.sources[1].min_doc_tokens' is only read by kind text, jsonl, tokens and bible, not "
        "passkey; remove it");
  CHECK(error_with("data.sources[0].min_tokens=5") ==
        "configs/x.yaml: 'data.sources[0].min_tokens' is only read by kind passkey, not text; remove it");
  CHECK(error_with("data.sources[0].ramp_steps=500") ==
        "configs/x.yaml: 'data.sources[0].ramp_steps' is only read by kind passkey, not text; remove it");
  CHECK(error_with("data.sources[1].ramp_steps=-2") ==
        "configs/x.yaml: 'data.sources[1].ramp_steps' must be an integer >= 0, got -2");
  CHECK(error_with("data.sources[0].min_doc_tokens=-1") ==
        "configs/x.yaml: 'data.sources[0].min_doc_tokens' must be an integer >= 0, got -1");
  // min_tokens is bounded by the whole sequence: seq_len · segments.
  CHECK(error_of(kBase, {"data.seq_len=64", "data.sources[1].min_tokens=100"}).find(
            "must not exceed data.seq_len · data.segments (64)") != std::string::npos);
  const Config c = parse(kBase, {"data.seq_len=64", "data.segments=2", "data.sources[1].min_tokens=100",
                                 "data.sources[0].min_doc_tokens=4096", "train.keep_checkpoints=3"});
  CHECK(c.data.segments == 2);
  CHECK(c.data.sources[0].min_doc_tokens == 4096);
  CHECK(c.train.keep_checkpoints == 3);
  const Config j = parse(kBase, {"data.sources[0].kind=jsonl", "data.sources[0].text_key=body"});
  CHECK(j.data.sources[0].text_key == "body");
}

TEST_CASE("overrides are applied to the YAML before validation") {
  SUBCASE("scalars, nested keys, list elements and new sections") {
    const Config c = parse(kBase, {"optim.lr=0.01", "train.steps=7", "data.sources[1].weight=2",
                                   "run.device=cpu", "model.init=hf"});
    CHECK(c.optim.lr == 0.01);
    CHECK(c.train.steps == 7);
    CHECK(c.data.sources[1].weight == 2.0);
    CHECK(c.run.device == "cpu");
    CHECK(c.model.init == "hf");
  }
  SUBCASE("a value can be a YAML sequence") {
    const Config c = parse(kBase, {"data.sources=[{kind: passkey, weight: 3}]"});
    REQUIRE(c.data.sources.size() == 1);
    CHECK(c.data.sources[0].kind == "passkey");
    CHECK(c.data.sources[0].weight == 3.0);
  }
  SUBCASE("an override may supply a missing required key") {
    const std::string no_steps = R"(
model: {d_model: 64, n_layer: 2}
data: {sources: [{kind: passkey}]}
)";
    CHECK(parse(no_steps, {"train.steps=5"}).train.steps == 5);
  }
  SUBCASE("overrides obey the same rules") {
    CHECK(error_with("optim.lrr=1") ==
          "configs/x.yaml: unknown key 'optim.lrr' (allowed: lr, min_lr, weight_decay, beta1, beta2, eps, "
          "grad_clip, schedule, warmup_steps, decay_fraction)");
    CHECK(error_with("optim.lr=fast") == "configs/x.yaml: 'optim.lr' must be a number, got 'fast'");
    CHECK(error_with("bogus.key=1") ==
          "configs/x.yaml: unknown key 'bogus' (allowed: run, model, data, optim, train)");
  }
  SUBCASE("malformed overrides") {
    CHECK(error_with("optim.lr") == "--set 'optim.lr': expected key.path=value");
    CHECK(error_with("train.steps.x=1") == "--set 'train.steps.x=1': 'train.steps' is not a mapping");
    CHECK(error_with("data.sources[5].weight=1") ==
          "--set 'data.sources[5].weight=1': 'data.sources' has no element 5");
    CHECK(error_with("data.sources[x].weight=1") == "--set 'data.sources[x].weight=1': bad index in 'sources[x]'");
  }
}

TEST_CASE("unknown keys are rejected with the allowed keys listed") {
  CHECK(error_of(kBase + "optim: {lrr: 0.1}\n") ==
        "configs/x.yaml: unknown key 'optim.lrr' (allowed: lr, min_lr, weight_decay, beta1, beta2, eps, "
        "grad_clip, schedule, warmup_steps, decay_fraction)");
  CHECK(error_of(kBase + "modle: {}\n") == "configs/x.yaml: unknown key 'modle' (allowed: run, model, data, optim, train)");
  CHECK(error_of(kBase, {"data.sources[0].pth=x"}) ==
        "configs/x.yaml: unknown key 'data.sources[0].pth' (allowed: kind, path, weight, min_tokens, "
        "ramp_steps, min_doc_tokens, text_key)");
  CHECK(error_of(kBase + "run: {seed: 1, seed: 2}\n") == "configs/x.yaml: key 'run.seed' appears twice");
}

TEST_CASE("missing required keys are named") {
  CHECK(error_of("model: {n_layer: 2}\ndata: {sources: [{kind: passkey}]}\ntrain: {steps: 1}\n") ==
        "configs/x.yaml: missing required key 'model.d_model'");
  CHECK(error_of("model: {d_model: 64}\ndata: {sources: [{kind: passkey}]}\ntrain: {steps: 1}\n") ==
        "configs/x.yaml: missing required key 'model.n_layer'");
  CHECK(error_of("model: {d_model: 64, n_layer: 2}\ntrain: {steps: 1}\n") ==
        "configs/x.yaml: missing required key 'data.sources'");
  CHECK(error_of("model: {d_model: 64, n_layer: 2}\ndata: {sources: [{kind: passkey}]}\n") ==
        "configs/x.yaml: missing required key 'train.steps'");
  CHECK(error_of("model: {d_model: 64, n_layer: 2}\ndata: {sources: [{weight: 1}]}\ntrain: {steps: 1}\n") ==
        "configs/x.yaml: missing required key 'data.sources[0].kind'");
  CHECK(error_of("") == "configs/x.yaml: missing required key 'model.d_model'");
}

TEST_CASE("values of the wrong type are named with what was given") {
  CHECK(error_with("optim.lr=fast") == "configs/x.yaml: 'optim.lr' must be a number, got 'fast'");
  CHECK(error_with("optim.lr=[1, 2]") == "configs/x.yaml: 'optim.lr' must be a number, got a sequence");
  CHECK(error_with("optim.lr=") == "configs/x.yaml: 'optim.lr' must be a number, got nothing");
  CHECK(error_with("optim.lr=.inf") == "configs/x.yaml: 'optim.lr' must be a finite number, got '.inf'");
  CHECK(error_with("train.steps=1.5") == "configs/x.yaml: 'train.steps' must be an integer, got '1.5'");
  CHECK(error_with("run.seed=-1") == "configs/x.yaml: 'run.seed' must be an integer >= 0, got '-1'");
  CHECK(error_with("run.device={a: 1}") == "configs/x.yaml: 'run.device' must be a string, got a mapping");
  CHECK(error_with("data.sources=3") ==
        "configs/x.yaml: 'data.sources' must be a non-empty sequence of {kind, path, weight, min_tokens, ramp_steps, "
        "min_doc_tokens, text_key}, got '3'");
  CHECK(error_with("data.sources=[]") ==
        "configs/x.yaml: 'data.sources' must be a non-empty sequence of {kind, path, weight, min_tokens, ramp_steps, "
        "min_doc_tokens, text_key}, got a sequence");
  CHECK(error_of(kBase + "optim: 3\n") ==
        "configs/x.yaml: 'optim' must be a mapping of keys (allowed: lr, min_lr, weight_decay, beta1, beta2, eps, "
        "grad_clip, schedule, warmup_steps, decay_fraction), got '3'");
  CHECK(error_of("- 1\n- 2\n") ==
        "configs/x.yaml: the config must be a mapping of keys (allowed: run, model, data, optim, train), got a sequence");
}

TEST_CASE("enum values list the allowed choices") {
  CHECK(error_with("run.device=gpu") == "configs/x.yaml: 'run.device' must be one of auto, cpu, cuda; got 'gpu'");
  CHECK(error_with("run.precision=fp16") ==
        "configs/x.yaml: 'run.precision' must be one of fp32, bf16-mixed; got 'fp16'");
  CHECK(error_with("model.arch=rwkv") == "configs/x.yaml: 'model.arch' must be one of mamba1, mamba2, rwkv5, rwkv6, hgrn2; got 'rwkv'");
  CHECK(error_with("model.scan=fast") == "configs/x.yaml: 'model.scan' must be one of auto, chunked, recurrent; got 'fast'");
  CHECK(error_with("model.dt_rank=4") == "configs/x.yaml: unknown key 'model.dt_rank' (allowed: arch, d_model, n_layer, "
                                         "d_state, headdim, expand, d_conv, ngroups, chunk_size, scan, "
                                         "pad_vocab_multiple, norm_eps, init, a_init_min, a_init_max)");
  CHECK(error_with("model.a_init_min=20") ==
        "configs/x.yaml: model.a_init_min (20) must be positive and at most model.a_init_max (16)");
  CHECK(error_with("model.init=xavier") == "configs/x.yaml: 'model.init' must be one of mamba_ssm, hf; got 'xavier'");
  CHECK(error_with("optim.schedule=step") ==
        "configs/x.yaml: 'optim.schedule' must be one of cosine, wsd, constant; got 'step'");
  CHECK(error_with("data.tokenizer=gpt2") == "configs/x.yaml: 'data.tokenizer' must be byte, a tokenizer.json, an "
                                            "RWKV vocabulary .txt or a directory holding one; 'gpt2' does not exist");
  CHECK(error_with("data.sources[1].kind=pass") ==
        "configs/x.yaml: 'data.sources[1].kind' must be one of text, jsonl, tokens, bible, passkey; got 'pass'");
}

TEST_CASE("out-of-range values name the key and the rule") {
  CHECK(error_with("model.d_model=0") == "configs/x.yaml: 'model.d_model' must be a positive integer, got 0");
  CHECK(error_with("train.steps=-3") == "configs/x.yaml: 'train.steps' must be a positive integer, got -3");
  CHECK(error_with("data.seq_len=0") == "configs/x.yaml: 'data.seq_len' must be a positive integer, got 0");
  CHECK(error_with("train.eval_every=-1") == "configs/x.yaml: 'train.eval_every' must be an integer >= 0, got -1");
  CHECK(error_with("model.headdim=48") ==
        "configs/x.yaml: model.d_model * model.expand (128) must be divisible by model.headdim (48)");
  CHECK(error_with("model.ngroups=3") ==
        "configs/x.yaml: the number of heads d_model * expand / headdim (2) must be divisible by model.ngroups (3)");
  CHECK(error_with("data.sources[1].weight=0") == "configs/x.yaml: 'data.sources[1].weight' must be > 0, got 0");
  CHECK(error_with("data.valid_fraction=0.5") ==
        "configs/x.yaml: 'data.valid_fraction' must be in [0, 0.5), got 0.5");
  CHECK(error_with("data.valid_fraction=-0.1") ==
        "configs/x.yaml: 'data.valid_fraction' must be in [0, 0.5), got -0.1");
  CHECK(error_with("optim.beta1=1") == "configs/x.yaml: 'optim.beta1' must be in [0, 1), got 1");
  CHECK(error_with("optim.lr=0") == "configs/x.yaml: 'optim.lr' must be > 0, got 0");
  CHECK(error_with("optim.min_lr=0.5") == "configs/x.yaml: 'optim.min_lr' must be in [0, optim.lr], got 0.5");
  CHECK(error_with("data.sources[0].path=") ==
        "configs/x.yaml: 'data.sources[0].path' must be a string, got nothing");
  CHECK(error_of(kBase, {"data.sources[0]={kind: text}"}) ==
        "configs/x.yaml: 'data.sources[0].path' is required for kind text");
  CHECK(error_of(kBase, {"data.sources[1].path=x"}) ==
        "configs/x.yaml: 'data.sources[1].path' is not used by kind passkey (its text is generated); remove it");
  CHECK(error_of(kBase, {"data.sources[1].min_tokens=600"}) ==
        "configs/x.yaml: 'data.sources[1].min_tokens' (600) must not exceed data.seq_len · data.segments (512)");
  // The boundary values are accepted.
  CHECK(error_with("data.valid_fraction=0") == "");
  CHECK(error_with("optim.beta1=0") == "");
  CHECK(error_with("data.sources[1].min_tokens=512") == "");
}

TEST_CASE("bad YAML and unreadable files") {
  SUBCASE("malformed YAML names the file, line and column") {
    const std::string err = error_of("model: {d_model: 64\ntrain: [1, 2\n");
    CHECK(err.starts_with("configs/x.yaml: invalid YAML at line "));
    CHECK(err.find(", column ") != std::string::npos);
  }
  SUBCASE("the line is the one with the mistake") {
    CHECK(error_of("run:\n  seed: 1\n  device: cpu: x\n") ==
          "configs/x.yaml: invalid YAML at line 3, column 14: illegal map value");
  }
  SUBCASE("missing file") {
    CHECK_THROWS_WITH_AS(load_config("configs/definitely_missing.yaml"),
                         "cannot read config 'configs/definitely_missing.yaml': No such file or directory", UserError);
  }
  SUBCASE("a directory") {
    const std::string dir = fs::temp_directory_path().string();
    CHECK_THROWS_WITH_AS(load_config(dir), doctest::Contains(("cannot read config '" + dir + "'").c_str()), UserError);
  }
  SUBCASE("load_config names the file it read") {
    const fs::path path = fs::temp_directory_path() / "ssmlab_test_config_named.yaml";
    std::ofstream(path) << kBase << "optim: {lr: fast}\n";
    CHECK_THROWS_WITH_AS(load_config(path.string()),
                         (path.string() + ": 'optim.lr' must be a number, got 'fast'").c_str(), UserError);
    CHECK(load_config(path.string(), {"optim.lr=0.5"}).optim.lr == 0.5);
  }
}
