import { SpecError, type Issue } from '../errors.js'
import type { ModelArch } from '../models/arch.js'
import { DS_DEFAULTS } from '../memory/constants.js'
import { estimateMemory, type MemoryEstimate, type Term } from '../memory/estimate.js'
import { defaultZeroSettings, type Strategy, type ZeroSettings } from '../memory/strategy.js'
import { parseLocated, type LMap, type LNode } from '../spec/located.js'
import type { FinetuneSpec, Offload, ZeroStage } from '../spec/spec.js'
import { nearChoice } from '../suggest.js'

// The keys DeepSpeed reads (docs/_pages/config-json.md and runtime/zero/config.py, offload_config.py @38327e07).
// Sections ftplan does not size (optimizer, scheduler, monitors, …) are accepted as they are.
const TOP = [
  'train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps', 'gradient_clipping', 'steps_per_print',
  'wall_clock_breakdown', 'zero_allow_untested_optimizer', 'zero_force_ds_cpu_optimizer', 'prescale_gradients', 'gradient_predivide_factor',
  'fp16', 'bf16', 'amp', 'optimizer', 'scheduler', 'zero_optimization', 'aio', 'activation_checkpointing', 'flops_profiler', 'tensorboard',
  'wandb', 'csv_monitor', 'comet', 'comms_logger', 'checkpoint', 'data_types', 'communication_data_type', 'dump_state', 'memory_breakdown',
  'sparse_attention', 'elasticity', 'compression_training', 'autotuning', 'data_efficiency', 'curriculum_learning', 'pipeline', 'torch_autocast',
  'seq_parallel_communication_data_type', 'tensor_parallel', 'zero_optimization_stage',
]
const ZERO = [
  'stage', 'allgather_partitions', 'allgather_bucket_size', 'overlap_comm', 'reduce_scatter', 'reduce_bucket_size', 'contiguous_gradients',
  'round_robin_gradients', 'offload_optimizer', 'offload_param', 'sub_group_size', 'stage3_prefetch_bucket_size', 'stage3_param_persistence_threshold',
  'stage3_model_persistence_threshold', 'stage3_max_live_parameters', 'stage3_max_reuse_distance', 'stage3_gather_16bit_weights_on_model_save',
  'stage3_gather_fp16_weights_on_model_save', 'elastic_checkpoint', 'ignore_unused_parameters', 'legacy_stage1', 'zero_hpz_partition_size',
  'zero_quantized_weights', 'zero_quantized_gradients', 'zero_quantized_nontrainable_weights', 'mics_shard_size', 'mics_hierarchical_params_gather',
  'memory_efficient_linear', 'use_multi_rank_bucket_allreduce', 'load_from_fp32_weights', 'pipeline_loading_checkpoint', 'override_module_apply',
  'log_trace_cache_warnings', 'module_granularity_threshold', 'use_all_reduce_for_fetch_params', 'stage3_use_all_reduce_for_fetch_params', 'cpu_offload',
]
const OFFLOAD = ['device', 'nvme_path', 'pin_memory', 'buffer_count', 'buffer_size', 'max_in_cpu', 'fast_init', 'ratio', 'pipeline_read', 'pipeline_write', 'pipeline']
const FP16 = ['enabled', 'auto_cast', 'loss_scale', 'initial_scale_power', 'loss_scale_window', 'hysteresis', 'consecutive_hysteresis', 'min_loss_scale', 'fp16_master_weights_and_grads']
const BF16 = ['enabled', 'immediate_grad_update', 'check_grad_overflow']
const AIO = ['block_size', 'queue_depth', 'thread_count', 'single_submit', 'overlap_events', 'intra_op_parallelism', 'use_gds']
/** Keys whose value HF Trainer fills when it is "auto" (transformers integrations/deepspeed.py). */
const AUTO_OK = new Set([
  'train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps', 'gradient_clipping', 'fp16.enabled', 'bf16.enabled',
  'zero_optimization.reduce_bucket_size', 'zero_optimization.allgather_bucket_size', 'zero_optimization.stage3_prefetch_bucket_size',
  'zero_optimization.stage3_param_persistence_threshold',
])

const NUMBERS = [
  'gradient_clipping', 'steps_per_print', 'zero_optimization.reduce_bucket_size', 'zero_optimization.allgather_bucket_size',
  'zero_optimization.sub_group_size', 'zero_optimization.stage3_prefetch_bucket_size', 'zero_optimization.stage3_param_persistence_threshold',
  'zero_optimization.stage3_max_live_parameters', 'zero_optimization.stage3_max_reuse_distance', 'fp16.loss_scale', 'fp16.initial_scale_power',
  'fp16.loss_scale_window', 'fp16.hysteresis', 'fp16.min_loss_scale', 'aio.block_size', 'aio.queue_depth', 'aio.thread_count',
]
const BOOLEANS = [
  'wall_clock_breakdown', 'zero_allow_untested_optimizer', 'zero_optimization.overlap_comm', 'zero_optimization.contiguous_gradients',
  'zero_optimization.reduce_scatter', 'zero_optimization.allgather_partitions', 'zero_optimization.round_robin_gradients',
  'zero_optimization.stage3_gather_16bit_weights_on_model_save', 'zero_optimization.offload_optimizer.pin_memory',
  'zero_optimization.offload_param.pin_memory', 'aio.single_submit', 'aio.overlap_events',
]

/** The hardware a config is checked on. */
export interface CheckHardware {
  /** Data-parallel world size. */
  gpus: number
  gpusPerNode: number
  /** Per-GPU memory; null: the validation runs, the fit is not judged. */
  gpuMemoryBytes: number | null
  hostMemoryBytes: number | null
}

export interface CheckResult {
  strategy: Strategy
  precision: 'bf16' | 'fp16' | 'fp32'
  estimate: MemoryEstimate
  usableBytes: number | null
  fits: boolean | null
  /** When it does not fit: the terms, largest first, and the changes that would make it fit. */
  overflow: { overBytes: number; largest: { term: Term; bytes: number }[]; fixes: string[] } | null
  notes: string[]
}

interface Scalars {
  num(path: string): number | 'auto' | undefined
  bool(path: string): boolean | 'auto' | undefined
  str(path: string): string | undefined
  node(path: string): LNode | undefined
}

/**
 * Checks a user's DeepSpeed config the way DeepSpeed does (batch identity, bf16 xor fp16, param offload only at
 * stage 3, NVMe needs nvme_path, unknown keys and wrong types with their JSON path), then estimates memory for
 * exactly that config on that hardware. @throws SpecError for every problem in the file.
 */
export function checkDsConfig(text: string, file: string, spec: FinetuneSpec, arch: ModelArch, hw: CheckHardware): CheckResult {
  const parsed = parseLocated(text, file)
  if (parsed.issues.length > 0) throw new SpecError(parsed.issues.map((i) => ({ ...i, message: i.message.replace('YAML syntax error', 'JSON syntax error') })))
  const root = parsed.root
  if (!root || root.kind !== 'map') throw new SpecError([{ file, line: root?.pos.line ?? 1, col: root?.pos.col ?? 1, path: '', message: 'a DeepSpeed config is a JSON object' }])
  const issues: Issue[] = []
  const at = (n: LNode | { pos: { line: number; col: number } }) => ({ file, line: n.pos.line, col: n.pos.col })
  const fail = (n: LNode | { pos: { line: number; col: number } }, path: string, message: string, extra: Partial<Issue> = {}) => issues.push({ ...at(n), path, message, ...extra })
  const knownKeys = (m: LMap, prefix: string, keys: string[]) => {
    for (const e of m.entries) {
      if (!keys.includes(e.key)) {
        const near = nearChoice(e.key, keys)
        fail({ pos: e.keyPos }, `${prefix}${e.key}`, 'unknown key', near ? { didYouMean: near } : {})
      }
    }
  }
  knownKeys(root, '', TOP)
  const section = (path: string, keys: string[]) => {
    const n = find(root, path)
    if (!n) return
    if (n.kind !== 'map') fail(n, path, 'expected an object')
    else knownKeys(n, `${path}.`, keys)
  }
  section('zero_optimization', ZERO)
  section('zero_optimization.offload_optimizer', OFFLOAD)
  section('zero_optimization.offload_param', OFFLOAD)
  section('fp16', FP16)
  section('bf16', BF16)
  section('aio', AIO)

  const v: Scalars = {
    node: (path) => find(root, path),
    num(path) {
      const n = find(root, path)
      if (!n) return undefined
      if (n.kind === 'scalar' && n.value === 'auto' && AUTO_OK.has(path)) return 'auto'
      if (n.kind !== 'scalar' || typeof n.value !== 'number' || !Number.isFinite(n.value) || n.value < 0) {
        fail(n, path, `expected a non-negative number${AUTO_OK.has(path) ? ' or "auto"' : ''}, got ${JSON.stringify(n.kind === 'scalar' ? n.value : n.kind)}`)
        return undefined
      }
      return n.value
    },
    bool(path) {
      const n = find(root, path)
      if (!n) return undefined
      if (n.kind === 'scalar' && n.value === 'auto' && AUTO_OK.has(path)) return 'auto'
      if (n.kind !== 'scalar' || typeof n.value !== 'boolean') {
        fail(n, path, `expected true or false${AUTO_OK.has(path) ? ' or "auto"' : ''}, got ${JSON.stringify(n.kind === 'scalar' ? n.value : n.kind)}`)
        return undefined
      }
      return n.value
    },
    str(path) {
      const n = find(root, path)
      if (!n) return undefined
      if (n.kind !== 'scalar' || typeof n.value !== 'string') {
        fail(n, path, `expected a string, got ${JSON.stringify(n.kind === 'scalar' ? n.value : n.kind)}`)
        return undefined
      }
      return n.value
    },
  }
  const notes: string[] = []

  // Precision: DeepSpeed refuses fp16 and bf16 together (runtime/config.py).
  const fp16 = v.bool('fp16.enabled')
  const bf16 = v.bool('bf16.enabled')
  const resolve = (b: boolean | 'auto' | undefined, fromSpec: boolean) => (b === 'auto' ? fromSpec : b === true)
  const specFp16 = spec.precision === 'fp16'
  const specBf16 = spec.precision === 'bf16' || spec.precision === 'pure_bf16'
  if (resolve(fp16, specFp16) && resolve(bf16, specBf16)) fail(find(root, 'fp16.enabled') ?? root, 'fp16.enabled', 'fp16 and bf16 are both enabled; DeepSpeed allows one', { allowed: 'enable one of fp16, bf16' })
  const precision = resolve(bf16, specBf16) ? 'bf16' : resolve(fp16, specFp16) ? 'fp16' : 'fp32'

  // ZeRO stage and offload (DeepSpeed: offload_param only at stage 3; optimizer offload at 1–3; NVMe needs a path).
  const stageRaw = v.num('zero_optimization.stage')
  const stage = stageRaw === undefined || stageRaw === 'auto' ? 0 : stageRaw
  if (![0, 1, 2, 3].includes(stage)) fail(find(root, 'zero_optimization.stage')!, 'zero_optimization.stage', `${stage} is not a ZeRO stage`, { allowed: '0 | 1 | 2 | 3' })
  const device = (path: string) => {
    const d = v.str(`${path}.device`)
    if (d !== undefined && !['cpu', 'nvme', 'none'].includes(d)) fail(find(root, `${path}.device`)!, `${path}.device`, `${JSON.stringify(d)} is not an offload device`, { allowed: 'cpu | nvme | none' })
    if (d === 'nvme' && !v.str(`${path}.nvme_path`)) fail(find(root, `${path}.device`)!, `${path}.device`, 'NVMe offload needs nvme_path', { allowed: `"nvme_path": "/opt/dlami/nvme" (the DLAMI's instance-store mount)` })
    return d === undefined || d === 'none' ? null : (d as 'cpu' | 'nvme')
  }
  const optDevice = device('zero_optimization.offload_optimizer')
  const paramDevice = device('zero_optimization.offload_param')
  if (paramDevice && stage !== 3) fail(find(root, 'zero_optimization.offload_param')!, 'zero_optimization.offload_param', `parameter offload needs ZeRO stage 3, but the stage is ${stage}`, { allowed: 'stage 3, or no offload_param' })
  if (optDevice && stage === 0) fail(find(root, 'zero_optimization.offload_optimizer')!, 'zero_optimization.offload_optimizer', 'optimizer offload needs ZeRO stage 1, 2 or 3, but the stage is 0', { allowed: 'stage 1 | 2 | 3' })

  // Batch: any two of the three determine the third (runtime/config.py _set_batch_related_parameters).
  const world = hw.gpus
  const tb = v.num('train_batch_size')
  const mb = v.num('train_micro_batch_size_per_gpu')
  const ga = v.num('gradient_accumulation_steps')
  const micro = mb === 'auto' || mb === undefined ? (mb === 'auto' ? spec.batch.micro : undefined) : mb
  const accum = ga === 'auto' || ga === undefined ? (ga === 'auto' ? spec.batch.accumulation : undefined) : ga
  const train = tb === 'auto' ? (micro ?? spec.batch.micro) * (accum ?? spec.batch.accumulation) * world : tb
  let m = micro
  let g = accum
  if (train !== undefined && m !== undefined && g !== undefined) {
    if (train !== m * g * world) {
      fail(find(root, 'train_batch_size') ?? root, 'train_batch_size', `train_batch_size ${train} is not train_micro_batch_size_per_gpu ${m} × gradient_accumulation_steps ${g} × world size ${world} = ${m * g * world}`, { allowed: `${m * g * world}, or change the micro-batch or accumulation` })
    }
  } else if (train !== undefined && m !== undefined) g = train / (m * world)
  else if (train !== undefined && g !== undefined) m = train / (g * world)
  else if (train !== undefined) {
    g = 1
    m = train / world
  } else if (m !== undefined) g = g ?? 1
  else fail(root, 'train_batch_size', 'neither train_batch_size nor train_micro_batch_size_per_gpu is set; DeepSpeed needs one', { allowed: 'two of train_batch_size, train_micro_batch_size_per_gpu, gradient_accumulation_steps' })
  if (m !== undefined && g !== undefined && (!Number.isInteger(m) || !Number.isInteger(g) || m < 1 || g < 1)) {
    fail(find(root, 'train_batch_size') ?? root, 'train_batch_size', `train_batch_size ${train} does not divide into whole micro-batches over ${world} GPUs (micro ${m}, accumulation ${g})`)
  }
  // Types of every value ftplan sizes, checked before anything is estimated.
  for (const path of NUMBERS) v.num(path)
  for (const path of BOOLEANS) v.bool(path)
  if (issues.length > 0) throw new SpecError(issues)

  const h = arch.hiddenSize
  const bucket = (path: string, auto: number, fallback: number) => {
    const x = v.num(path)
    return x === 'auto' ? auto : x ?? fallback
  }
  const overlap = v.bool('zero_optimization.overlap_comm')
  // The stage-3 knobs size nothing below stage 3; there they keep ftplan's defaults so strategies compare equal.
  const stage3 = stage === 3 ? null : defaultZeroSettings(arch, stage as ZeroStage)
  const zero: ZeroSettings = {
    // HF fills "auto" with hidden² (0.9·hidden², 10·hidden); a missing key is DeepSpeed's own default.
    reduceBucketSize: bucket('zero_optimization.reduce_bucket_size', h * h, DS_DEFAULTS.reduceBucketSize),
    // allgather_bucket_size sizes only ZeRO-1/2's all-gather.
    allgatherBucketSize: stage === 3 ? defaultZeroSettings(arch, 3).allgatherBucketSize : bucket('zero_optimization.allgather_bucket_size', h * h, DS_DEFAULTS.allgatherBucketSize),
    overlapComm: overlap === undefined || overlap === 'auto' ? stage === 3 : overlap,
    prefetchBucketSize: stage3?.prefetchBucketSize ?? bucket('zero_optimization.stage3_prefetch_bucket_size', Math.floor(0.9 * h * h), DS_DEFAULTS.prefetchBucketSize),
    paramPersistenceThreshold: stage3?.paramPersistenceThreshold ?? bucket('zero_optimization.stage3_param_persistence_threshold', 10 * h, DS_DEFAULTS.paramPersistenceThreshold),
    maxLiveParameters: stage3?.maxLiveParameters ?? bucket('zero_optimization.stage3_max_live_parameters', DS_DEFAULTS.maxLiveParameters, DS_DEFAULTS.maxLiveParameters),
    subGroupSize: stage3?.subGroupSize ?? bucket('zero_optimization.sub_group_size', DS_DEFAULTS.subGroupSize, DS_DEFAULTS.subGroupSize),
  }
  if ([tb, mb, ga].includes('auto')) notes.push(`"auto" batch values resolved from the spec, as HF Trainer would: micro-batch ${m}, accumulation ${g}, world size ${world}`)
  const offload: Offload = paramDevice ? 'optimizer+params' : optDevice ? 'optimizer' : 'none'
  const gc = spec.gradientCheckpointing === true
  if (spec.gradientCheckpointing === 'auto') notes.push('gradient checkpointing is not part of a DeepSpeed config for HF models: the spec says auto, so estimated off')
  const strategy: Strategy = {
    gpus: world, gpusPerNode: hw.gpusPerNode, zeroStage: stage as ZeroStage, offload, offloadDevice: paramDevice ?? optDevice ?? 'cpu',
    gradientCheckpointing: gc, microBatch: m!, accumulation: g!, zero,
  }
  const runSpec: FinetuneSpec = { ...spec, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : spec.precision === 'pure_bf16' ? 'pure_bf16' : 'bf16' }
  if (precision === 'fp32' && spec.precision !== 'fp32') notes.push('neither fp16 nor bf16 is enabled: DeepSpeed trains in fp32')
  const estimate = estimateMemory(runSpec, arch, strategy)
  const usableBytes = hw.gpuMemoryBytes === null ? null : hw.gpuMemoryBytes * (1 - spec.margin)
  const fits = usableBytes === null ? null : estimate.perGpu.totalBytes <= usableBytes && (hw.hostMemoryBytes === null || estimate.perNode.cpuBytes <= 0.9 * hw.hostMemoryBytes)
  let overflow: CheckResult['overflow'] = null
  if (fits === false && usableBytes !== null) {
    const b = estimate.perGpu.breakdown
    const largest = (Object.keys(b) as Term[]).map((term) => ({ term, bytes: b[term] })).sort((x, y) => y.bytes - x.bytes).slice(0, 3)
    overflow = { overBytes: estimate.perGpu.totalBytes - usableBytes, largest, fixes: fixesFor(runSpec, arch, strategy, usableBytes) }
  }
  return { strategy, precision, estimate, usableBytes, fits, overflow, notes }
}

/** Single changes to the config that would fit, each estimated. */
function fixesFor(spec: FinetuneSpec, arch: ModelArch, s: Strategy, usable: number): string[] {
  const tries: [string, Partial<Strategy>][] = []
  if (!s.gradientCheckpointing) tries.push(['turn on gradient checkpointing (--gradient_checkpointing)', { gradientCheckpointing: true }])
  if (s.microBatch > 1) tries.push([`train_micro_batch_size_per_gpu ${Math.floor(s.microBatch / 2)} with gradient_accumulation_steps ${s.accumulation * 2}`, { microBatch: Math.floor(s.microBatch / 2), accumulation: s.accumulation * 2 }])
  if (s.zeroStage < 3) tries.push([`zero_optimization.stage ${s.zeroStage + 1}`, { zeroStage: (s.zeroStage + 1) as ZeroStage }])
  if (s.zeroStage > 0 && s.offload === 'none') tries.push(['offload_optimizer to cpu', { offload: 'optimizer' }])
  if (s.zeroStage === 3 && s.offload !== 'optimizer+params') tries.push(['offload_param and offload_optimizer to cpu', { offload: 'optimizer+params' }])
  const out: string[] = []
  for (const [label, change] of tries) {
    const e = estimateMemory(spec, arch, { ...s, ...change })
    if (e.perGpu.totalBytes <= usable) out.push(`${label}: ${(e.perGpu.totalBytes / 1e9).toFixed(1)} GB per GPU`)
  }
  return out
}

function find(root: LMap, path: string): LNode | undefined {
  let node: LNode | undefined = root
  for (const key of path.split('.')) {
    if (!node || node.kind !== 'map') return undefined
    node = node.entries.find((e) => e.key === key)?.value
  }
  return node
}
