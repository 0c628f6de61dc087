// train/communicator.h — data parallelism as the trainer sees it: who am I (rank of world), and
// collective sums. The trainer does not know which library is underneath.
//
// Backends: "single" (one process, no collectives, no MPI needed), "mpi" (train/mpi_communicator.cpp,
// built when CMake finds MPI: host buffers, and device tensors staged through the host) and
// a device library plugged in for device tensors with with_device_all_reduce (NCCL:
// cuda/nccl_comm.h, wired in cli/). Processes are started by a launcher — `mpirun -np N`, or
// `srun` — and read their rank and world size from its environment (launch_from_environment).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"  // defines: Tensor, DeviceType

namespace ssm {

struct LaunchInfo {
  int rank = 0;        // this process, 0 .. world − 1
  int world = 1;       // processes in the run
  int local_rank = 0;  // this process among those on its node (picks the GPU)
  std::string launcher = "none";  // "Open MPI", "PMI", "Slurm" or "none"
};

// Reads OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK} (Open MPI's mpirun), PMI_{RANK,SIZE} (MPICH and
// Intel MPI's hydra) or SLURM_{PROCID,STEP_NUM_TASKS|NTASKS,LOCALID} (srun), in that order.
// None set: one process. Inconsistent values are a UserError naming the variables.
LaunchInfo launch_from_environment();

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual std::string backend() const = 0;  // "single", "mpi", "mpi+nccl"
  // Sums `values` over all processes, in place (losses, flags).
  virtual void all_reduce_sum(std::vector<double>& values) = 0;
  // Sums a contiguous f32 tensor over all processes, in place, wherever it lives.
  virtual void all_reduce_sum(Tensor& tensor) = 0;
  // Copies `bytes` bytes at `data` from process `root` to every process.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every process of the run with `exit_code` (after a failure on this one: the others
  // would otherwise wait for it forever in the next collective).
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// One process: every collective is the identity.
std::unique_ptr<Communicator> make_single_process_communicator();

// The host communicator for `launch`: single when world == 1 (MPI is not touched, so no
// launcher is needed), MPI otherwise (MPI_Init here; UserError when ssmlab was built without
// MPI, or when MPI's rank and size disagree with the launcher's environment).
std::unique_ptr<Communicator> make_host_communicator(const LaunchInfo& launch);

// True when this ssmlab was built with MPI.
bool mpi_available();

// Wraps `host` so all_reduce_sum(Tensor&) of tensors on `device` calls `reduce(pointer, count)`
// (f32 elements, in place) — a device library such as NCCL — and everything else goes to `host`.
using DeviceAllReduce = std::function<void(void* data, int64_t count)>;
std::unique_ptr<Communicator> with_device_all_reduce(std::unique_ptr<Communicator> host, DeviceType device,
                                                     std::string name, DeviceAllReduce reduce);

// Sums the gradients of `params` over all processes and divides by nothing: the trainer already
// scaled each process's loss by 1 / (world · grad_accum), so the sum is the global-batch mean.
// Gradients are packed into flat buckets of about `bucket_bytes` (one collective per bucket
// instead of one per tensor); a parameter without a gradient on this process contributes zeros.
// With one process this does nothing.
void all_reduce_gradients(const std::vector<Tensor>& params, Communicator& comm, size_t bucket_bytes);

}  // namespace ssm
