// DeepSpeed's own snake_case keys live here and only here (docs/_pages/config-json.md, runtime/zero/config.py
// @38327e07; memory-model §8). Everything else in ftplan is camelCase.
import { DS_DEFAULTS } from '../memory/constants.js'
import { defaultZeroSettings, type Strategy } from '../memory/strategy.js'
import type { ModelArch } from '../models/arch.js'

export type Auto = 'auto'
type Maybe<T> = T | Auto

export interface DeepSpeedOffload {
  device: 'cpu' | 'nvme' | 'none'
  nvme_path?: string
  pin_memory?: boolean
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
  optimizer?: { type: string; params: Record<string, unknown> }
  zero_optimization: DeepSpeedZero
  aio?: { block_size: number; queue_depth: number; thread_count: number; single_submit: boolean; overlap_events: boolean }
}

/** What a config is written for: the plan's layout and strategy, the precision it runs, where NVMe is mounted. */
export interface DsConfigInput {
  strategy: Strategy
  /** The model, for the hidden size HF's "auto" bucket sizes derive from. */
  arch: ModelArch
  /** bf16, or fp16 (GPUs without bf16, or a fp16 spec), or fp32. */
  precision: 'bf16' | 'fp16' | 'fp32'
  /** The optimizer DeepSpeed builds itself when it offloads (DeepSpeedCPUAdam); other optimizers come from the trainer. */
  optimizer: string
  /** The DLAMI mounts instance-store NVMe at /opt/dlami/nvme (aws-gpu-catalog.md §8). */
  nvmePath?: string
  style: 'deepspeed' | 'hf'
}

export const DLAMI_NVME_PATH = '/opt/dlami/nvme'

/** fp16 dynamic loss scaling, DeepSpeed's defaults (loss_scale 0 = dynamic), as LLaMA-Factory's configs spell them. */
const FP16_SCALING = { loss_scale: 0, loss_scale_window: 1000, initial_scale_power: 16, hysteresis: 2, min_loss_scale: 1 }
/** DeepSpeed's aio defaults (docs config-json "Asynchronous I/O"). */
const AIO = { block_size: 1_048_576, queue_depth: 8, thread_count: 1, single_submit: false, overlap_events: true }
/** HF TrainingArguments.max_grad_norm default, which HF writes into gradient_clipping; DeepSpeed's own default is 0. */
const GRADIENT_CLIPPING = 1.0

/**
 * The DeepSpeed config for a plan. Bucket sizes, overlap_comm and the stage-3 knobs are the strategy's
 * ZeroSettings, the very values the memory estimate used. `hf` style leaves to HF Trainer what it fills in
 * ("auto" in the positions of LLaMA-Factory's ds_z*_config.json); `deepspeed` style is fully explicit.
 */
export function dsConfigFor(input: DsConfigInput): DeepSpeedConfig {
  const s = input.strategy
  const z = s.zero
  const hf = input.style === 'hf'
  // "auto" makes HF fill hidden²-based sizes; a plan that shrank its buckets writes them out instead.
  const d = defaultZeroSettings(input.arch, s.zeroStage)
  const auto = (key: 'reduceBucketSize' | 'prefetchBucketSize' | 'paramPersistenceThreshold') => (hf && z[key] === d[key] ? 'auto' : z[key])
  const offloadDevice = s.offloadDevice
  const offload = (): DeepSpeedOffload => ({ device: offloadDevice, ...(offloadDevice === 'nvme' ? { nvme_path: input.nvmePath ?? DLAMI_NVME_PATH } : {}), pin_memory: true })
  const zero: DeepSpeedZero = { stage: s.zeroStage }
  if (s.offload !== 'none') zero.offload_optimizer = offload()
  if (s.offload === 'optimizer+params') zero.offload_param = offload()
  if (s.zeroStage < 3) {
    Object.assign(zero, {
      allgather_partitions: true, allgather_bucket_size: z.allgatherBucketSize, overlap_comm: z.overlapComm, reduce_scatter: true,
      reduce_bucket_size: z.reduceBucketSize, contiguous_gradients: true, round_robin_gradients: s.offload !== 'none',
    })
  } else {
    Object.assign(zero, {
      overlap_comm: z.overlapComm, contiguous_gradients: true, sub_group_size: z.subGroupSize,
      reduce_bucket_size: auto('reduceBucketSize'),
      stage3_prefetch_bucket_size: auto('prefetchBucketSize'),
      stage3_param_persistence_threshold: auto('paramPersistenceThreshold'),
      stage3_max_live_parameters: z.maxLiveParameters, stage3_max_reuse_distance: DS_DEFAULTS.maxReuseDistance,
      stage3_gather_16bit_weights_on_model_save: true,
    })
  }
  const global = s.microBatch * s.accumulation * s.gpus
  const config: DeepSpeedConfig = {
    train_batch_size: hf ? 'auto' : global,
    train_micro_batch_size_per_gpu: hf ? 'auto' : s.microBatch,
    gradient_accumulation_steps: hf ? 'auto' : s.accumulation,
    gradient_clipping: hf ? 'auto' : GRADIENT_CLIPPING,
    zero_allow_untested_optimizer: true,
    ...(hf ? {} : { steps_per_print: 100, wall_clock_breakdown: false }),
    fp16: hf ? { enabled: 'auto', ...FP16_SCALING } : input.precision === 'fp16' ? { enabled: true, ...FP16_SCALING } : { enabled: false },
    bf16: { enabled: hf ? 'auto' : input.precision === 'bf16' },
    zero_optimization: zero,
  }
  // Offloading needs DeepSpeed's own CPU optimizer (zero_force_ds_cpu_optimizer); HF Trainer makes one itself.
  if (!hf && s.offload !== 'none') {
    config.optimizer = { type: input.optimizer === 'lion' ? 'Lion' : 'AdamW', params: { lr: 1e-5, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 } }
  }
  if (offloadDevice === 'nvme' && s.offload !== 'none') config.aio = AIO
  return config
}

/** Stable text: keys in the order written above, 2-space JSON, trailing newline. */
export function dsConfigText(config: DeepSpeedConfig): string {
  return JSON.stringify(config, null, 2) + '\n'
}
