// tests/train/test_distributed.cpp — data parallelism: the launcher's environment, the bucketed
// gradient all-reduce, and the acceptance test: `mpirun -np 2` on CPU ends with the parameters
// of one process that runs the same global batch (within 1e-6 relative). The mpirun tests run
// the real executable and are reported skipped when ssmlab was built without MPI.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "tests/support/cli_runner.h"
#include "tests/support/testing.h"
#include "train/communicator.h"

using namespace ssm;
using namespace ssm::testing;
namespace fs = std::filesystem;

namespace {

#if defined(SSMLAB_WITH_MPI)
const std::string kMpiexec = SSMLAB_MPIEXEC;
const bool kHaveMpi = !kMpiexec.empty() && fs::exists(kMpiexec);
#else
const std::string kMpiexec;
const bool kHaveMpi = false;
#endif

const fs::path kWork = fs::temp_directory_path() / "ssmlab_test_distributed";

// mpirun as root in a container: Open MPI refuses root unless told twice.
std::string mpirun(int processes, const std::string& args) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 " + kMpiexec +
         " --allow-run-as-root --oversubscribe -np " + std::to_string(processes) + " " + kSsmlab.string() + " " +
         args;
}

// Sets environment variables for one scope and restores them afterwards.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> values) {
    for (const char* name : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_RANK",
                             "PMI_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"}) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      unsetenv(name);
    }
    for (auto& [k, v] : values) setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// A stand-in for W identical processes: a sum over W copies is W times the value.
class TimesWorld final : public Communicator {
 public:
  explicit TimesWorld(int world) : world_(world) {}
  int rank() const override { return 0; }
  int world() const override { return world_; }
  std::string backend() const override { return "test"; }
  void all_reduce_sum(std::vector<double>& v) override {
    for (double& x : v) x *= world_;
  }
  void all_reduce_sum(Tensor& t) override {
    ++calls;
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] *= static_cast<float>(world_);
  }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
  int calls = 0;

 private:
  int world_;
};

}  // namespace

TEST_CASE("the launcher's environment gives rank and world") {
  {
    ScopedEnv env({});
    const LaunchInfo none = launch_from_environment();
    CHECK(none.world == 1);
    CHECK(none.rank == 0);
    CHECK(none.launcher == "none");
  }
  {
    ScopedEnv env({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
    const LaunchInfo ompi = launch_from_environment();
    CHECK(ompi.rank == 3);
    CHECK(ompi.world == 4);
    CHECK(ompi.local_rank == 1);
    CHECK(ompi.launcher == "Open MPI");
  }
  {
    ScopedEnv env({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}});
    CHECK(launch_from_environment().launcher == "PMI");
    CHECK(launch_from_environment().rank == 1);
  }
  {
    // srun inside an allocation of 8 tasks, this step running 2.
    ScopedEnv env({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "8"}, {"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_LOCALID", "1"}});
    const LaunchInfo slurm = launch_from_environment();
    CHECK(slurm.world == 2);
    CHECK(slurm.rank == 1);
    CHECK(slurm.launcher == "Slurm");
  }
  {
    ScopedEnv env({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "2"}});
    CHECK_THROWS_WITH_AS(launch_from_environment(), doctest::Contains("do not describe a process"), UserError);
  }
  {
    ScopedEnv env({{"PMI_RANK", "x"}, {"PMI_SIZE", "2"}});
    CHECK_THROWS_WITH_AS(launch_from_environment(), doctest::Contains("PMI_RANK='x'"), UserError);
  }
  CHECK(make_host_communicator(LaunchInfo{})->world() == 1);
  if (!mpi_available()) {
    CHECK_THROWS_WITH_AS(make_host_communicator(LaunchInfo{1, 2, 0, "Open MPI"}), doctest::Contains("without MPI"),
                         UserError);
  }
}

TEST_CASE("bucketed all-reduce: every gradient comes back summed, whatever the bucket size") {
  // Parameters of 5, 12, 1 and 30 elements; one has no gradient (it contributes zeros).
  std::vector<Tensor> params;
  for (int64_t n : {5, 12, 1, 30}) {
    Tensor p = Tensor::randn({n}, 100 + static_cast<uint64_t>(n));
    p.set_requires_grad(true);
    params.push_back(p);
  }
  for (size_t bucket_floats : {1, 6, 13, 18, 1000}) {
    CAPTURE(bucket_floats);
    std::vector<std::vector<float>> before;
    for (size_t i = 0; i < params.size(); ++i) {
      if (i == 2) {
        params[i].zero_grad();
        before.push_back({0.0f});
        continue;
      }
      params[i].set_grad(Tensor::randn(params[i].shape(), 7 + i));
      before.push_back(params[i].grad().to_vector<float>());
    }
    TimesWorld comm(3);
    all_reduce_gradients(params, comm, bucket_floats * sizeof(float));
    for (size_t i = 0; i < params.size(); ++i) {
      REQUIRE(params[i].grad().defined());
      const std::vector<float> after = params[i].grad().to_vector<float>();
      for (size_t k = 0; k < after.size(); ++k) CHECK(after[k] == 3.0f * before[i][k]);
    }
    // Buckets: each holds whole parameters, a parameter larger than a bucket goes alone.
    const int expected = bucket_floats == 1 ? 4 : bucket_floats == 6 ? 4 : bucket_floats == 13 ? 3
                         : bucket_floats == 18 ? 2 : 1;
    CHECK(comm.calls == expected);
  }
  TimesWorld one(1);
  params[0].set_grad(Tensor::randn({5}, 1));
  all_reduce_gradients(params, one, 64);
  CHECK(one.calls == 0);  // one process: nothing to do
}

TEST_CASE("mpirun -np 2 trains the parameters of one process with the same global batch" * doctest::skip(!kHaveMpi)) {
  fs::remove_all(kWork);
  write_sentence_corpus(kWork / "corpus", 4, 60);
  std::ofstream(kWork / "dp.yaml") << "run: {seed: 5, device: cpu}\n"
                                      "model: {d_model: 16, n_layer: 2, d_state: 8, headdim: 8, chunk_size: 8}\n"
                                      "data:\n  seq_len: 32\n  batch_size: 2\n  valid_fraction: 0.25\n"
                                      "  sources:\n    - {kind: text, path: " + (kWork / "corpus").string() + "}\n"
                                      "    - {kind: passkey, weight: 0.3}\n"
                                      "optim: {lr: 0.01, min_lr: 0.001, warmup_steps: 2}\n"
                                      "train: {steps: 8, eval_every: 4, eval_batches: 3, ckpt_every: 4}\n";
  // Sequences long enough for a passkey prompt (byte tokens).
  const std::string common = (kWork / "dp.yaml").string() + " --quiet --set data.seq_len=256";
  SUBCASE("2 processes x grad_accum 2 == 1 process x grad_accum 4") {
    const RunResult one = run_shell(kSsmlab.string() + " train " + common + " --set train.grad_accum=4 --run-dir " +
                                        (kWork / "one").string(),
                                    kWork);
    INFO(one.err);
    REQUIRE(one.exit_code == 0);
    const RunResult two =
        run_shell(mpirun(2, "train " + common + " --set train.grad_accum=2 --run-dir " + (kWork / "two").string()),
                  kWork);
    INFO(two.err);
    REQUIRE(two.exit_code == 0);
    const std::vector<double> a = checkpoint_parameters(kWork / "one" / "ckpt");
    const std::vector<double> b = checkpoint_parameters(kWork / "two" / "ckpt");
    REQUIRE(a.size() == b.size());
    const Tensor ta = Tensor::from_vector<double>(a, {static_cast<int64_t>(a.size())});
    const Tensor tb = Tensor::from_vector<double>(b, {static_cast<int64_t>(b.size())});
    CHECK_CLOSE("parameters after 8 steps, 2 processes vs 1", tb, ta, 1e-6);
    // The logged losses agree too, and only rank 0 wrote a run directory's metrics.
    const std::vector<std::string> la = logged_losses(kWork / "one" / "metrics.jsonl");
    const std::vector<std::string> lb = logged_losses(kWork / "two" / "metrics.jsonl");
    REQUIRE(la.size() == 8);
    REQUIRE(lb.size() == 8);
    for (size_t i = 0; i < la.size(); ++i) CHECK(std::stod(lb[i]) == doctest::Approx(std::stod(la[i])).epsilon(1e-6));
  }
  SUBCASE("with truncated BPTT segments as well") {
    const std::string seg = common + " --set data.segments=2 --set data.seq_len=128";
    REQUIRE(run_shell(kSsmlab.string() + " train " + seg + " --set train.grad_accum=2 --run-dir " +
                          (kWork / "seg1").string(),
                      kWork)
                .exit_code == 0);
    const RunResult two = run_shell(mpirun(2, "train " + seg + " --run-dir " + (kWork / "seg2").string()), kWork);
    INFO(two.err);
    REQUIRE(two.exit_code == 0);
    const std::vector<double> a = checkpoint_parameters(kWork / "seg1" / "ckpt");
    const std::vector<double> b = checkpoint_parameters(kWork / "seg2" / "ckpt");
    CHECK_CLOSE("parameters, segments 2, 2 processes vs 1",
                Tensor::from_vector<double>(b, {static_cast<int64_t>(b.size())}),
                Tensor::from_vector<double>(a, {static_cast<int64_t>(a.size())}), 1e-6);
  }
  SUBCASE("a bad config fails every process with exit code 2") {
    const RunResult bad = run_shell(mpirun(2, "train " + common + " --set data.sources[0].path=/nonexistent"), kWork);
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("does not exist") != std::string::npos);
  }
}
