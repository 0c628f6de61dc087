// cuda/device.h — the CUDA runtime as core/ sees it: device discovery, checked calls, and the
// device allocator registered with core/storage.h (so Tensor::empty(..., Device::cuda()) works).
//
// Host code includes this header without nvcc: nothing here needs CUDA types.
#pragma once

namespace ssm::cuda {

// Number of visible CUDA devices (0 when the driver or a GPU is missing; never throws).
int device_count();

// Registers the CUDA allocator and copies with core/ (idempotent). Returns false without a GPU.
bool initialize();

// Human-readable name and memory of device `index`, e.g. "NVIDIA H100 80GB HBM3, 79.1 GiB".
const char* device_description(int index);

}  // namespace ssm::cuda
