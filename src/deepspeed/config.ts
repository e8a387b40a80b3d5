// The configs ftplan writes, in DeepSpeed's own snake_case keys (docs/_pages/config-json.md, runtime/zero/config.py
// at the commit versions.ts names; memory-model §8). ds-schema.ts holds the keys DeepSpeed reads, for `check`.
import { DS_DEFAULTS } from '../memory/constants.js'
import { nvmeParamBufferElements } from '../memory/offload.js'
import { optimizerThatRuns } from '../memory/optimizer.js'
import { defaultZeroSettings, offloadDeviceFor, type Strategy } from '../memory/strategy.js'
import type { ModelArch } from '../models/arch.js'
import { largestParamElements } from '../models/largest-param.js'
import type { Loss, Optimizer, OptimizerSettings, SchedulerSettings } from '../spec/spec.js'
import { warmupSteps } from './steps.js'

export type Auto = 'auto'
type Maybe<T> = T | Auto

export interface DeepSpeedOffload {
  device: 'cpu' | 'nvme' | 'none'
  nvme_path?: string
  pin_memory?: boolean
  buffer_count?: number
  buffer_size?: number
}

export interface DeepSpeedZero {
  stage: number
  offload_optimizer?: DeepSpeedOffload
  offload_param?: DeepSpeedOffload
  allgather_partitions?: boolean
  allgather_bucket_size?: Maybe<number>
  overlap_comm?: boolean
  reduce_scatter?: boolean
  reduce_bucket_size?: Maybe<number>
  contiguous_gradients?: boolean
  round_robin_gradients?: boolean
  sub_group_size?: number
  stage3_prefetch_bucket_size?: Maybe<number>
  stage3_param_persistence_threshold?: Maybe<number>
  stage3_max_live_parameters?: number
  stage3_max_reuse_distance?: number
  stage3_gather_16bit_weights_on_model_save?: boolean
}

export interface DeepSpeedOptimizerBlock {
  type: 'AdamW' | 'Lion'
  params: { lr: Maybe<number>; betas: Maybe<readonly [number, number]>; eps?: Maybe<number>; weight_decay: Maybe<number> }
}

export interface DeepSpeedSchedulerBlock {
  type: 'WarmupLR' | 'WarmupDecayLR' | 'WarmupCosineLR'
  params: Record<string, number | string>
}

export interface DeepSpeedConfig {
  train_batch_size: Maybe<number>
  train_micro_batch_size_per_gpu: Maybe<number>
  gradient_accumulation_steps: Maybe<number>
  gradient_clipping: Maybe<number>
  zero_allow_untested_optimizer?: boolean
  steps_per_print?: number
  wall_clock_breakdown?: boolean
  fp16: { enabled: Maybe<boolean>; loss_scale?: number; initial_scale_power?: number; loss_scale_window?: number; hysteresis?: number; min_loss_scale?: number }
  bf16: { enabled: Maybe<boolean> }
  optimizer?: DeepSpeedOptimizerBlock
  scheduler?: DeepSpeedSchedulerBlock
  zero_optimization: DeepSpeedZero
  aio?: { block_size: number; queue_depth: number; intra_op_parallelism: number; single_submit: boolean; overlap_events: boolean; use_gds: boolean }
}

/** What a config is written for: the plan's layout and strategy, the precision it runs, where NVMe is mounted. */
export interface DsConfigInput {
  strategy: Strategy
  /** The model, for the hidden size HF's "auto" bucket sizes derive from, and the largest parameter. */
  arch: ModelArch
  /** bf16, or fp16 (GPUs without bf16, or a fp16 spec), or fp32. */
  precision: 'bf16' | 'fp16' | 'fp32'
  /** The spec's optimizer; under offload DeepSpeed's CPU optimizer replaces it (optimizerThatRuns). */
  optimizer: Optimizer
  optim: OptimizerSettings
  scheduler: SchedulerSettings
  /** Optimizer steps of the whole run (optimizerSteps), null when the spec has no train section. */
  totalSteps: number | null
  /** The DLAMI mounts instance-store NVMe at /opt/dlami/nvme (aws-gpu-catalog.md §8). */
  nvmePath?: string
  style: 'deepspeed' | 'hf'
  /** The spec's loss: `fused` is Liger's kernel, which HF Trainer turns on with --use_liger_kernel. */
  loss?: Loss
}

export const DLAMI_NVME_PATH = '/opt/dlami/nvme'

/** fp16 dynamic loss scaling, DeepSpeed's defaults (loss_scale 0 = dynamic), as LLaMA-Factory's configs spell them. */
const FP16_SCALING = { loss_scale: 0, loss_scale_window: 1000, initial_scale_power: 16, hysteresis: 2, min_loss_scale: 1 }
/**
 * DeepSpeed's aio defaults under their current names (runtime/swap_tensor/constants.py:8-30): the thread
 * count is `intra_op_parallelism` since DeepSpeed #7056; `thread_count` is no longer read.
 */
const AIO = { block_size: 1_048_576, queue_depth: 8, intra_op_parallelism: 1, single_submit: false, overlap_events: true, use_gds: false }

/**
 * The optimizer DeepSpeed builds from the config's block (engine.py _configure_basic_optimizer): AdamW becomes
 * FusedAdam, or DeepSpeedCPUAdam under offload; Lion FusedLion or DeepSpeedCPULion. Optimizers DeepSpeed has
 * no builder for (bitsandbytes 8-bit, paged, Adafactor, SGD) get no block: the trainer builds them.
 */
export function dsOptimizerType(optimizer: Optimizer, s: Pick<Strategy, 'zeroStage' | 'offload'>): 'AdamW' | 'Lion' | null {
  const runs = optimizerThatRuns(optimizer, s)
  return runs === 'adamw' ? 'AdamW' : runs === 'lion' ? 'Lion' : null
}

/**
 * DeepSpeed's scheduler for the spec's HF scheduler (runtime/lr_schedules.py): linear → WarmupDecayLR,
 * cosine → WarmupCosineLR (to zero: cos_min_ratio 0), constant_with_warmup → WarmupLR; the decaying ones need
 * the run's step count. Every DeepSpeed warm-up needs at least one step (lr_schedules.py:708, 851), so a run
 * without warm-up gets one. Null: no DeepSpeed equivalent, or no step count; the lr stays constant under
 * the plain launcher (HF Trainer builds its own scheduler from --lr_scheduler_type).
 */
export function dsScheduler(sched: SchedulerSettings, lr: number, totalSteps: number | null): { block: DeepSpeedSchedulerBlock; warmupSteps: number; totalSteps: number | null } | null {
  const warm = (steps: number | null) => Math.max(1, steps === null ? sched.warmupSteps : warmupSteps(steps, sched.warmupRatio, sched.warmupSteps))
  if (sched.type === 'constant_with_warmup') {
    if (totalSteps === null && sched.warmupSteps === 0 && sched.warmupRatio > 0) return null
    const w = warm(totalSteps)
    return { block: { type: 'WarmupLR', params: { warmup_min_lr: 0, warmup_max_lr: lr, warmup_num_steps: w, warmup_type: 'linear' } }, warmupSteps: w, totalSteps: null }
  }
  if (totalSteps === null) return null
  const w = warm(totalSteps)
  if (sched.type === 'linear') {
    return { block: { type: 'WarmupDecayLR', params: { total_num_steps: totalSteps, warmup_min_lr: 0, warmup_max_lr: lr, warmup_num_steps: w, warmup_type: 'linear' } }, warmupSteps: w, totalSteps }
  }
  if (sched.type === 'cosine') {
    return { block: { type: 'WarmupCosineLR', params: { total_num_steps: totalSteps, warmup_min_ratio: 0, warmup_num_steps: w, cos_min_ratio: 0, warmup_type: 'linear' } }, warmupSteps: w, totalSteps }
  }
  return null
}

/**
 * The DeepSpeed config for a plan. Bucket sizes, overlap_comm and the stage-3 knobs are the strategy's
 * ZeroSettings, the very values the memory estimate used. `hf` style leaves to HF Trainer what it fills in
 * ("auto" in the positions of LLaMA-Factory's ds_z*_config.json); `deepspeed` style is fully explicit: the
 * plain launcher's whole run (optimizer, lr, scheduler) is in it.
 */
export function dsConfigFor(input: DsConfigInput): DeepSpeedConfig {
  const s = input.strategy
  const z = s.zero
  const hf = input.style === 'hf'
  // "auto" makes HF fill hidden²-based sizes; a plan that shrank its buckets writes them out instead.
  const d = defaultZeroSettings(input.arch, s.zeroStage)
  const auto = (key: 'reduceBucketSize' | 'prefetchBucketSize' | 'paramPersistenceThreshold') => (hf && z[key] === d[key] ? 'auto' : Math.floor(z[key]))
  const offloading = s.zeroStage > 0 && s.offload !== 'none'
  const device = offloadDeviceFor(s.offloadDevice, s.zeroStage)
  const nvme = device === 'nvme' ? { nvme_path: input.nvmePath ?? DLAMI_NVME_PATH } : {}
  const zero: DeepSpeedZero = { stage: s.zeroStage }
  if (offloading) zero.offload_optimizer = { device, ...nvme, pin_memory: true }
  if (offloading && s.offload === 'optimizer+params' && s.zeroStage === 3) {
    zero.offload_param = device === 'nvme'
      ? { device, ...nvme, pin_memory: true, buffer_count: DS_DEFAULTS.offloadParamBufferCount, buffer_size: nvmeParamBufferElements(largestParamElements(input.arch), s.gpus) }
      : { device, pin_memory: true }
  }
  if (s.zeroStage < 3) {
    Object.assign(zero, {
      allgather_partitions: true, allgather_bucket_size: Math.floor(z.allgatherBucketSize), overlap_comm: z.overlapComm, reduce_scatter: true,
      reduce_bucket_size: Math.floor(z.reduceBucketSize), contiguous_gradients: true, round_robin_gradients: offloading,
    })
  } else {
    Object.assign(zero, {
      overlap_comm: z.overlapComm, contiguous_gradients: true, sub_group_size: Math.floor(z.subGroupSize),
      reduce_bucket_size: auto('reduceBucketSize'),
      stage3_prefetch_bucket_size: auto('prefetchBucketSize'),
      stage3_param_persistence_threshold: auto('paramPersistenceThreshold'),
      stage3_max_live_parameters: Math.floor(z.maxLiveParameters), stage3_max_reuse_distance: Math.floor(z.maxReuseDistance),
      stage3_gather_16bit_weights_on_model_save: true,
    })
  }
  const o = input.optim
  const global = s.microBatch * s.accumulation * s.gpus
  const config: DeepSpeedConfig = {
    train_batch_size: hf ? 'auto' : global,
    train_micro_batch_size_per_gpu: hf ? 'auto' : s.microBatch,
    gradient_accumulation_steps: hf ? 'auto' : s.accumulation,
    gradient_clipping: hf ? 'auto' : o.maxGradNorm,
    zero_allow_untested_optimizer: true,
    ...(hf ? {} : { steps_per_print: 100, wall_clock_breakdown: false }),
    fp16: hf ? { enabled: 'auto', ...FP16_SCALING } : input.precision === 'fp16' ? { enabled: true, ...FP16_SCALING } : { enabled: false },
    bf16: { enabled: hf ? 'auto' : input.precision === 'bf16' },
    zero_optimization: zero,
  }
  const type = dsOptimizerType(input.optimizer, s)
  // hf style names the optimizer only under offload, where DeepSpeed's CPU optimizer must run; HF fills its "auto" params.
  if (type && (!hf || offloading)) {
    const eps = type === 'AdamW' ? { eps: hf ? 'auto' as const : o.eps } : {}
    config.optimizer = { type, params: hf ? { lr: 'auto', betas: 'auto', ...eps, weight_decay: 'auto' } : { lr: o.lr, betas: [o.betas[0], o.betas[1]], ...eps, weight_decay: o.weightDecay } }
  }
  if (!hf) {
    const sched = dsScheduler(input.scheduler, o.lr, input.totalSteps)
    if (sched) config.scheduler = sched.block
  }
  if (device === 'nvme' && offloading) config.aio = AIO
  return config
}

/** Stable text: keys in the order written above, 2-space JSON, trailing newline. */
export function dsConfigText(config: DeepSpeedConfig): string {
  return JSON.stringify(config, null, 2) + '\n'
}
