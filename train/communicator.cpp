// train/communicator.cpp — the launcher's environment, the one-process communicator, the
// device-library wrapper and the bucketed gradient all-reduce. MPI itself is in
// train/mpi_communicator.cpp.
#include "train/communicator.h"

#include <cstdlib>
#include <cstring>

#include "autograd/grad_mode.h"  // defines: NoGradGuard
#include "core/error.h"          // defines: UserError, SSM_CHECK

namespace ssm {

namespace {

// An environment variable as a non-negative integer; -1 when unset. UserError when malformed.
int env_int(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text) return -1;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  SSM_USER_CHECK(*end == '\0' && value >= 0 && value < (1 << 24), "environment variable ", name, "='", text,
                 "' is not a process count or index");
  return static_cast<int>(value);
}

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  std::string backend() const override { return "single"; }
  void all_reduce_sum(std::vector<double>&) override {}
  void all_reduce_sum(Tensor&) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
};

class WithDeviceAllReduce final : public Communicator {
 public:
  WithDeviceAllReduce(std::unique_ptr<Communicator> host, DeviceType device, std::string name, DeviceAllReduce reduce)
      : host_(std::move(host)), device_(device), name_(std::move(name)), reduce_(std::move(reduce)) {}
  int rank() const override { return host_->rank(); }
  int world() const override { return host_->world(); }
  std::string backend() const override { return host_->backend() + "+" + name_; }
  void all_reduce_sum(std::vector<double>& values) override { host_->all_reduce_sum(values); }
  void all_reduce_sum(Tensor& tensor) override {
    if (tensor.device().type != device_) return host_->all_reduce_sum(tensor);
    SSM_CHECK(tensor.dtype() == Dtype::f32 && tensor.is_contiguous(), "device all-reduce needs a contiguous f32 ",
              "tensor, got ", tensor.str());
    reduce_(tensor.raw_data(), tensor.numel());
  }
  void broadcast(void* data, size_t bytes, int root) override { host_->broadcast(data, bytes, root); }
  void barrier() override { host_->barrier(); }
  [[noreturn]] void abort(int exit_code) override {
    host_->abort(exit_code);
    std::exit(exit_code);  // not reached: the host communicator ends the process
  }

 private:
  std::unique_ptr<Communicator> host_;
  DeviceType device_;
  std::string name_;
  DeviceAllReduce reduce_;
};

// A view of `flat` at element `offset` shaped like `like` (contiguous).
Tensor window(const Tensor& flat, const Tensor& like, int64_t offset) {
  return flat.as_strided(like.shape(), contiguous_strides(like.shape()), flat.offset() + offset);
}

}  // namespace

LaunchInfo launch_from_environment() {
  struct Scheme {
    const char* launcher;
    const char* rank;
    const char* size;
    const char* local_rank;
  };
  // srun exports SLURM_NTASKS for the whole allocation; SLURM_STEP_NUM_TASKS is this job step's.
  const char* slurm_size = std::getenv("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
  const Scheme schemes[] = {
      {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"PMI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
      {"Slurm", "SLURM_PROCID", slurm_size, "SLURM_LOCALID"},
  };
  for (const Scheme& s : schemes) {
    const int rank = env_int(s.rank), size = env_int(s.size);
    if (rank < 0 && size < 0) continue;
    SSM_USER_CHECK(rank >= 0 && size >= 1 && rank < size, "launcher environment: ", s.rank, "=", rank, " and ", s.size,
                   "=", size, " do not describe a process of a run");
    LaunchInfo info;
    info.rank = rank;
    info.world = size;
    info.local_rank = std::max(env_int(s.local_rank), 0);
    info.launcher = s.launcher;
    return info;
  }
  return {};
}

std::unique_ptr<Communicator> make_single_process_communicator() { return std::make_unique<SingleProcess>(); }

#if !defined(SSMLAB_WITH_MPI)
bool mpi_available() { return false; }

std::unique_ptr<Communicator> make_host_communicator(const LaunchInfo& launch) {
  SSM_USER_CHECK(launch.world == 1, "started as process ", launch.rank, " of ", launch.world, " by ", launch.launcher,
                 ", but this ssmlab was built without MPI: install libopenmpi-dev (scripts/install_deps.sh) and ",
                 "rebuild, or run one process");
  return make_single_process_communicator();
}
#endif

std::unique_ptr<Communicator> with_device_all_reduce(std::unique_ptr<Communicator> host, DeviceType device,
                                                     std::string name, DeviceAllReduce reduce) {
  return std::make_unique<WithDeviceAllReduce>(std::move(host), device, std::move(name), std::move(reduce));
}

void all_reduce_gradients(const std::vector<Tensor>& params, Communicator& comm, size_t bucket_bytes) {
  if (comm.world() == 1 || params.empty()) return;
  autograd::NoGradGuard no_grad;
  const int64_t bucket_elements = std::max<int64_t>(static_cast<int64_t>(bucket_bytes / sizeof(float)), 1);
  size_t first = 0;
  while (first < params.size()) {
    // Parameters [first, last) fill one bucket (a parameter larger than a bucket goes alone).
    size_t last = first;
    int64_t elements = 0;
    while (last < params.size() && (last == first || elements + params[last].numel() <= bucket_elements)) {
      elements += params[last++].numel();
    }
    const Device device = params[first].device();
    Tensor flat = Tensor::zeros({elements}, Dtype::f32, device);
    int64_t offset = 0;
    for (size_t i = first; i < last; ++i) {
      SSM_CHECK(params[i].device() == device && params[i].dtype() == Dtype::f32, "all_reduce_gradients: ",
                params[i].str(), " differs from the first parameter's device or dtype");
      const Tensor grad = params[i].grad();
      if (grad.defined()) window(flat, params[i], offset).copy_from(grad);
      offset += params[i].numel();
    }
    comm.all_reduce_sum(flat);
    offset = 0;
    for (size_t i = first; i < last; ++i) {
      Tensor grad = Tensor::empty(params[i].shape(), Dtype::f32, device);
      grad.copy_from(window(flat, params[i], offset));
      Tensor param = params[i];
      param.set_grad(grad);
      offset += params[i].numel();
    }
    first = last;
  }
}

}  // namespace ssm
