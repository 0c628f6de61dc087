// core/torch_save.h — tensors written the way torch.save writes a state dict, so that PyTorch's
// torch.load (with weights_only=True too) reads them: the pytorch_model.bin that mamba_ssm's
// from_pretrained opens (train/export.h).
//
// The format (PyTorch's "zip" serialization, version 3): an uncompressed zip archive holding
//   archive/data.pkl     a protocol-2 pickle of {name: torch._utils._rebuild_tensor_v2(
//                        storage, offset 0, size, stride, requires_grad False, OrderedDict())},
//                        each storage a persistent id ('storage', torch.<Type>Storage, key,
//                        'cpu', numel)
//   archive/data/<key>   the storage's bytes, little-endian, each starting on a 64-byte boundary
//   archive/byteorder    "little";  archive/version  "3\n"
// Only the opcodes and globals that torch.load's restricted unpickler accepts are used. No zip64:
// a file over 4 GiB (or with 65535 entries or more) is refused with a UserError.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"  // defines: Tensor

namespace ssm {

// Writes CPU tensors (any layout; written contiguous) under their names, in the given order.
void save_torch_state_dict(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors);

// CRC-32 (the zip/PNG polynomial 0xEDB88320) of `n` bytes, continuing from `crc` (0 to start).
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace ssm
