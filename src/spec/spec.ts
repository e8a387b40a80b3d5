import type { Method } from '../models/trainable.js'
import type { Software } from './software.js'

export const METHODS = ['full', 'lora', 'qlora', 'freeze'] as const satisfies readonly Method[]
export const QUANTIZATIONS = ['none', '8bit', '4bit'] as const
export const PRECISIONS = ['bf16', 'fp16', 'pure_bf16', 'fp32'] as const
export const OPTIMIZERS = ['adamw', 'adamw_8bit', 'paged_adamw', 'paged_adamw_8bit', 'adafactor', 'sgd', 'lion'] as const
/** HF TrainingArguments `lr_scheduler_type` values (transformers SchedulerType) ftplan passes through. */
export const SCHEDULERS = ['linear', 'cosine', 'constant', 'constant_with_warmup', 'cosine_with_min_lr', 'cosine_with_restarts', 'polynomial', 'inverse_sqrt'] as const
export const ATTENTIONS = ['flash', 'sdpa', 'eager'] as const
export const LOSSES = ['standard', 'chunked', 'fused'] as const
export const ZERO_STAGES = [0, 1, 2, 3] as const
export const OFFLOADS = ['none', 'optimizer', 'optimizer+params'] as const
export const OFFLOAD_DEVICES = ['cpu', 'nvme'] as const
export const PROVIDERS = ['aws'] as const

export type Quantization = (typeof QUANTIZATIONS)[number]
export type Precision = (typeof PRECISIONS)[number]
export type Optimizer = (typeof OPTIMIZERS)[number]
export type Scheduler = (typeof SCHEDULERS)[number]
export type Attention = (typeof ATTENTIONS)[number]
export type Loss = (typeof LOSSES)[number]
export type ZeroStage = (typeof ZERO_STAGES)[number]
export type Offload = (typeof OFFLOADS)[number]
export type OffloadDevice = (typeof OFFLOAD_DEVICES)[number]
export type Provider = (typeof PROVIDERS)[number]

/** Where the model's architecture comes from. A config.json path arrives already read (`config`). */
export type ModelRef =
  | { kind: 'catalog'; id: string }
  | { kind: 'config-file'; path: string; config: Record<string, unknown> }
  | { kind: 'inline'; config: Record<string, unknown> }

/** How much data one training run reads: tokens, or samples × their mean length; both times epochs. */
export type TrainData = ({ tokens: number; epochs: number } | { samples: number; avgTokens: number; epochs: number }) & {
  /** Hardware FLOPs utilisation the time estimate assumes; null: ftplan's default per GPU. */
  mfu: number | null
}

export interface Constraints {
  provider: Provider
  /** Empty: every region in the catalog. */
  regions: readonly string[]
  spot: boolean
  maxNodes: number
  /** Empty: every GPU model. Names as in GPU_MODELS. */
  gpus: readonly string[]
  maxHourlyUsd: number | null
  budgetUsd: number | null
  /** Plan only GPUs of at least this compute capability; null: the catalog's floor (what current PyTorch runs on). */
  minComputeCapability: number | null
}

/** The optimizer's hyperparameters, as HF TrainingArguments names them (learning_rate, adam_beta1/2, …). */
export interface OptimizerSettings {
  lr: number
  betas: readonly [number, number]
  eps: number
  weightDecay: number
  /** Gradient clipping: HF max_grad_norm, DeepSpeed gradient_clipping. */
  maxGradNorm: number
}

export interface SchedulerSettings {
  type: Scheduler
  /** Warm-up as a fraction of the optimizer steps; used when warmupSteps is 0 (HF get_warmup_steps). */
  warmupRatio: number
  warmupSteps: number
}

/**
 * LLaMA-Factory features that change which DeepSpeed setups LLaMA-Factory accepts
 * (hparams/parser.py: GaLore/APOLLO refuse DeepSpeed, PiSSA init refuses ZeRO-3).
 */
/**
 * `prequantized`: the checkpoint is stored quantized (config.json quantization_config), which LLaMA-Factory keeps off ZeRO-3.
 * `adam_mini`, `muon`: LLaMA-Factory's use_adam_mini and use_muon, which replace the `optim` optimizer.
 */
export type TrainerFeature = 'galore' | 'apollo' | 'pissa_init' | 'prequantized' | 'adam_mini' | 'muon'

/** A validated spec with every default filled in (spec format version 1). */
export interface FinetuneSpec {
  model: ModelRef
  method: Method
  lora: { rank: number; alpha: number; dropout: number; targets: 'all' | readonly string[]; modulesToSave: readonly string[] }
  freeze: { trainableLayers: number }
  quantization: Quantization
  precision: Precision
  optimizer: Optimizer
  optim: OptimizerSettings
  scheduler: SchedulerSettings
  /** Set only from a LLaMA-Factory YAML. */
  trainerFeatures: readonly TrainerFeature[]
  /**
   * Per GPU, as HF Trainer and LLaMA-Factory mean them: the global batch is micro × accumulation × GPUs, so it grows
   * with the GPUs a plan uses. `global`, when set, is the global batch kept on every layout instead.
   */
  batch: { micro: number; accumulation: number; global: number | null }
  seqLenTokens: number
  gradientCheckpointing: boolean | 'auto'
  attention: Attention
  loss: Loss
  /**
   * `engine: deepspeed` runs DeepSpeed even at ZeRO stage 0 (a LLaMA-Factory YAML that names a DeepSpeed config does):
   * its bf16 optimizer, not HF autocast. `auto`: DeepSpeed only for ZeRO 1–3.
   */
  deepspeed: { zero: ZeroStage | 'auto'; offload: Offload | 'auto'; offloadDevice: OffloadDevice; engine: 'auto' | 'deepspeed' }
  gpus: number
  train: TrainData | null
  constraints: Constraints
  /** Fraction of every GPU's memory kept free. */
  margin: number
  /** What the provisioned nodes install (software.ts). */
  software: Software
  /** GaLore or APOLLO (set only from a LLaMA-Factory YAML): the optimizer keeps its state in a low-rank projection. */
  projection?: LowRankProjection
}

/**
 * Gradient low-rank projection as LLaMA-Factory runs it (train/trainer_utils.py _create_galore_optimizer and
 * _create_apollo_optimizer @ff6d4d12): every 2-D weight of an nn.Linear whose module name contains a target ('all':
 * every decoder Linear but lm_head, model_utils/misc.py find_all_linear_modules) keeps its optimizer state on the
 * gradient projected to `rank`; `layerwise` steps each parameter in its own post-accumulate-grad hook.
 */
export interface LowRankProjection {
  kind: 'galore' | 'apollo'
  rank: number
  targets: 'all' | readonly string[]
  projType: 'std' | 'reverse_std' | 'right' | 'left' | 'full'
  layerwise: boolean
}

/** Where a spec came from: ftplan's own YAML, a Pulumi stack's `ftplan:spec`, or a LLaMA-Factory train YAML. */
export type SpecSource = 'spec' | 'pulumi-stack' | 'llamafactory'
