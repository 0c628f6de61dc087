// cli/distributed_setup.h — the communicator a `ssmlab train` process trains with: read the
// launcher's environment, start MPI when there are several processes, and on a GPU put NCCL
// under the gradient all-reduce. The one place that knows both train/ and cuda/.
#pragma once

#include <memory>

#include "core/dtype.h"          // defines: Device
#include "train/communicator.h"  // defines: Communicator, LaunchInfo

namespace ssm::cli {

// `device` is the resolved run.device. UserError when several processes were launched but this
// ssmlab has no MPI.
std::unique_ptr<Communicator> make_training_communicator(const LaunchInfo& launch, Device device);

}  // namespace ssm::cli
