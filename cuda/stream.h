// cuda/stream.h — the compute stream and timing events, as host code sees them (no CUDA headers).
//
// ssmlab runs all GPU work in order on one stream of the current device: every kernel, every
// cuBLAS call and every host<->device copy. One stream is what makes the caching allocator safe
// without events: a block freed on the host is only reused by work queued after the work that
// last used it. The stream is created at first use and never destroyed (the driver reclaims it
// at exit); it is a blocking stream, so it also stays ordered with the legacy default stream.
// Multi-GPU runs use one process per GPU: select the device (cuda/device.h: set_device) before
// the first CUDA work.
#pragma once

namespace ssm::cuda {

void* stream_handle();  // the compute stream as a cudaStream_t
void synchronize();     // blocks the host until the compute stream has finished its work

// Elapsed GPU time between start() and stop() on the compute stream, read with elapsed_ms()
// (which waits for stop). For benchmarks: time after a warm-up, take the median of repeats.
class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start();
  void stop();
  double elapsed_ms() const;

 private:
  void* start_ = nullptr;  // cudaEvent_t
  void* stop_ = nullptr;
};

}  // namespace ssm::cuda
