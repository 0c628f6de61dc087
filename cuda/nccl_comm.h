// cuda/nccl_comm.h — NCCL all-reduce of device buffers, one process per GPU.
//
// Self-contained: knows nothing of the trainer. The unique id that ties the processes together
// is made on rank 0 (nccl_unique_id) and handed to the others by the caller (over MPI in
// cli/distributed_setup.cpp); the trainer reaches this class only through the Communicator
// interface of train/communicator.h. Host code includes this header without nvcc: nothing
// here needs CUDA or NCCL types. Built when CMake finds NCCL (SSMLAB_WITH_NCCL).
#pragma once

#include <array>
#include <cstdint>

namespace ssm::cuda {

constexpr size_t kNcclIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES
using NcclId = std::array<char, kNcclIdBytes>;

// A fresh id for a new group of processes (call on one process, share with the others).
NcclId nccl_unique_id();

// Makes GPU `local_rank` (mod the visible GPUs) this process's current device. Call before any
// device memory is allocated.
void select_device(int local_rank);

class NcclComm {
 public:
  // Collective: every process of the group calls it with the same id.
  NcclComm(int rank, int world, const NcclId& id);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  // In-place sum of `count` floats at device pointer `data` over the group; returns when the
  // result is in place (ordered after the work already queued on the default stream).
  void all_reduce_sum_f32(void* data, int64_t count);

 private:
  void* comm_ = nullptr;  // ncclComm_t
};

}  // namespace ssm::cuda
