// ops/backend.cpp — which Backend serves which device.
#include "ops/backend.h"

#include <map>
#include <utility>

#include "core/error.h"
#include "ops/cpu/cpu_backend.h"  // defines: CpuBackend

namespace ssm {
namespace {

std::map<DeviceType, Backend*>& registry() {
  static CpuBackend cpu;
  static std::map<DeviceType, Backend*> backends{{DeviceType::cpu, &cpu}};
  return backends;
}

std::map<DeviceType, BackendAbsence>& absences() {
  static std::map<DeviceType, BackendAbsence> why;
  return why;
}

}  // namespace

bool has_backend(DeviceType type) { return registry().count(type) > 0; }

void register_backend(DeviceType type, Backend* backend) { registry()[type] = backend; }

void record_backend_absence(DeviceType type, BackendAbsence absence) { absences()[type] = std::move(absence); }

const BackendAbsence* backend_absence(DeviceType type) {
  auto it = absences().find(type);
  return it == absences().end() ? nullptr : &it->second;
}

Backend& backend_for(Device device) {
  auto it = registry().find(device.type);
  if (it == registry().end()) {
    const BackendAbsence* absent = backend_absence(device.type);
    throw UserError(absl::StrCat("no kernels for device ", device.str(), ": ",
                                 absent ? absent->why
                                        : "this ssmlab was built without CUDA (see README, 'Building with CUDA')"));
  }
  return *it->second;
}

}  // namespace ssm
