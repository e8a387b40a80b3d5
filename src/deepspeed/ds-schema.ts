// DeepSpeed's config models as DeepSpeed reads them, transcribed from deepspeedai/DeepSpeed@edaa7221
// (versions.ts). Sections built on DeepSpeedConfigModel are pydantic models with extra="forbid"
// (runtime/config_utils.py:103-111): an unknown key there stops DeepSpeed at start-up. Sections read with
// get_scalar_param (the top level, aio) take the keys they know and ignore the rest.

/** A field's type as pydantic validates it in lax mode (docs.pydantic.dev "Conversion Table"). */
export type FieldKind =
  | { kind: 'int'; min?: number }
  | { kind: 'float'; min?: number; max?: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly (string | number)[] }
  | { kind: 'path' }
  | { kind: 'object' }
  | { kind: 'any' }

export interface FieldSpec {
  type: FieldKind
  /** Where DeepSpeed defines it. */
  source: string
  /** A deprecated name: DeepSpeed warns and moves the value to `renamedTo` (config_utils.py:60-98). */
  renamedTo?: string
  /** DeepSpeed's default, said when an "auto" it does not fill is dropped. */
  fallback?: string
}

export interface SectionSpec {
  /** pydantic extra="forbid": an unknown key is an error; otherwise it is ignored. */
  strict: boolean
  source: string
  fields: Record<string, FieldSpec>
}

const int = (min?: number): FieldKind => (min === undefined ? { kind: 'int' } : { kind: 'int', min })
const bool: FieldKind = { kind: 'bool' }
const Z = 'runtime/zero/config.py'
const zf = (type: FieldKind, line: number, fallback?: string): FieldSpec => ({ type, source: `${Z}:${line}`, ...(fallback ? { fallback } : {}) })

/** DeepSpeedZeroConfig (runtime/zero/config.py:90-379); the stage3_* names are pydantic aliases of the plain names. */
const zeroFields: Record<string, FieldSpec> = {
  stage: zf({ kind: 'enum', values: [0, 1, 2, 3] }, 95),
  contiguous_gradients: zf(bool, 102),
  reduce_scatter: zf(bool, 108),
  reduce_bucket_size: zf(int(0), 113, '5e8'),
  use_multi_rank_bucket_allreduce: zf(bool, 119),
  allgather_partitions: zf(bool, 126),
  allgather_bucket_size: zf(int(0), 132, '5e8'),
  overlap_comm: zf(bool, 138),
  load_from_fp32_weights: zf(bool, 143),
  elastic_checkpoint: zf(bool, 151),
  offload_param: zf({ kind: 'object' }, 157),
  offload_optimizer: zf({ kind: 'object' }, 164),
  zenflow: zf({ kind: 'object' }, 172),
  sub_group_size: zf(int(0), 175, '1e9'),
  cpu_offload_param: { ...zf(bool, 181), renamedTo: 'offload_param' },
  cpu_offload_use_pin_memory: { ...zf(bool, 192), renamedTo: '(nothing: pin_memory of offload_param / offload_optimizer)' },
  cpu_offload: { ...zf(bool, 202), renamedTo: 'offload_optimizer' },
  stage3_prefetch_bucket_size: zf(int(0), 215, '5e7'),
  prefetch_bucket_size: zf(int(0), 215, '5e7'),
  stage3_param_persistence_threshold: zf(int(0), 221, '1e5'),
  param_persistence_threshold: zf(int(0), 221, '1e5'),
  stage3_model_persistence_threshold: zf(int(0), 228, 'sys.maxsize'),
  model_persistence_threshold: zf(int(0), 228, 'sys.maxsize'),
  stage3_max_live_parameters: zf(int(0), 238, '1e9'),
  max_live_parameters: zf(int(0), 238, '1e9'),
  stage3_max_reuse_distance: zf(int(0), 244, '1e9'),
  max_reuse_distance: zf(int(0), 244, '1e9'),
  stage3_gather_16bit_weights_on_model_save: zf(bool, 250, 'false'),
  gather_16bit_weights_on_model_save: zf(bool, 250, 'false'),
  stage3_module_granularity_threshold: zf(int(), 258, '0'),
  module_granularity_threshold: zf(int(), 258, '0'),
  stage3_use_all_reduce_for_fetch_params: zf(bool, 266),
  use_all_reduce_for_fetch_params: zf(bool, 266),
  stage3_allgather_sequential: zf(bool, 272),
  allgather_sequential: zf(bool, 272),
  stage3_gather_fp16_weights_on_model_save: { ...zf(bool, 280), renamedTo: 'stage3_gather_16bit_weights_on_model_save' },
  ignore_unused_parameters: zf(bool, 287),
  legacy_stage1: zf(bool, 296),
  round_robin_gradients: zf(bool, 302),
  zero_hpz_partition_size: zf(int(0), 309),
  zero_quantized_weights: zf(bool, 313),
  zero_quantized_nontrainable_weights: zf(bool, 318),
  zero_quantized_gradients: zf(bool, 325),
  zeropp_loco_param: zf({ kind: 'object' }, 330),
  mics_shard_size: zf(int(), 341),
  mics_hierarchical_params_gather: zf(bool, 343),
  memory_efficient_linear: zf(bool, 345),
  pipeline_loading_checkpoint: zf(bool, 352),
  override_module_apply: zf(bool, 354),
  log_trace_cache_warnings: zf(bool, 359),
  enable_sanity_checks: zf(bool, 364),
  save_muon_momentum_buffer_in_memory: zf(bool, 369),
  leaf_module: zf({ kind: 'object' }, 376),
}

const O = 'runtime/zero/offload_config.py'
const device: FieldKind = { kind: 'enum', values: ['none', 'cpu', 'nvme'] }

export const SECTIONS: Record<string, SectionSpec> = {
  zero_optimization: { strict: true, source: `${Z}:90 DeepSpeedZeroConfig`, fields: zeroFields },
  // Two models with different keys: buffer_size and max_in_cpu exist only for parameters.
  'zero_optimization.offload_param': {
    strict: true, source: `${O}:21 DeepSpeedZeroOffloadParamConfig`,
    fields: {
      device: { type: device, source: `${O}:24` }, nvme_path: { type: { kind: 'path' }, source: `${O}:30` },
      buffer_count: { type: int(0), source: `${O}:33` }, buffer_size: { type: int(0), source: `${O}:36` },
      max_in_cpu: { type: int(0), source: `${O}:39` }, pin_memory: { type: bool, source: `${O}:45` },
    },
  },
  'zero_optimization.offload_optimizer': {
    strict: true, source: `${O}:55 DeepSpeedZeroOffloadOptimizerConfig`,
    fields: {
      device: { type: device, source: `${O}:58` }, nvme_path: { type: { kind: 'path' }, source: `${O}:64` },
      buffer_count: { type: int(0), source: `${O}:67` }, pin_memory: { type: bool, source: `${O}:75` },
      pipeline_read: { type: bool, source: `${O}:84` }, pipeline_write: { type: bool, source: `${O}:90` },
      fast_init: { type: bool, source: `${O}:96` }, ratio: { type: { kind: 'float', min: 0, max: 1 }, source: `${O}:99` },
      super_offload: { type: bool, source: `${O}:102` }, cpuadam_cores_perc: { type: { kind: 'float', min: 0, max: 1 }, source: `${O}:105` },
    },
  },
  fp16: {
    strict: true, source: 'runtime/precision_config.py:100 DeepSpeedFP16Config',
    fields: {
      enabled: { type: bool, source: 'runtime/precision_config.py:105' }, auto_cast: { type: bool, source: 'runtime/precision_config.py:110' },
      loss_scale: { type: { kind: 'float', min: 0 }, source: 'runtime/precision_config.py:115-133' },
      initial_scale_power: { type: int(), source: 'runtime/precision_config.py:135' },
      loss_scale_window: { type: int(), source: 'runtime/precision_config.py:140' }, hysteresis: { type: int(), source: 'runtime/precision_config.py:145' },
      consecutive_hysteresis: { type: bool, source: 'runtime/precision_config.py:150' }, min_loss_scale: { type: int(), source: 'runtime/precision_config.py:155' },
      fp16_master_weights_and_grads: { type: bool, source: 'runtime/precision_config.py:160' },
    },
  },
  bf16: {
    strict: true, source: 'runtime/precision_config.py:41 DeepSpeedBF16Config',
    fields: {
      enabled: { type: bool, source: 'runtime/precision_config.py:46' }, immediate_grad_update: { type: bool, source: 'runtime/precision_config.py:51' },
      check_grad_overflow: { type: bool, source: 'runtime/precision_config.py:56' },
      bf16_master_weights_and_grads: { type: bool, source: 'runtime/precision_config.py:63' },
      bf16_optimizer_states: { type: bool, source: 'runtime/precision_config.py:68' },
    },
  },
  // get_aio_config reads these six keys with get_scalar_param and ignores any other.
  aio: {
    strict: false, source: 'runtime/swap_tensor/aio_config.py:20-43',
    fields: Object.fromEntries(['block_size', 'queue_depth', 'intra_op_parallelism'].map((k) => [k, { type: int(), source: 'runtime/swap_tensor/constants.py:19-24' }])
      .concat(['single_submit', 'overlap_events', 'use_gds'].map((k) => [k, { type: bool, source: 'runtime/swap_tensor/constants.py:25-30' }]))),
  },
}
SECTIONS['bfloat16'] = { ...SECTIONS['bf16']!, source: 'runtime/precision_config.py:31-38 (legacy name of bf16)' }

/** Keys the aio section once had, under their new names. */
export const AIO_RENAMED: Record<string, string> = { thread_count: 'intra_op_parallelism (DeepSpeed #7056)' }

/**
 * Top-level keys DeepSpeedConfig reads (runtime/config.py:796-923 _initialize_params, and the sub-configs it
 * builds: monitor/config.py:13, comm/config.py:22, …). Anything else is never looked at.
 */
export const TOP_LEVEL = [
  'train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps', 'managed_gradient_accumulation', 'steps_per_print',
  'dump_state', 'disable_allgather', 'communication_data_type', 'seq_parallel_communication_data_type', 'prescale_gradients',
  'gradient_predivide_factor', 'gradient_allreduce_op', 'sparse_gradients', 'zero_optimization', 'activation_checkpointing', 'comms_logger',
  'tensorboard', 'wandb', 'csv_monitor', 'comet', 'gradient_clipping', 'fp16', 'bf16', 'bfloat16', 'amp', 'torch_autocast',
  'compression_training', 'graph_harvesting', 'optimizer', 'zero_allow_untested_optimizer', 'zero_force_ds_cpu_optimizer', 'scheduler',
  'flops_profiler', 'wall_clock_breakdown', 'memory_breakdown', 'autotuning', 'eigenvalue', 'use_data_before_expert_parallelism',
  'hybrid_engine', 'sparse_attention', 'pipeline', 'progressive_layer_drop', 'curriculum_learning', 'data_efficiency', 'checkpoint',
  'data_types', 'aio', 'dataloader_drop_last', 'log_level', 'nebula', 'datastates', 'weight_quantization', 'compile', 'timers',
  'tensor_parallel', 'expert_parallel', 'elasticity', 'vocabulary_size', 'sequence_parallel_size', 'quantize_training',
] as const

/** Top-level values DeepSpeed itself types (get_scalar_param reads them raw, so the wrong type fails later). */
export const TOP_TYPES: Record<string, FieldKind> = {
  train_batch_size: int(1), train_micro_batch_size_per_gpu: int(1), gradient_accumulation_steps: int(1), steps_per_print: int(1),
  gradient_clipping: { kind: 'float', min: 0 }, zero_allow_untested_optimizer: bool, zero_force_ds_cpu_optimizer: bool, wall_clock_breakdown: bool,
}

/**
 * Optimizer names DeepSpeed builds (runtime/config.py:84-87, compared lower-cased at config.py:840-842) and
 * the torch.optim classes it falls back to by exact name (engine.py:1660-1661, 2237).
 */
export const DS_OPTIMIZERS = ['adagrad', 'adam', 'adamw', 'lamb', 'onebitadam', 'zerooneadam', 'onebitlamb', 'muadam', 'muadamw', 'musgd', 'lion', 'muon']
export const TORCH_OPTIMIZERS = ['ASGD', 'Adadelta', 'Adafactor', 'Adagrad', 'Adam', 'AdamW', 'Adamax', 'LBFGS', 'Muon', 'NAdam', 'RAdam', 'RMSprop', 'Rprop', 'SGD', 'SparseAdam']

/** DeepSpeed's schedulers (runtime/lr_schedules.py:19-24) and the torch.optim.lr_scheduler classes it falls back to (engine.py:1598-1607). */
export const DS_SCHEDULERS = ['LRRangeTest', 'OneCycle', 'WarmupLR', 'WarmupDecayLR', 'WarmupCosineLR']
export const TORCH_SCHEDULERS = [
  'LambdaLR', 'MultiplicativeLR', 'StepLR', 'MultiStepLR', 'ConstantLR', 'LinearLR', 'ExponentialLR', 'SequentialLR', 'CosineAnnealingLR',
  'ChainedScheduler', 'ReduceLROnPlateau', 'CyclicLR', 'CosineAnnealingWarmRestarts', 'OneCycleLR', 'PolynomialLR',
]

/** fp16 fields whose validators refuse a boolean before pydantic could coerce it (precision_config.py:120-133, 165-180). */
export const NO_BOOL = ['fp16.loss_scale', 'fp16.loss_scale_window', 'fp16.min_loss_scale']
