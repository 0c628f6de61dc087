// core/philox.h — Philox-4x32-10, the counter-based random number generator.
//
// Why counter-based: the i-th random number is a pure function of (seed, i), so any device can
// draw any slice of a stream without sharing state, a CUDA kernel and the CPU produce identical
// numbers, and "where am I in the stream" is just an integer to save in a checkpoint.
// Reference: Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11). The same
// constants are used by cuRAND and by PyTorch's CUDA generator.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SSM_HOST_DEVICE __host__ __device__
#else
#define SSM_HOST_DEVICE
#endif

namespace ssm {

struct Philox {
  // Returns 4 random 32-bit words for the 128-bit counter (counter_hi:counter_lo, 0, 0).
  SSM_HOST_DEVICE static void block(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
    uint32_t c2 = 0, c3 = 0;
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      // One Philox round: two 32x32->64 multiplies, their halves mixed with the key.
      const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
      const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
      const uint32_t n1 = static_cast<uint32_t>(p1);
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
      const uint32_t n3 = static_cast<uint32_t>(p0);
      c0 = n0; c1 = n1; c2 = n2; c3 = n3;
      k0 += 0x9E3779B9u;  // Weyl sequence key schedule
      k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  }

  // The i-th uniform float in [0, 1) of the stream `seed`: 24 random bits, like torch.rand.
  SSM_HOST_DEVICE static float uniform(uint64_t seed, uint64_t i) {
    uint32_t w[4];
    block(seed, i / 4, w);
    return static_cast<float>(w[i % 4] >> 8) * (1.0f / 16777216.0f);
  }

  // The i-th standard normal of the stream: Box-Muller on the word pair of block i.
  SSM_HOST_DEVICE static float normal(uint64_t seed, uint64_t i) {
    uint32_t w[4];
    block(seed ^ 0x5bd1e995u, i / 2, w);
    const int pair = static_cast<int>(i % 2) * 2;
    // (w + 1) / 2^32 lies in (0, 1], so log never sees 0.
    const float u1 = (static_cast<float>(w[pair]) + 1.0f) * (1.0f / 4294967296.0f);
    const float u2 = static_cast<float>(w[pair + 1]) * (1.0f / 4294967296.0f);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307179586f * u2);
  }
};

// A host-side cursor over one Philox stream: draws consecutive numbers, and its position is
// a plain integer (save it to resume the stream exactly).
class Rng {
 public:
  explicit Rng(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  float uniform() { return Philox::uniform(seed_, offset_++); }
  float normal() { return Philox::normal(seed_, offset_++); }
  // Uniform integer in [0, n): 64 random bits reduced modulo n (bias < 2^-32 for n < 2^32).
  uint64_t below(uint64_t n) {
    uint32_t w[4];
    Philox::block(seed_ ^ 0x27d4eb2fu, offset_++, w);
    const uint64_t r = (static_cast<uint64_t>(w[0]) << 32) | w[1];
    return r % n;
  }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // A child stream, independent of this one, for a named purpose (e.g. data vs init).
  static uint64_t derive(uint64_t seed, uint64_t tag) {
    uint32_t w[4];
    Philox::block(seed, tag ^ 0x9E3779B97F4A7C15ull, w);
    return (static_cast<uint64_t>(w[0]) << 32) | w[1];
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

}  // namespace ssm
