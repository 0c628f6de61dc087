// ops/backend.cpp — which Backend serves which device.
#include "ops/backend.h"

#include <map>

#include "core/error.h"
#include "ops/cpu/cpu_backend.h"  // defines: CpuBackend

namespace ssm {
namespace {

std::map<DeviceType, Backend*>& registry() {
  static CpuBackend cpu;
  static std::map<DeviceType, Backend*> backends{{DeviceType::cpu, &cpu}};
  return backends;
}

}  // namespace

bool has_backend(DeviceType type) { return registry().count(type) > 0; }

void register_backend(DeviceType type, Backend* backend) { registry()[type] = backend; }

Backend& backend_for(Device device) {
  auto it = registry().find(device.type);
  SSM_USER_CHECK(it != registry().end(), "no kernels for device ", device.str(),
                 ": this ssmlab was built without CUDA (see README, 'Building with CUDA')");
  return *it->second;
}

}  // namespace ssm
