// cli/distributed_setup.cpp — MPI for the host side, NCCL (when built) for device gradients.
#include "cli/distributed_setup.h"

#include "core/error.h"  // defines: UserError

#if defined(SSMLAB_WITH_NCCL)
#include "cuda/nccl_comm.h"  // defines: NcclComm, nccl_unique_id, select_device
#endif

namespace ssm::cli {

std::unique_ptr<Communicator> make_training_communicator(const LaunchInfo& launch, Device device) {
  std::unique_ptr<Communicator> comm = make_host_communicator(launch);
#if defined(SSMLAB_WITH_NCCL)
  if (device.is_cuda() && comm->world() > 1) {
    cuda::select_device(launch.local_rank);
    // The unique id is made once, on rank 0, and reaches the others over MPI.
    cuda::NcclId id{};
    if (comm->rank() == 0) id = cuda::nccl_unique_id();
    comm->broadcast(id.data(), id.size(), 0);
    auto nccl = std::make_shared<cuda::NcclComm>(comm->rank(), comm->world(), id);
    comm = with_device_all_reduce(std::move(comm), DeviceType::cuda, "nccl",
                                  [nccl](void* data, int64_t count) { nccl->all_reduce_sum_f32(data, count); });
  }
#else
  (void)device;  // GPU gradients go through MPI, staged in host memory
#endif
  return comm;
}

}  // namespace ssm::cli
