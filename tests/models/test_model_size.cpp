// tests/models/test_model_size.cpp — a model's size is known before it is built: the parameter count
// computed from the config equals what the built model holds, and a config whose model cannot
// be counted in 64 bits or held in memory is one UserError naming its largest key, before any
// tensor exists (models/model_config.h).
#include <doctest/doctest.h>

#include "core/checked_size.h"
#include "core/error.h"
#include "models/mamba2.h"
#include "models/model_config.h"
#include "models/model_factory.h"

using namespace ssm;

namespace {

ModelConfig sized(const std::string& arch, int64_t d_model, int64_t n_layer) {
  ModelConfig c = default_model_config(arch);
  c.d_model = d_model;
  c.n_layer = n_layer;
  if (arch == "mamba2") c.headdim = 8, c.d_state = 8, c.ngroups = 2;
  if (arch == "rwkv5" || arch == "rwkv6" || arch == "hgrn2") c.headdim = 8;
  return c;
}

int64_t built(const ModelConfig& c, int64_t vocab) {
  return make_model(c, vocab, 1, Dtype::f32, /*initialize=*/false)->num_parameters();
}

}  // namespace

TEST_CASE("model_parameter_count equals the built model's count, defaults and explicit sizes alike") {
  for (const std::string& arch : model_architectures()) {
    for (const int64_t d_model : {16, 48, 72}) {
      ModelConfig c = sized(arch, d_model, 3);
      INFO(arch << " d_model " << d_model);
      CHECK(model_parameter_count(c, 258) == static_cast<double>(built(c, 258)));
      // The optional widths and ranks set explicitly, and an odd vocabulary to pad.
      c.dt_rank = 5, c.d_ffn = 40, c.lora_rank_mix = 3, c.lora_rank_decay = 7, c.expand = 3;
      if (arch == "mamba2") c.headdim = 12;  // 3 · d_model stays a multiple
      CHECK(model_parameter_count(c, 1001) == static_cast<double>(built(c, 1001)));
    }
  }
  // A public size: counted without building it.
  ModelConfig rwkv = sized("rwkv6", 4096, 61);
  rwkv.headdim = 64, rwkv.pad_vocab_multiple = 1;
  CHECK(model_parameter_count(rwkv, 65536) == 14'069'088'256.0);
}

TEST_CASE("a model too large for 64-bit sizes or for this machine is refused before any tensor, naming the key") {
  // model.d_model: 4611686018427387904 once overflowed the size arithmetic and the heap.
  ModelConfig huge = sized("mamba2", int64_t{1} << 62, 1);
  const std::string problem = validate_model_config(huge);
  CHECK(problem.find("model.d_model: 4611686018427387904 gives a mamba2 model of") == 0);
  CHECK(problem.find("bytes") != std::string::npos);
  CHECK_THROWS_WITH_AS(make_model(huge, 258, 1), doctest::Contains("model.d_model: 4611686018427387904"), UserError);
  // model.d_model: 1000000000 (1.25e18 parameters) once reached the allocator: exit 1.
  CHECK_THROWS_WITH_AS(make_model(sized("mamba1", 1000000000, 1), 258, 1),
                       doctest::Contains("model.d_model: 1000000000 gives a mamba1 model of"), UserError);
  // Countable, but more than this machine has (6.4e16 bytes): refused when the memory is needed.
  const ModelConfig big = sized("hgrn2", 100'000'000, 2);
  CHECK(validate_model_config(big).empty());
  CHECK_THROWS_WITH_AS(make_model(big, 258, 1), doctest::Contains("more than this machine has"), UserError);
  CHECK_THROWS_WITH_AS(check_model_size(big, 258, 4, /*check_memory=*/true),
                       doctest::Contains("model.d_model: 100000000 gives a hgrn2 model of 2.4e+17 parameters: "
                                         "would need"),
                       UserError);
  CHECK_NOTHROW(check_model_size(big, 258, 4, /*check_memory=*/false));  // uninitialised: address space only
  // The largest size names the key: here the layer count.
  CHECK_THROWS_WITH_AS(make_model(sized("rwkv5", 64, 1'000'000'000'000), 258, 1),
                       doctest::Contains("model.n_layer: 1000000000000 gives"), UserError);
  CHECK_THROWS_WITH_AS(make_model(sized("mamba2", 64, 2), int64_t{1} << 50, 1),
                       doctest::Contains("the vocabulary: 1125899906842624 gives"), UserError);
}

TEST_CASE("Mamba2Model built directly checks its sizes too, before d_inner() is computed") {
  CHECK_THROWS_WITH_AS(Mamba2Model(sized("mamba2", int64_t{1} << 62, 1), 258, 1),
                       doctest::Contains("model.d_model: 4611686018427387904 gives"), UserError);
  ModelConfig zero = sized("mamba2", 64, 1);
  zero.headdim = 0;  // d_inner() % 0 was SIGFPE
  CHECK_THROWS_WITH_AS(Mamba2Model(zero, 258, 1), "model.headdim must be positive, got 0", UserError);
  CHECK(Mamba2Model(sized("mamba2", 64, 1), 258, 1).num_parameters() ==
        static_cast<int64_t>(model_parameter_count(sized("mamba2", 64, 1), 258)));
}

TEST_CASE("validate_model_config: sizes must be positive (a zero would divide by zero later)") {
  ModelConfig c = sized("mamba2", 64, 2);
  c.headdim = 0;
  CHECK(validate_model_config(c) == "model.headdim must be positive, got 0");
  c = sized("hgrn2", 64, 2);
  c.d_ffn = -1;
  CHECK(validate_model_config(c) == "model.d_ffn must be >= 0 (0: the default), got -1");
  c = sized("rwkv6", 64, 2);
  c.ngroups = 0;  // not an RWKV key: not its business
  CHECK(validate_model_config(c).empty());
  CHECK_THROWS_WITH_AS(make_model(sized("rwkv5", 64, 0), 258, 1), "model.n_layer must be positive, got 0",
                       UserError);
}
