import type { ModelArch } from '../models/arch.js'
import type { FinetuneSpec, Offload, OffloadDevice, ZeroStage } from '../spec/spec.js'
import { DS_DEFAULTS } from './constants.js'

/** DeepSpeed knobs that size GPU buffers; `ds-config` writes these same values. */
export interface ZeroSettings {
  reduceBucketSize: number
  allgatherBucketSize: number
  overlapComm: boolean
  prefetchBucketSize: number
  paramPersistenceThreshold: number
  maxLiveParameters: number
  /** stage3_max_reuse_distance: a gathered parameter whose next use is this close (in parameters) stays gathered. */
  maxReuseDistance: number
  subGroupSize: number
}

/** How a run is laid out on hardware: what `plan` searches over and `estimate` takes from the spec or flags. */
export interface Strategy {
  /** Data-parallel GPUs: they share ZeRO state. */
  gpus: number
  /** GPUs in one node, for the CPU RAM a node needs. */
  gpusPerNode: number
  /** 0: no DeepSpeed (HF Trainer / PyTorch DDP), unless deepspeedAtZero0; 1–3: DeepSpeed ZeRO. */
  zeroStage: ZeroStage
  /** DeepSpeed runs at ZeRO stage 0 (a config that names stage 0): its bf16 optimizer, no sharding. */
  deepspeedAtZero0?: boolean
  offload: Offload
  offloadDevice: OffloadDevice
  gradientCheckpointing: boolean
  microBatch: number
  accumulation: number
  zero: ZeroSettings
}

/**
 * HF Trainer's "auto" bucket sizes (transformers integrations/deepspeed.py trainer_config_finalize), made
 * integers as DeepSpeed ≥ 0.15 requires; overlap_comm as DeepSpeed's default (true only for stage 3).
 */
export function defaultZeroSettings(arch: ModelArch, stage: ZeroStage): ZeroSettings {
  const h = arch.hiddenSize
  return {
    reduceBucketSize: h * h,
    allgatherBucketSize: h * h,
    overlapComm: stage === 3,
    prefetchBucketSize: Math.floor(0.9 * h * h),
    paramPersistenceThreshold: 10 * h,
    maxLiveParameters: DS_DEFAULTS.maxLiveParameters,
    maxReuseDistance: DS_DEFAULTS.maxReuseDistance,
    subGroupSize: DS_DEFAULTS.subGroupSize,
  }
}

/**
 * Bucket sizes a quarter of HF's auto values, for plans whose headroom is too tight for the defaults: the
 * buckets hold less per collective (more, smaller NCCL calls) and free GPU memory (memory-model §4.1).
 */
export function tightZeroSettings(arch: ModelArch, stage: ZeroStage): ZeroSettings {
  const d = defaultZeroSettings(arch, stage)
  return {
    ...d,
    reduceBucketSize: Math.floor(d.reduceBucketSize / 4),
    allgatherBucketSize: Math.floor(d.allgatherBucketSize / 4),
    prefetchBucketSize: Math.floor(d.prefetchBucketSize / 4),
  }
}

/**
 * Where offloaded state really goes. NVMe (ZeRO-Infinity) exists only in stage 3; stages 1–2 treat any
 * offload_optimizer device but none as CPU offload (runtime/zero/stage_1_and_2.py:186-188), so a plan at
 * stage 1–2 is estimated, written and explained as CPU offload.
 */
export function offloadDeviceFor(device: OffloadDevice, zeroStage: ZeroStage): OffloadDevice {
  return zeroStage === 3 ? device : 'cpu'
}

export interface StrategyOverrides {
  gpus?: number
  zeroStage?: ZeroStage
  offload?: Offload
  gradientCheckpointing?: boolean
}

/**
 * The strategy `estimate` uses: the spec's values, flags over them; `auto` means no DeepSpeed, no offload
 * and no gradient checkpointing (the plain run; `plan` is what chooses).
 */
export function strategyFromSpec(spec: FinetuneSpec, arch: ModelArch, o: StrategyOverrides = {}): Strategy {
  const zeroStage = o.zeroStage ?? (spec.deepspeed.zero === 'auto' ? 0 : spec.deepspeed.zero)
  const gpus = o.gpus ?? spec.gpus
  const offload = o.offload ?? (spec.deepspeed.offload === 'auto' ? 'none' : spec.deepspeed.offload)
  return {
    gpus,
    gpusPerNode: Math.min(gpus, 8),
    zeroStage,
    offload,
    offloadDevice: offload === 'none' ? 'cpu' : offloadDeviceFor(spec.deepspeed.offloadDevice, zeroStage),
    gradientCheckpointing: o.gradientCheckpointing ?? (spec.gradientCheckpointing === 'auto' ? false : spec.gradientCheckpointing),
    microBatch: spec.batch.micro,
    accumulation: spec.batch.accumulation,
    zero: defaultZeroSettings(arch, zeroStage),
    ...(zeroStage === 0 && spec.deepspeed.engine === 'deepspeed' ? { deepspeedAtZero0: true } : {}),
  }
}
