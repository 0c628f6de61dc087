// cuda/nccl_comm.cu — NcclComm over the NCCL library (see nccl_comm.h).
#include "cuda/nccl_comm.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>

#include "core/error.h"  // defines: Error

namespace ssm::cuda {

namespace {

static_assert(sizeof(ncclUniqueId) == kNcclIdBytes, "NcclId must hold an ncclUniqueId");

void check_nccl(ncclResult_t status, const char* call) {
  if (status != ncclSuccess) throw Error(absl::StrCat("NCCL call ", call, " failed: ", ncclGetErrorString(status)));
}

void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw Error(absl::StrCat("CUDA call ", call, " failed: ", cudaGetErrorString(status)));
}

#define SSM_NCCL_CHECK(call) check_nccl((call), #call)
#define SSM_CUDA_CHECK_NCCL(call) check_cuda((call), #call)

}  // namespace

NcclId nccl_unique_id() {
  ncclUniqueId id;
  SSM_NCCL_CHECK(ncclGetUniqueId(&id));
  NcclId out;
  std::memcpy(out.data(), &id, kNcclIdBytes);
  return out;
}

void select_device(int local_rank) {
  int count = 0;
  SSM_CUDA_CHECK_NCCL(cudaGetDeviceCount(&count));
  if (count == 0) throw Error("select_device: no CUDA device is visible");
  SSM_CUDA_CHECK_NCCL(cudaSetDevice(local_rank % count));
}

NcclComm::NcclComm(int rank, int world, const NcclId& id) {
  ncclUniqueId nccl_id;
  std::memcpy(&nccl_id, id.data(), kNcclIdBytes);
  ncclComm_t comm = nullptr;
  SSM_NCCL_CHECK(ncclCommInitRank(&comm, world, nccl_id, rank));
  comm_ = comm;
}

NcclComm::~NcclComm() {
  if (comm_) ncclCommDestroy(static_cast<ncclComm_t>(comm_));
}

void NcclComm::all_reduce_sum_f32(void* data, int64_t count) {
  // The legacy default stream orders this after the kernels that produced the gradients; the
  // synchronize makes the sum visible to the host-side steps that follow (clipping, AdamW).
  SSM_NCCL_CHECK(ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat32, ncclSum,
                               static_cast<ncclComm_t>(comm_), /*stream=*/0));
  SSM_CUDA_CHECK_NCCL(cudaStreamSynchronize(0));
}

}  // namespace ssm::cuda
