import type { GpuName } from './names.js'

/** One instance type in one region, as the provider sells it. */
export interface InstanceOffer {
  provider: 'aws'
  region: string
  instanceType: string
  gpu: GpuName
  /** GPUs per instance; below 1 for fractional partitions (g6f), which cannot train. */
  gpuCount: number
  /** Per-GPU memory as the provider's API reports it (EC2 DescribeInstanceTypes), in MiB. */
  gpuMemoryMiB: number
  vcpus: number
  hostMemoryGiB: number
  /** Local instance-store NVMe, GB in total; 0 when EBS-only. */
  nvmeGb: number
  /** Baseline network bandwidth; null when unknown. */
  networkGbps: number | null
  /** Maximum EFA interfaces; 0 without EFA, null when unknown. */
  efaInterfaces: number | null
  interconnect: string
  /** On-demand Linux price; null when the source has none (never read as $0). */
  priceUsdPerHour: number | null
  spotPriceUsdPerHour: number | null
  /** Key into the catalog's sources. */
  source: string
}

/** A GPU model's facts, for precision and time (per GPU). */
export interface GpuModel {
  name: GpuName
  /** Memory per GPU as marketed, GB. */
  marketedMemoryGb: number
  bf16: boolean
  /** Peak dense (no sparsity) bf16 tensor TFLOPS, or fp16 where bf16 is absent; null when no source has it. */
  denseTflops: number | null
  memoryBandwidthGBps: number | null
  computeCapability: string
  /** Where the numbers come from (aws-gpu-catalog.md §4 source keys, NVIDIA's CUDA GPUs list for compute capability). */
  source: string
}

/** The oldest GPU generation the training stack runs on, and where that limit comes from. */
export interface ComputeCapabilityFloor {
  value: number
  source: string
}

export interface Catalog {
  offers: readonly InstanceOffer[]
  /** GPUs below this compute capability are never planned (spec constraints.min_compute_capability overrides it); absent: PYTORCH_MIN_COMPUTE_CAPABILITY. */
  minComputeCapability?: ComputeCapabilityFloor
  /** What the prices and specs are, and as of when (printed by `ftplan instances` and in every plan). */
  source: string
  asOf: string
}
