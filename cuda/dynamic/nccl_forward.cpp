// cuda/dynamic/nccl_forward.cpp — the NCCL functions cuda/nccl_comm.cu calls, defined as forwards
// into the libnccl that cuda/dynamic/library_loader.h opens on first use (nccl.h's prototypes).
// Built with nccl_comm.cu, when CMake finds nccl.h.
#include <nccl.h>

#include "cuda/dynamic/library_loader.h"  // defines: nccl_library, resolved

#define SSM_NCCL(name) ::ssm::cuda::resolved<&name>(::ssm::cuda::nccl_library, #name)

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) { return SSM_NCCL(ncclGetUniqueId)(uniqueId); }

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  return SSM_NCCL(ncclCommInitRank)(comm, nranks, commId, rank);
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) { return SSM_NCCL(ncclCommDestroy)(comm); }

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  return SSM_NCCL(ncclAllReduce)(sendbuff, recvbuff, count, datatype, op, comm, stream);
}

const char* ncclGetErrorString(ncclResult_t result) { return SSM_NCCL(ncclGetErrorString)(result); }
