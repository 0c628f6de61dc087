// cuda/stream.cpp — the compute stream and EventTimer (cuda/stream.h).
#include "cuda/stream.h"

#include <cuda_runtime.h>

#include "cuda/check.h"  // defines: SSM_CUDA_CHECK

namespace ssm::cuda {

void* stream_handle() {
  static cudaStream_t s = [] {
    cudaStream_t created = nullptr;
    SSM_CUDA_CHECK("stream", cudaStreamCreateWithFlags(&created, cudaStreamDefault));
    return created;
  }();
  return s;
}

void synchronize() { SSM_CUDA_CHECK("synchronize", cudaStreamSynchronize(stream())); }

EventTimer::EventTimer() {
  cudaEvent_t a = nullptr, b = nullptr;
  SSM_CUDA_CHECK("EventTimer", cudaEventCreate(&a));
  SSM_CUDA_CHECK("EventTimer", cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
}

EventTimer::~EventTimer() {
  cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void EventTimer::start() { SSM_CUDA_CHECK("EventTimer", cudaEventRecord(static_cast<cudaEvent_t>(start_), stream())); }

void EventTimer::stop() { SSM_CUDA_CHECK("EventTimer", cudaEventRecord(static_cast<cudaEvent_t>(stop_), stream())); }

double EventTimer::elapsed_ms() const {
  SSM_CUDA_CHECK("EventTimer", cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)));
  float ms = 0;
  SSM_CUDA_CHECK("EventTimer",
                 cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(stop_)));
  return ms;
}

}  // namespace ssm::cuda
