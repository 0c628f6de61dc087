// ops/scan/selective_scan_cpu.h — the CPU selective-scan implementations behind
// CpuBackend::selective_scan_forward/backward, and the race-free sums their backwards share.
// Raw contiguous pointers in the layouts of ops/scan/selective_scan.h; h0, dhT and dh0 may be null.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/backend.h"  // defines: SelectiveScanShape

namespace ssm::cpu {

template <typename T>
void selective_scan_recurrent_forward(const SelectiveScanShape& s, const T* x, const T* dt, const T* A,
                                      const T* Bm, const T* Cm, const T* h0, T* y, T* hT);
template <typename T>
void selective_scan_recurrent_backward(const SelectiveScanShape& s, const T* x, const T* dt, const T* A,
                                       const T* Bm, const T* Cm, const T* h0, const T* dy, const T* dhT, T* dx,
                                       T* ddt, T* dA, T* dB, T* dC, T* dh0);

template <typename T>
void selective_scan_chunked_forward(const SelectiveScanShape& s, int64_t chunk, const T* x, const T* dt,
                                    const T* A, const T* Bm, const T* Cm, const T* h0, T* y, T* hT);
template <typename T>
void selective_scan_chunked_backward(const SelectiveScanShape& s, int64_t chunk, const T* x, const T* dt,
                                     const T* A, const T* Bm, const T* Cm, const T* h0, const T* dy,
                                     const T* dhT, T* dx, T* ddt, T* dA, T* dB, T* dC, T* dh0);

// The backward passes split their work into jobs (batch row b, block k of channels). B and C are
// shared by every channel and A by every batch row, so dB, dC and dA are sums over jobs. Each job
// adds into its own slice here, and write() adds the slices in a fixed order: race-free, and the
// same bits whatever the thread count (the blocks depend on E only, never on the threads).
class SelectiveScanGradSums {
 public:
  explicit SelectiveScanGradSums(const SelectiveScanShape& s);

  int64_t blocks() const { return blocks_; }
  int64_t block_begin(int64_t k) const { return k * block_size_; }
  int64_t block_end(int64_t k) const;
  double* dA(int64_t b) { return dA_.data() + b * E_ * N_; }                  // (E,N) of row b
  double* dB(int64_t b, int64_t k) { return dB_.data() + (b * blocks_ + k) * T_ * N_; }  // (T,N)
  double* dC(int64_t b, int64_t k) { return dC_.data() + (b * blocks_ + k) * T_ * N_; }  // (T,N)

  // dA (E,N) = Σ_b; dB, dC (B,T,N) = Σ_k, in index order.
  template <typename T>
  void write(T* dA, T* dB, T* dC) const;

 private:
  int64_t batch_, T_, E_, N_, blocks_, block_size_;
  std::vector<double> dA_, dB_, dC_;
};

}  // namespace ssm::cpu
