import type { GpuName } from './names.js'
import type { ComputeCapabilityFloor, GpuModel } from './types.js'

/**
 * The oldest GPUs current PyTorch wheels run on. PyTorch 2.11 builds its CUDA 12.8 wheels for Turing (7.5) and
 * newer only, dropping Volta (pytorch/pytorch#172352, January 2026); CUDA 13.x, the PyPI default from 2.14, has
 * no Maxwell/Pascal/Volta support at all, and 2.15 removes the last CUDA 12.6 build that had it
 * (pytorch/pytorch#190385). So K80 (3.7), M60 (5.2) and V100 (7.0) are not planned unless the spec lowers the
 * floor for a pinned older stack (`constraints.min_compute_capability`).
 */
export const PYTORCH_MIN_COMPUTE_CAPABILITY: ComputeCapabilityFloor = {
  value: 7.5,
  source: 'current PyTorch CUDA wheels build for compute capability 7.5 (Turing) and newer (pytorch/pytorch#172352, #190385)',
}

/**
 * Per-GPU facts. TFLOPS are peak dense (no sparsity) bf16 tensor figures, fp16 for GPUs without bf16,
 * from aws-gpu-catalog.md §4 (NVIDIA datasheets via gmasse/gpu-specs and astroC86/gpu-datasheet; H100/H200
 * are NVIDIA's 1979 with-sparsity figure ÷ 2; A10G uses the A10 datasheet, an upper bound). Compute
 * capability: NVIDIA's "CUDA GPUs" list (developer.nvidia.com/cuda-gpus, read 2026-11-28); bf16 needs ≥ 8.0.
 */
export const GPU_MODELS = {
  K80: { name: 'K80', marketedMemoryGb: 12, bf16: false, denseTflops: null, memoryBandwidthGBps: null, computeCapability: '3.7', source: 'S6' },
  M60: { name: 'M60', marketedMemoryGb: 8, bf16: false, denseTflops: null, memoryBandwidthGBps: null, computeCapability: '5.2', source: 'S6' },
  T4: { name: 'T4', marketedMemoryGb: 16, bf16: false, denseTflops: 65, memoryBandwidthGBps: 300, computeCapability: '7.5', source: 'S11 (fp16)' },
  T4G: { name: 'T4G', marketedMemoryGb: 16, bf16: false, denseTflops: null, memoryBandwidthGBps: null, computeCapability: '7.5', source: 'S6' },
  V100: { name: 'V100', marketedMemoryGb: 16, bf16: false, denseTflops: 125, memoryBandwidthGBps: 900, computeCapability: '7.0', source: 'S11, S7 (fp16)' },
  'V100-32GB': { name: 'V100-32GB', marketedMemoryGb: 32, bf16: false, denseTflops: 125, memoryBandwidthGBps: 900, computeCapability: '7.0', source: 'S11, S7 (fp16)' },
  A10G: { name: 'A10G', marketedMemoryGb: 24, bf16: true, denseTflops: 125, memoryBandwidthGBps: 600, computeCapability: '8.6', source: 'S11, S12 (A10 datasheet)' },
  L4: { name: 'L4', marketedMemoryGb: 24, bf16: true, denseTflops: 121, memoryBandwidthGBps: 300, computeCapability: '8.9', source: 'S11' },
  L40S: { name: 'L40S', marketedMemoryGb: 48, bf16: true, denseTflops: 362, memoryBandwidthGBps: 864, computeCapability: '8.9', source: 'S11' },
  'A100-40GB': { name: 'A100-40GB', marketedMemoryGb: 40, bf16: true, denseTflops: 312, memoryBandwidthGBps: 1555, computeCapability: '8.0', source: 'S11, S12' },
  'A100-80GB': { name: 'A100-80GB', marketedMemoryGb: 80, bf16: true, denseTflops: 312, memoryBandwidthGBps: 2039, computeCapability: '8.0', source: 'S11' },
  H100: { name: 'H100', marketedMemoryGb: 80, bf16: true, denseTflops: 989.5, memoryBandwidthGBps: 3350, computeCapability: '9.0', source: 'S12, S9' },
  H200: { name: 'H200', marketedMemoryGb: 141, bf16: true, denseTflops: 989.5, memoryBandwidthGBps: 4800, computeCapability: '9.0', source: 'S12' },
  B200: { name: 'B200', marketedMemoryGb: 180, bf16: true, denseTflops: 2250, memoryBandwidthGBps: 8000, computeCapability: '10.0', source: 'S9, S12' },
  B300: { name: 'B300', marketedMemoryGb: 288, bf16: true, denseTflops: 2250, memoryBandwidthGBps: 8000, computeCapability: '10.3', source: 'S9 (P6 family figure)' },
  'RTX-PRO-4500': { name: 'RTX-PRO-4500', marketedMemoryGb: 32, bf16: true, denseTflops: null, memoryBandwidthGBps: null, computeCapability: '12.0', source: 'S1' },
  'RTX-PRO-6000': { name: 'RTX-PRO-6000', marketedMemoryGb: 96, bf16: true, denseTflops: null, memoryBandwidthGBps: 1792, computeCapability: '12.0', source: 'S1 (bandwidth low confidence)' },
} as const satisfies Record<GpuName, GpuModel>
