import { SpecError, type Issue } from '../errors.js'
import type { ModelArch } from '../models/arch.js'
import { largestParamElements } from '../models/largest-param.js'
import { DS_DEFAULTS } from '../memory/constants.js'
import { estimateMemory, type MemoryEstimate, type Term } from '../memory/estimate.js'
import { nvmeParamBufferElements } from '../memory/offload.js'
import { defaultZeroSettings, type Strategy, type ZeroSettings } from '../memory/strategy.js'
import { HOST_RAM_FRACTION } from '../planner/plan.js'
import { parseJsonLocated, type LMap, type LNode, type Pos } from '../spec/located.js'
import type { FinetuneSpec, Offload, ZeroStage } from '../spec/spec.js'
import { nearChoice } from '../suggest.js'
import { AIO_RENAMED, DS_OPTIMIZERS, DS_SCHEDULERS, NO_BOOL, SECTIONS, TOP_LEVEL, TOP_TYPES, TORCH_OPTIMIZERS, TORCH_SCHEDULERS, type FieldKind, type SectionSpec } from './ds-schema.js'
import { HF_FILLS } from './hf-args.js'

/** error: DeepSpeed (or HF Trainer) raises and the run does not start. warning: it ignores or remaps the value. */
export type Verdict = 'error' | 'warning'

/** One verdict on one place in the config, with the DeepSpeed source line behind it. */
export interface Finding extends Issue {
  verdict: Verdict
  /** file:line in deepspeedai/DeepSpeed@edaa7221 (or the trainer) where this is decided. */
  source: string
}

/** The hardware a config is checked on. */
export interface CheckHardware {
  /** Data-parallel world size. */
  gpus: number
  gpusPerNode: number
  /** Per-GPU memory; null: the validation runs, the fit is not judged. */
  gpuMemoryBytes: number | null
  hostMemoryBytes: number | null
}

/**
 * The TrainingArguments the run is launched with: HF Trainer fills the config's "auto" values from them. From
 * the plan when checking against one, else from the spec. `gradientCheckpointing` null: decide as the planner
 * does (off when it fits, else on).
 */
export interface CheckRun {
  microBatch: number
  accumulation: number
  precision: 'bf16' | 'fp16' | 'fp32'
  gradientCheckpointing: boolean | null
}

export interface CheckResult {
  findings: Finding[]
  /** Null when DeepSpeed would refuse the config (an error finding): then nothing is estimated. */
  strategy: Strategy | null
  precision: 'bf16' | 'fp16' | 'fp32'
  estimate: MemoryEstimate | null
  usableBytes: number | null
  fits: boolean | null
  /** When it does not fit: the terms, largest first, and the changes that would make it fit. */
  overflow: { overBytes: number; largest: { term: Term; bytes: number }[]; fixes: string[] } | null
  notes: string[]
}

/** The run the spec itself describes: its batch, its precision, its checkpointing (null for auto). */
export function runFromSpec(spec: FinetuneSpec, bf16Capable = true): CheckRun {
  const p = spec.precision
  return {
    microBatch: spec.batch.micro, accumulation: spec.batch.accumulation,
    precision: p === 'fp32' ? 'fp32' : p === 'fp16' || !bf16Capable ? 'fp16' : 'bf16',
    gradientCheckpointing: spec.gradientCheckpointing === 'auto' ? null : spec.gradientCheckpointing,
  }
}

const CONFIG_UTILS_AUTO = 'runtime/config_utils.py:53-55'
const FORBID = 'runtime/config_utils.py:107 (extra="forbid")'

/**
 * Checks a DeepSpeed config the way DeepSpeed v0.19.5+ reads it (and HF Trainer fills it): every key and
 * value gets DeepSpeed's verdict with the source line behind it, then, if DeepSpeed would start, the memory
 * of exactly that config on that hardware is estimated. @throws SpecError only when the file is not JSON.
 */
export function checkDsConfig(text: string, file: string, spec: FinetuneSpec, arch: ModelArch, hw: CheckHardware, run: CheckRun = runFromSpec(spec)): CheckResult {
  const parsed = parseJsonLocated(text, file, 'DeepSpeed')
  if (parsed.issues.length > 0) throw new SpecError(parsed.issues.map((i) => ({ ...i, message: i.message.replace('YAML syntax error', 'JSON syntax error') })))
  const root = parsed.root
  if (!root || root.kind !== 'map') throw new SpecError([{ file, line: root?.pos.line ?? 1, col: root?.pos.col ?? 1, path: '', message: 'a DeepSpeed config is a JSON object' }])
  const findings: Finding[] = []
  const say = (verdict: Verdict, at: { pos: Pos }, path: string, message: string, source: string, extra: Partial<Issue> = {}) =>
    findings.push({ verdict, file, line: at.pos.line, col: at.pos.col, path, message, source, ...extra })
  const notes: string[] = []
  const v = new Values(root, run, say)

  // Top level: DeepSpeedConfig reads the keys it knows; it never looks at the others.
  for (const e of root.entries) {
    if ((TOP_LEVEL as readonly string[]).includes(e.key)) continue
    const near = nearChoice(e.key, [...TOP_LEVEL])
    say('warning', { pos: e.keyPos }, e.key, 'DeepSpeed does not read this key: it is ignored', 'runtime/config.py:796-923 (_initialize_params reads only the keys it knows)', near ? { didYouMean: near } : {})
  }
  for (const [key, kind] of Object.entries(TOP_TYPES)) v.read(key, kind, 'runtime/config.py:796-856 (get_scalar_param)')

  // zero_optimization: the pydantic model, or the deprecated boolean form.
  const zeroNode = root.entries.find((e) => e.key === 'zero_optimization')?.value
  let stage: ZeroStage = 0
  if (zeroNode?.kind === 'scalar' && typeof zeroNode.value === 'boolean') {
    stage = zeroNode.value ? 1 : 0
    say('warning', zeroNode, 'zero_optimization', `a boolean is DeepSpeed's deprecated form: it runs as ZeRO stage ${stage}`, 'runtime/zero/config.py:60-75 (read_zero_config_deprecated)', { allowed: `{ "stage": ${stage} }` })
  } else if (zeroNode) {
    v.section('zero_optimization', SECTIONS['zero_optimization']!)
    const s = v.read('zero_optimization.stage', { kind: 'enum', values: [0, 1, 2, 3] }, 'runtime/zero/config.py:95')
    if (typeof s === 'number') stage = s as ZeroStage
  }
  const zero = (key: string) => `zero_optimization.${key}`
  // Deprecated offload switches become the new sections; both together is DeepSpeed's assertion.
  const legacy = (oldKey: string, newKey: string, line: number) => {
    const old = v.node(zero(oldKey))
    if (!old) return false
    const on = v.value(zero(oldKey)) === true
    if (v.node(zero(newKey))) say('error', old, zero(oldKey), `cannot be given together with ${newKey}`, 'runtime/config_utils.py:88-90')
    else say('warning', old, zero(oldKey), `deprecated: read as ${newKey} ${on ? '{ "device": "cpu" }' : '(none)'}`, `runtime/zero/config.py:${line}`, { allowed: `"${newKey}": { "device": "cpu" }` })
    return on
  }
  const legacyOpt = legacy('cpu_offload', 'offload_optimizer', 202)
  const legacyParam = legacy('cpu_offload_param', 'offload_param', 181)
  const g16 = v.node(zero('stage3_gather_fp16_weights_on_model_save'))
  if (g16) {
    if (v.node(zero('stage3_gather_16bit_weights_on_model_save'))) say('error', g16, zero('stage3_gather_fp16_weights_on_model_save'), 'cannot be given together with stage3_gather_16bit_weights_on_model_save', 'runtime/config_utils.py:88-90')
    else say('warning', g16, zero('stage3_gather_fp16_weights_on_model_save'), 'deprecated: read as stage3_gather_16bit_weights_on_model_save', 'runtime/zero/config.py:280')
  }
  if (v.value(zero('legacy_stage1')) === true) say('error', v.node(zero('legacy_stage1'))!, zero('legacy_stage1'), 'the legacy ZeRO-1 was removed in DeepSpeed 0.5.9: the engine raises', 'runtime/engine.py:2377-2380')

  // Offload sections: two models with their own keys.
  const offloadDevice = (section: 'offload_optimizer' | 'offload_param', legacyOn: boolean): 'cpu' | 'nvme' | null => {
    const path = zero(section)
    const node = v.node(path)
    if (!node) return legacyOn ? 'cpu' : null
    if (node.kind === 'scalar' && node.value === null) return null
    v.section(path, SECTIONS[path]!)
    const d = v.read(`${path}.device`, { kind: 'enum', values: ['none', 'cpu', 'nvme'] }, SECTIONS[path]!.fields['device']!.source)
    return d === 'cpu' || d === 'nvme' ? d : null
  }
  const optDevice = offloadDevice('offload_optimizer', legacyOpt)
  let paramDevice = offloadDevice('offload_param', legacyParam)
  const optNode = v.node(zero('offload_optimizer')) ?? zeroNode ?? root
  const paramNode = v.node(zero('offload_param')) ?? zeroNode ?? root
  if (optDevice && stage === 0) say('error', optNode, zero('offload_optimizer'), 'optimizer offload at stage 0: DeepSpeed builds its CPU Adam, but nothing moves the parameters to the CPU, so the first step fails', 'runtime/engine.py:2107-2110, ops/adam/cpu_adam.py:138', { allowed: 'zero_optimization.stage 1 | 2 | 3, or no offload_optimizer' })
  const ratio = v.value(zero('offload_optimizer.ratio'))
  if (typeof ratio === 'number' && ratio < 1 && stage !== 3) say('error', v.node(zero('offload_optimizer.ratio'))!, zero('offload_optimizer.ratio'), 'partial offload (ratio < 1) needs ZeRO stage 3', 'runtime/zero/config.py:388-393')
  let effectiveOptDevice = optDevice
  if (optDevice === 'nvme' && (stage === 1 || stage === 2)) {
    effectiveOptDevice = 'cpu'
    say('warning', optNode, zero('offload_optimizer.device'), `NVMe offload exists only at ZeRO-3: at stage ${stage} DeepSpeed runs it as CPU offload (host RAM, not NVMe)`, 'runtime/zero/stage_1_and_2.py:186-188', { allowed: '"device": "cpu" (or stage 3 for NVMe)' })
  }
  if (optDevice === 'nvme' && stage === 3 && !v.value(zero('offload_optimizer.nvme_path'))) say('error', optNode, zero('offload_optimizer.nvme_path'), 'NVMe optimizer offload needs nvme_path: DeepSpeed joins it into the swap folder', 'runtime/zero/stage3.py:791', { allowed: '"nvme_path": "/opt/dlami/nvme" (the DLAMI\'s instance-store mount)' })
  if (paramDevice && stage !== 3) {
    say('warning', paramNode, zero('offload_param'), `parameter offload exists only at ZeRO-3: at stage ${stage} DeepSpeed ignores it`, 'runtime/engine.py:2382-2425 (only the stage-3 optimizer is given offload_param)', { allowed: 'stage 3, or no offload_param' })
    paramDevice = null
  }
  if (paramDevice === 'nvme') {
    if (!v.value(zero('offload_param.nvme_path'))) say('error', paramNode, zero('offload_param.nvme_path'), 'NVMe parameter offload needs nvme_path', 'runtime/zero/partition_parameters.py:1215-1216')
    const size = v.value(zero('offload_param.buffer_size'))
    const buffer = typeof size === 'number' ? size : DS_DEFAULTS.offloadParamBufferSize
    const needed = Math.ceil(largestParamElements(arch) / hw.gpus)
    if (buffer < needed) {
      say('error', v.node(zero('offload_param.buffer_size')) ?? paramNode, zero('offload_param.buffer_size'), `buffer_size ${buffer} is below the largest parameter partition, ${needed} elements (${arch.name}'s largest tensor over ${hw.gpus} GPUs): DeepSpeed asserts "More elements … than buffer size" at start-up`, 'runtime/swap_tensor/partitioned_param_swapper.py:357', { allowed: `≥ ${nvmeParamBufferElements(largestParamElements(arch), hw.gpus)}` })
    }
  }

  // Precision: bf16 wins over its legacy name; fp16 and bf16 together is DeepSpeed's assertion.
  v.section('fp16', SECTIONS['fp16']!)
  const bfKey = v.node('bf16') ? 'bf16' : v.node('bfloat16') ? 'bfloat16' : null
  if (v.node('bfloat16')) {
    say('warning', v.node('bfloat16')!, 'bfloat16', v.node('bf16') ? 'ignored: bf16 is present and DeepSpeed reads only that' : 'the legacy name of bf16: read as bf16', 'runtime/precision_config.py:34-38', { allowed: '"bf16"' })
  }
  if (bfKey) v.section(bfKey, SECTIONS[bfKey]!)
  const fp16 = v.value('fp16.enabled') === true
  const bf16 = bfKey !== null && v.value(`${bfKey}.enabled`) === true
  if (fp16 && bf16) say('error', v.node('fp16.enabled') ?? root, 'fp16.enabled', 'fp16 and bf16 are both enabled; DeepSpeed allows one', 'runtime/config.py:827-828', { allowed: 'enable one of fp16, bf16' })
  if (fp16 && Number(v.value('fp16.loss_scale') ?? 0) === 0) {
    for (const key of ['loss_scale_window', 'min_loss_scale']) {
      const x = v.value(`fp16.${key}`)
      if (typeof x === 'number' && x <= 0) say('error', v.node(`fp16.${key}`)!, `fp16.${key}`, 'must be > 0 with dynamic loss scaling (loss_scale 0)', 'runtime/precision_config.py:182-197')
    }
  }
  if (bfKey && v.value(`${bfKey}.bf16_master_weights_and_grads`) === true && stage === 0) say('error', v.node(`${bfKey}.bf16_master_weights_and_grads`)!, `${bfKey}.bf16_master_weights_and_grads`, 'needs ZeRO stage 1, 2 or 3', 'runtime/config.py:1041-1044')
  if (bfKey && v.value(`${bfKey}.bf16_optimizer_states`) === true && v.value(`${bfKey}.bf16_master_weights_and_grads`) !== true) say('error', v.node(`${bfKey}.bf16_optimizer_states`)!, `${bfKey}.bf16_optimizer_states`, 'needs bf16_master_weights_and_grads', 'runtime/config.py:1049')
  // The optimizer and scheduler DeepSpeed builds from the config, by name.
  const optType = v.node('optimizer.type')
  if (optType?.kind === 'scalar' && typeof optType.value === 'string') {
    const name = optType.value
    if (!DS_OPTIMIZERS.includes(name.toLowerCase()) && !TORCH_OPTIMIZERS.includes(name)) {
      const near = nearChoice(name, ['AdamW', 'Adam', 'Lion', 'Lamb', 'SGD', 'Adagrad', 'OneBitAdam', 'Muon'])
      say('error', optType, 'optimizer.type', `${JSON.stringify(name)} is neither a DeepSpeed optimizer nor a torch.optim class: "is not a supported DeepSpeed Optimizer"`, 'runtime/engine.py:1691-1694', near ? { didYouMean: near } : {})
    }
  }
  const schedType = v.node('scheduler.type')
  if (schedType?.kind === 'scalar' && typeof schedType.value === 'string' && !DS_SCHEDULERS.includes(schedType.value) && !TORCH_SCHEDULERS.includes(schedType.value)) {
    const near = nearChoice(schedType.value, [...DS_SCHEDULERS, ...TORCH_SCHEDULERS])
    say('error', schedType, 'scheduler.type', `DeepSpeed does not recognize LR scheduler ${JSON.stringify(schedType.value)}`, 'runtime/engine.py:1601-1605', near ? { didYouMean: near } : {})
  }
  const warm = v.node('scheduler.params.warmup_num_steps')
  if (warm?.kind === 'scalar' && typeof warm.value === 'number' && ['WarmupLR', 'WarmupDecayLR', 'WarmupCosineLR'].includes(String(v.value('scheduler.type'))) && !(Number.isInteger(warm.value) && warm.value > 0)) {
    say('error', warm, 'scheduler.params.warmup_num_steps', 'must be a positive whole number: DeepSpeed\'s warm-up schedulers raise otherwise', 'runtime/lr_schedules.py:708-709, 851-852', { allowed: '≥ 1' })
  }
  const maxNorm = v.node('optimizer.params.max_grad_norm')
  if (maxNorm) say('error', maxNorm, 'optimizer.params.max_grad_norm', "DeepSpeed refuses max_grad_norm in the optimizer's params", 'runtime/engine.py:2090-2093', { allowed: 'the top-level gradient_clipping' })
  if (v.value('gradient_allreduce_op') === 'sum' && stage === 3) say('error', v.node('gradient_allreduce_op')!, 'gradient_allreduce_op', '"sum" is not supported with ZeRO stage 3', 'runtime/config.py:1029-1031')

  // aio: read with get_scalar_param; unknown keys are never looked at.
  const aio = v.node('aio')
  if (aio?.kind === 'map') {
    for (const e of aio.entries) {
      if (SECTIONS['aio']!.fields[e.key]) continue
      const renamed = AIO_RENAMED[e.key]
      say('warning', { pos: e.keyPos }, `aio.${e.key}`, renamed ? `renamed ${renamed}: DeepSpeed no longer reads it and uses the default 1` : 'DeepSpeed does not read this key: it is ignored', SECTIONS['aio']!.source, renamed ? { allowed: `"intra_op_parallelism": ${JSON.stringify(e.value.kind === 'scalar' ? e.value.value : 1)}` } : {})
    }
    for (const [key, f] of Object.entries(SECTIONS['aio']!.fields)) v.read(`aio.${key}`, f.type, f.source)
  } else if (aio) v.read('aio', { kind: 'object' }, SECTIONS['aio']!.source)

  // Batch: DeepSpeed fills the missing ones with integer division, then asserts the identity (config.py:942-991).
  const world = hw.gpus
  const num = (path: string) => {
    const x = v.value(path)
    return typeof x === 'number' ? x : null
  }
  let tb = num('train_batch_size')
  let mb = num('train_micro_batch_size_per_gpu')
  let ga = num('gradient_accumulation_steps')
  const batchAt = v.node('train_batch_size') ?? v.node('train_micro_batch_size_per_gpu') ?? root
  if (tb !== null && mb !== null && ga !== null) { /* all given */ } else if (tb !== null && mb !== null) ga = Math.floor(Math.floor(tb / mb) / world)
  else if (tb !== null && ga !== null) mb = Math.floor(Math.floor(tb / world) / ga)
  else if (mb !== null && ga !== null) tb = mb * ga * world
  else if (tb !== null) [ga, mb] = [1, Math.floor(tb / world)]
  else if (mb !== null) [tb, ga] = [mb * world, 1]
  else if (!v.typeErrorAt('train_batch_size') && !v.typeErrorAt('train_micro_batch_size_per_gpu')) say('error', root, 'train_batch_size', 'neither train_batch_size nor train_micro_batch_size_per_gpu is set; DeepSpeed needs one', 'runtime/config.py:983-985', { allowed: 'two of train_batch_size, train_micro_batch_size_per_gpu, gradient_accumulation_steps' })
  if (tb !== null && mb !== null && ga !== null) {
    if (mb <= 0 || ga <= 0) say('error', batchAt, 'train_batch_size', `train_batch_size ${tb} does not divide into whole micro-batches over ${world} GPUs (micro ${mb}, accumulation ${ga})`, 'runtime/config.py:931-935')
    else if (tb !== mb * ga * world) {
      say('error', v.node('train_batch_size') ?? batchAt, 'train_batch_size', `train_batch_size ${tb} is not train_micro_batch_size_per_gpu ${mb} × gradient_accumulation_steps ${ga} × world size ${world} = ${mb * ga * world}`, 'runtime/config.py:937-940', { allowed: `${mb * ga * world}, or change the micro-batch or accumulation` })
    }
  }

  const precision: 'bf16' | 'fp16' | 'fp32' = bf16 ? 'bf16' : fp16 ? 'fp16' : 'fp32'
  const failed = findings.some((f) => f.verdict === 'error')
  const base = { findings, precision, notes }
  if (failed || mb === null || ga === null) return { ...base, strategy: null, estimate: null, usableBytes: null, fits: null, overflow: null }

  if (v.usedAuto.some((p) => ['train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps'].includes(p))) notes.push(`"auto" batch values resolved as HF Trainer fills them: micro-batch ${mb}, accumulation ${ga}, world size ${world}`)
  if (precision === 'fp32' && spec.precision !== 'fp32') notes.push('neither fp16 nor bf16 is enabled: DeepSpeed trains in fp32')
  const bucket = (paths: string[], auto: number, fallback: number) => {
    for (const path of paths) {
      if (v.usedAuto.includes(path)) return auto
      const x = num(path)
      if (x !== null) return x
    }
    return fallback
  }
  const overlap = v.value(zero('overlap_comm'))
  // What HF Trainer writes for each "auto" bucket size (hidden², 0.9·hidden², 10·hidden): strategy.ts has them.
  const auto = defaultZeroSettings(arch, 3)
  // The stage-3 knobs size nothing below stage 3; there they keep ftplan's defaults so strategies compare equal.
  const stage3 = stage === 3 ? null : defaultZeroSettings(arch, stage)
  const zeroSettings: ZeroSettings = {
    reduceBucketSize: bucket([zero('reduce_bucket_size')], auto.reduceBucketSize, DS_DEFAULTS.reduceBucketSize),
    allgatherBucketSize: stage === 3 ? auto.allgatherBucketSize : bucket([zero('allgather_bucket_size')], auto.allgatherBucketSize, DS_DEFAULTS.allgatherBucketSize),
    overlapComm: typeof overlap === 'boolean' ? overlap : stage === 3,
    prefetchBucketSize: stage3?.prefetchBucketSize ?? bucket([zero('stage3_prefetch_bucket_size'), zero('prefetch_bucket_size')], auto.prefetchBucketSize, DS_DEFAULTS.prefetchBucketSize),
    paramPersistenceThreshold: stage3?.paramPersistenceThreshold ?? bucket([zero('stage3_param_persistence_threshold'), zero('param_persistence_threshold')], auto.paramPersistenceThreshold, DS_DEFAULTS.paramPersistenceThreshold),
    maxLiveParameters: stage3?.maxLiveParameters ?? bucket([zero('stage3_max_live_parameters'), zero('max_live_parameters')], DS_DEFAULTS.maxLiveParameters, DS_DEFAULTS.maxLiveParameters),
    maxReuseDistance: stage3?.maxReuseDistance ?? bucket([zero('stage3_max_reuse_distance'), zero('max_reuse_distance')], DS_DEFAULTS.maxReuseDistance, DS_DEFAULTS.maxReuseDistance),
    subGroupSize: stage3?.subGroupSize ?? bucket([zero('sub_group_size')], DS_DEFAULTS.subGroupSize, DS_DEFAULTS.subGroupSize),
  }
  const offload: Offload = paramDevice && effectiveOptDevice ? 'optimizer+params' : effectiveOptDevice ? 'optimizer' : 'none'
  if (paramDevice && !effectiveOptDevice) notes.push('parameters offloaded without the optimizer: estimated as optimizer+params offload')
  const runSpec: FinetuneSpec = { ...spec, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : spec.precision === 'pure_bf16' ? 'pure_bf16' : 'bf16' }
  const strategyWith = (gradientCheckpointing: boolean): Strategy => ({
    gpus: world, gpusPerNode: hw.gpusPerNode, zeroStage: stage, offload: paramDevice ? 'optimizer+params' : offload,
    offloadDevice: paramDevice ?? effectiveOptDevice ?? 'cpu', gradientCheckpointing, microBatch: mb!, accumulation: ga!, zero: zeroSettings,
    // A DeepSpeed config runs DeepSpeed, stage 0 included.
    ...(stage === 0 ? { deepspeedAtZero0: true } : {}),
  })
  const usableBytes = hw.gpuMemoryBytes === null ? null : hw.gpuMemoryBytes * (1 - spec.margin)
  const fitsIn = (e: MemoryEstimate) => usableBytes === null ? null : e.perGpu.totalBytes <= usableBytes && (hw.hostMemoryBytes === null || e.perNode.cpuBytes <= HOST_RAM_FRACTION * hw.hostMemoryBytes)
  let strategy = strategyWith(run.gradientCheckpointing ?? false)
  let estimate = estimateMemory(runSpec, arch, strategy)
  if (run.gradientCheckpointing === null) {
    // Checkpointing is a trainer argument, not part of a DeepSpeed config: the planner's order, off first.
    if (fitsIn(estimate) === false) {
      strategy = strategyWith(true)
      estimate = estimateMemory(runSpec, arch, strategy)
    }
    notes.push(`gradient checkpointing is a trainer argument, not in the config; the spec leaves it to ftplan: estimated ${strategy.gradientCheckpointing ? 'on (off does not fit)' : 'off'}`)
  }
  const fits = fitsIn(estimate)
  let overflow: CheckResult['overflow'] = null
  if (fits === false && usableBytes !== null) {
    const b = estimate.perGpu.breakdown
    const largest = (Object.keys(b) as Term[]).map((term) => ({ term, bytes: b[term] })).sort((x, y) => y.bytes - x.bytes).slice(0, 3)
    overflow = { overBytes: estimate.perGpu.totalBytes - usableBytes, largest, fixes: fixesFor(runSpec, arch, strategy, usableBytes) }
  }
  return { ...base, strategy, estimate, usableBytes, fits, overflow }
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

type Say = (verdict: Verdict, at: { pos: Pos }, path: string, message: string, source: string, extra?: Partial<Issue>) => void
type Value = number | boolean | string | null

/**
 * The config's values as DeepSpeed's pydantic models read them in lax mode: integral floats and numeric strings
 * coerce (a warning when the type differs), "auto" is filled by HF Trainer where it fills that key and dropped
 * to DeepSpeed's default elsewhere (config_utils.py:53-55).
 */
class Values {
  readonly usedAuto: string[] = []
  private readonly read_ = new Map<string, Value | undefined>()
  private readonly typeErrors = new Set<string>()

  constructor(private readonly root: LMap, private readonly run: CheckRun, private readonly say: Say) {}

  node(path: string): LNode | undefined {
    let n: LNode | undefined = this.root
    for (const key of path.split('.')) {
      if (!n || n.kind !== 'map') return undefined
      n = n.entries.find((e) => e.key === key)?.value
    }
    return n
  }

  typeErrorAt(path: string): boolean {
    return this.typeErrors.has(path)
  }

  /** A value already read (or read now as untyped), after coercion and "auto" filling. */
  value(path: string): Value | undefined {
    if (this.read_.has(path)) return this.read_.get(path)
    const n = this.node(path)
    return n?.kind === 'scalar' ? n.value : undefined
  }

  /** Unknown keys of a section, then every field's type. */
  section(path: string, spec: SectionSpec): void {
    const n = this.node(path)
    if (!n) return
    if (n.kind !== 'map') {
      if (!(n.kind === 'scalar' && n.value === null)) this.say('error', n, path, 'expected an object', spec.source)
      return
    }
    for (const e of n.entries) {
      const f = spec.fields[e.key]
      if (!f) {
        const near = nearChoice(e.key, Object.keys(spec.fields))
        if (spec.strict) this.say('error', { pos: e.keyPos }, `${path}.${e.key}`, `unknown key: DeepSpeed's ${spec.source.split(' ').pop()} refuses it at start-up`, `${spec.source}; ${FORBID}`, near ? { didYouMean: near } : {})
        continue
      }
      this.read(`${path}.${e.key}`, f.type, f.source, f.fallback)
    }
  }

  read(path: string, kind: FieldKind, source: string, fallback?: string): Value | undefined {
    if (this.read_.has(path)) return this.read_.get(path)
    const n = this.node(path)
    let out: Value | undefined
    if (n) out = this.coerce(n, path, kind, source, fallback)
    this.read_.set(path, out)
    return out
  }

  private coerce(n: LNode, path: string, kind: FieldKind, source: string, fallback?: string): Value | undefined {
    const bad = (message: string, allowed?: string) => {
      this.typeErrors.add(path)
      this.say('error', n, path, message, source, allowed ? { allowed } : {})
      return undefined
    }
    const got = n.kind === 'scalar' ? (n.raw ?? JSON.stringify(n.value)) : n.kind === 'map' ? 'an object' : 'a list'
    if (n.kind === 'scalar' && n.value === 'auto') {
      const fill = this.autoValue(path)
      if (fill !== undefined) {
        this.usedAuto.push(path)
        return fill
      }
      this.say('warning', n, path, `"auto" is not filled by HF Trainer here: DeepSpeed drops it and uses its default${fallback ? ` ${fallback}` : ''}`, CONFIG_UTILS_AUTO, { allowed: 'a value' })
      return undefined
    }
    if (kind.kind === 'object') return n.kind === 'map' || (n.kind === 'scalar' && n.value === null) ? null : bad(`expected an object, got ${got}`)
    if (kind.kind === 'any') return n.kind === 'scalar' ? n.value : null
    if (n.kind !== 'scalar') return bad(`expected ${kind.kind === 'bool' ? 'true or false' : kind.kind === 'enum' ? kind.values.map((x) => JSON.stringify(x)).join(' | ') : `a ${kind.kind === 'int' ? 'whole number' : kind.kind === 'float' ? 'number' : 'path'}`}, got ${got}`)
    const x = n.value
    // get_scalar_param hands a top-level null on as "not given" (config_utils.py:193-194); overlap_comm is
    // Optional, None meaning DeepSpeed's dynamic default (zero/config.py:138, 382-386).
    if (x === null && (!path.includes('.') || path === 'zero_optimization.overlap_comm')) return undefined
    const coerced = (to: Value, how: string) => {
      this.say('warning', n, path, `${got} is not a ${how}: pydantic coerces it to ${JSON.stringify(to)}`, `${source}; pydantic lax mode`, { allowed: JSON.stringify(to) })
      return to
    }
    switch (kind.kind) {
      case 'path':
        return x === null || typeof x === 'string' ? x : bad(`expected a path, got ${got}`)
      case 'bool': {
        if (typeof x === 'boolean') return x
        if (x === 0 || x === 1) return coerced(x === 1, 'boolean')
        const s = typeof x === 'string' ? x.trim().toLowerCase() : null
        if (s !== null && ['1', 'on', 't', 'true', 'y', 'yes'].includes(s)) return coerced(true, 'boolean')
        if (s !== null && ['0', 'off', 'f', 'false', 'n', 'no'].includes(s)) return coerced(false, 'boolean')
        return bad(`expected true or false, got ${got}`, 'true | false')
      }
      case 'enum': {
        if (kind.values.includes(x as string | number)) return x
        const asNumber = typeof x === 'string' && /^\s*\d+\s*$/.test(x) ? Number(x) : null
        if (asNumber !== null && kind.values.includes(asNumber)) return coerced(asNumber, 'number')
        return bad(`${got} is not one of ${kind.values.map((v) => JSON.stringify(v)).join(' | ')}`, kind.values.map((v) => JSON.stringify(v)).join(' | '))
      }
      case 'int':
      case 'float': {
        let value: number
        if (typeof x === 'number') value = x
        else if (typeof x === 'boolean' && NO_BOOL.includes(path)) return bad(`${got} is a boolean: DeepSpeed's validator refuses it before pydantic could coerce it`)
        else if (typeof x === 'boolean') value = Number(x)
        else if (typeof x === 'string' && (kind.kind === 'int' ? /^\s*[+-]?\d+\s*$/ : /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i).test(x)) value = Number(x)
        else return bad(`expected a ${kind.kind === 'int' ? 'whole number' : 'number'}, got ${got}`)
        // json.load reads NaN and ±Infinity; pydantic refuses them for an integer but takes them for a float, as
        // get_scalar_param does (config_utils.py): accepted, and meaningless for any setting.
        if (!Number.isFinite(value) && kind.kind === 'int') return bad(`${got} is not a whole number`)
        if (!Number.isFinite(value)) {
          this.say('warning', n, path, `${got} is not a finite number: DeepSpeed takes it as it is, and no run means it`, source, { allowed: 'a finite number' })
          return value
        }
        if (kind.kind === 'int' && !Number.isInteger(value)) return bad(`${got} has a fractional part: pydantic refuses it for an integer field`, `a whole number, e.g. ${Math.floor(value)}`)
        // Past 2^53 a JSON number is not the whole number written (json.load reads 1e308 as a float), and no count is that large.
        if (kind.kind === 'int' && !Number.isSafeInteger(value)) return bad(`${got} is too large for a count`, `a whole number up to ${Number.MAX_SAFE_INTEGER}`)
        const min = kind.min
        const max = kind.kind === 'float' ? kind.max : undefined
        if (min !== undefined && value < min) return bad(`${got} is below ${min}`, `≥ ${min}`)
        if (max !== undefined && value > max) return bad(`${got} is above ${max}`, `≤ ${max}`)
        return typeof x === 'number' ? value : coerced(value, kind.kind === 'int' ? 'whole number' : 'number')
      }
    }
  }

  /** What HF Trainer writes for an "auto" (hf-args.ts HF_FILLS), from the run's TrainingArguments. */
  private autoValue(path: string): Value | undefined {
    if (!(path in HF_FILLS)) return undefined
    const r = this.run
    switch (path) {
      case 'train_micro_batch_size_per_gpu': return r.microBatch
      case 'gradient_accumulation_steps': return r.accumulation
      case 'train_batch_size': return null // computed from the other two and the world size, as HF does
      case 'fp16.enabled': return r.precision === 'fp16'
      case 'bf16.enabled': return r.precision === 'bf16'
      default: return null // filled from TrainingArguments or the model's hidden size; sized by the caller
    }
  }
}
