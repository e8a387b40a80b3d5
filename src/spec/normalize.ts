import { AWS_REGION_PATTERN, AWS_REGIONS, GPU_NAMES } from '../instances/names.js'
import { freezeTrainedLayers, loraTargetNames, SAVABLE_MODULES } from '../models/trainable.js'
import { didYouMean } from '../suggest.js'
import type { LMap, LNode } from './located.js'
import { resolveModelNode, type ResolvedModel, type SpecSources } from './model-ref.js'
import type { FieldReader } from './reader.js'
import { stageRefusal } from './runtime-rules.js'
import { readSoftware, SOFTWARE_KEYS } from './software.js'
import {
  ATTENTIONS, LOSSES, METHODS, OFFLOAD_DEVICES, OFFLOADS, OPTIMIZERS, PRECISIONS, PROVIDERS, QUANTIZATIONS, SCHEDULERS, ZERO_STAGES,
  type Constraints, type FinetuneSpec, type OptimizerSettings, type SchedulerSettings, type TrainData, type TrainerFeature,
} from './spec.js'

/** A default ftplan filled in because the input left the field out. */
export interface FilledDefault {
  path: string
  value: unknown
  /** `llamafactory`: the default LLaMA-Factory (or HF Trainer) itself applies, so the run matches it. */
  from: 'ftplan' | 'llamafactory'
}

/** Something in the input that does not change the spec, and why. */
export interface IgnoredField {
  path: string
  reason: string
}

export interface Normalized {
  spec: FinetuneSpec
  model: ResolvedModel
  defaults: FilledDefault[]
  ignored: IgnoredField[]
  notes: string[]
}

export const SPEC_KEYS = [
  'version', 'model', 'method', 'lora', 'freeze', 'quantization', 'precision', 'optimizer', 'scheduler', 'batch', 'seq_len',
  'gradient_checkpointing', 'attention', 'loss', 'deepspeed', 'gpus', 'train', 'constraints', 'margin', 'software',
] as const

/**
 * The share of the memory a GPU shows that the planner keeps free: the largest under-estimate of a run's total GPU
 * memory (reserved + CUDA context) among our measured runs, 11.3 % (small models with checkpointing, where the
 * allocator fragments most; test/calibration/probe-measured.test.ts recomputes it), rounded up. With it, no measured
 * run would have been planned onto a GPU it does not fit.
 */
export const DEFAULT_MARGIN = 0.12

/**
 * The documented defaults of spec v1 (README "The spec"). Method and LoRA shapes follow LLaMA-Factory's
 * common recipes; batch 1 × 1 is the smallest step, which `plan` may raise when the spec leaves it open.
 */
export const SPEC_DEFAULTS = {
  method: 'lora', lora: { rank: 16, dropout: 0, targets: 'all', modules_to_save: [] as string[] }, freeze: { trainable_layers: 2 },
  quantization: 'none', precision: 'bf16', optimizer: 'adamw', batch: { micro: 1, accumulation: 1 }, seq_len: 2048,
  gradient_checkpointing: 'auto', attention: 'flash', loss: 'standard', deepspeed: { zero: 'auto', offload: 'auto', offload_device: 'cpu', engine: 'auto' },
  gpus: 1, train: null, constraints: { provider: 'aws', regions: [] as string[], spot: false, max_nodes: 4, gpus: [] as string[], max_hourly_usd: null, budget_usd: null, min_compute_capability: null },
  margin: DEFAULT_MARGIN,
} as const

/**
 * HF TrainingArguments' own defaults (transformers training_args.py: learning_rate 5e-5, adam_beta1 0.9,
 * adam_beta2 0.999, adam_epsilon 1e-8, weight_decay 0.0, max_grad_norm 1.0, lr_scheduler_type linear, no
 * warm-up), which LLaMA-Factory inherits: what runs when the spec says nothing.
 */
export const OPTIM_DEFAULTS = {
  optim: { lr: 5e-5, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 } satisfies OptimizerSettings,
  scheduler: { type: 'linear', warmupRatio: 0, warmupSteps: 0 } satisfies SchedulerSettings,
}
const OPTIMIZER_KEYS = ['type', 'lr', 'betas', 'eps', 'weight_decay', 'max_grad_norm'] as const
const SCHEDULER_KEYS = ['type', 'warmup_ratio', 'warmup_steps'] as const

export const LIMITS = { batch: 65_536, seqLen: 1_048_576, loraRank: 65_536, gpus: 65_536, maxNodes: 1024, tokens: 1e16, samples: 1e12 }

export function normalizeSpec(root: LMap, r: FieldReader, src: SpecSources, prior: FilledDefault[] = [], features: readonly TrainerFeature[] = []): Normalized | undefined {
  const defaults: FilledDefault[] = [...prior]
  const ignored: IgnoredField[] = []
  const notes: string[] = []
  const top = r.map(root, '', SPEC_KEYS) ?? new Map<string, LNode>()
  const field = <T>(map: Map<string, LNode>, key: string, path: string, fallback: T, read: (n: LNode, p: string) => T | undefined): T => {
    const node = map.get(key)
    if (node === undefined || (node.kind === 'scalar' && node.value === null && fallback === null)) {
      defaults.push({ path, value: fallback, from: 'ftplan' })
      return fallback
    }
    return read(node, path) ?? fallback
  }
  const section = (key: string, keys: readonly string[]): Map<string, LNode> => {
    const node = top.get(key)
    // `lora:` with nothing after it reads as null: the same as leaving the section out.
    if (!node || (node.kind === 'scalar' && node.value === null)) return new Map<string, LNode>()
    return r.map(node, key, keys) ?? new Map<string, LNode>()
  }

  const versionNode = top.get('version')
  if (versionNode) r.choice(versionNode, 'version', [1])

  const modelNode = top.get('model')
  const model = modelNode
    ? resolveModelNode(modelNode, 'model', r, src)
    : r.fail(root, 'model', 'is required', { allowed: 'a catalog id (see `ftplan models`), a path to a config.json, or inline config.json keys' })

  let method = field(top, 'method', 'method', SPEC_DEFAULTS.method as FinetuneSpec['method'], (n, p) => r.choice(n, p, METHODS))
  // A checkpoint stored quantized (its config.json's quantization_config) fixes the bits of its frozen Linears.
  const stored = model?.arch.prequantized ?? null
  const quantDefault = stored ? `${stored.bits}bit` : method === 'qlora' ? '4bit' : SPEC_DEFAULTS.quantization
  let quantization = field(top, 'quantization', 'quantization', quantDefault as FinetuneSpec['quantization'], (n, p) => r.choice(n, p, QUANTIZATIONS))
  const quantNode = top.get('quantization')
  const allFeatures: readonly TrainerFeature[] = stored ? [...features, 'prequantized'] : features
  if (stored) {
    const what = `the checkpoint is stored quantized (config.json quantization_config: ${stored.method}, ${stored.bits}-bit)`
    if (method === 'full' || method === 'freeze') {
      r.fail(top.get('method') ?? modelNode ?? root, 'method', `${what}: its weights are frozen integers, so method ${method} cannot train them`, { allowed: 'lora (adapters on the quantized base)' })
    } else if (quantization !== `${stored.bits}bit`) {
      r.fail(quantNode ?? root, 'quantization', `${what}, not ${quantization}`, { allowed: `${stored.bits}bit, or leave quantization out` })
      quantization = `${stored.bits}bit` as FinetuneSpec['quantization']
    } else {
      notes.push(`${what}: its Linears count ${stored.bits} bits${stored.method === 'bitsandbytes' ? '' : ` (sized as bitsandbytes' ${stored.bits === 4 ? 'NF4 with its block constants, within 1 % of ' + stored.method + "'s 4 bits with group scales" : 'int8'})`}`)
    }
  }
  if (method === 'qlora' && quantization === 'none') {
    r.fail(quantNode ?? root, 'quantization', 'method qlora trains adapters on a quantized model; quantization none contradicts it', { allowed: '4bit | 8bit (or method lora)' })
  } else if (method === 'lora' && quantization !== 'none') {
    method = 'qlora'
    notes.push(`method lora with quantization ${quantization} is QLoRA: normalized to method qlora`)
  } else if ((method === 'full' || method === 'freeze') && quantization !== 'none' && !stored) {
    r.fail(quantNode ?? root, 'quantization', `quantized weights cannot be trained, so method ${method} needs quantization none`, { allowed: 'none (or method lora / qlora)' })
  }

  const loraMap = section('lora', ['rank', 'alpha', 'dropout', 'targets', 'modules_to_save'])
  const rank = field(loraMap, 'rank', 'lora.rank', SPEC_DEFAULTS.lora.rank as number, (n, p) => r.int(n, p, 1, LIMITS.loraRank))
  const alpha = field(loraMap, 'alpha', 'lora.alpha', 2 * rank, (n, p) => r.number(n, p, { min: 0, max: 1e6, minExclusive: true }))
  const dropout = field(loraMap, 'dropout', 'lora.dropout', SPEC_DEFAULTS.lora.dropout as number, (n, p) => r.number(n, p, { min: 0, max: 1, maxExclusive: true }))
  const targets = field(loraMap, 'targets', 'lora.targets', 'all' as 'all' | string[], (n, p) =>
    n.kind === 'scalar' && typeof n.value === 'string' && n.value.trim().toLowerCase() === 'all'
      ? 'all'
      : n.kind === 'seq' && n.items.length === 0
        ? r.fail(n, p, 'an empty list targets nothing', { allowed: 'all, or a list of module names' })
        : r.stringList(n, p, 'all, or a list of module names such as q_proj, v_proj'))
  const modulesToSave = field(loraMap, 'modules_to_save', 'lora.modules_to_save', [] as string[], (n, p) => r.stringList(n, p, SAVABLE_MODULES.join(', ')))
  const freezeMap = section('freeze', ['trainable_layers'])
  const trainableLayers = field(freezeMap, 'trainable_layers', 'freeze.trainable_layers', SPEC_DEFAULTS.freeze.trainable_layers as number, (n, p) => {
    const v = r.int(n, p, -4096, 4096)
    return v === 0 ? r.fail(n, p, '0 layers would train nothing', { allowed: 'N > 0: the last N layers; N < 0: the first |N|' }) : v
  })
  if (method !== 'lora' && method !== 'qlora' && top.has('lora')) ignored.push({ path: 'lora', reason: `method is ${method}` })
  if (method !== 'freeze' && top.has('freeze')) ignored.push({ path: 'freeze', reason: `method is ${method}` })

  const precision = field(top, 'precision', 'precision', SPEC_DEFAULTS.precision as FinetuneSpec['precision'], (n, p) => r.choice(n, p, PRECISIONS))
  // `optimizer: adamw`, or a mapping with the type and its hyperparameters.
  const optNode = top.get('optimizer')
  const optMap = optNode?.kind === 'map' ? r.map(optNode, 'optimizer', OPTIMIZER_KEYS) ?? new Map<string, LNode>() : new Map<string, LNode>()
  if (optNode?.kind === 'map' && !optMap.has('type')) optMap.set('type', { kind: 'scalar', pos: optNode.pos, value: SPEC_DEFAULTS.optimizer })
  const optimizer = optNode?.kind === 'map'
    ? r.choice(optMap.get('type')!, 'optimizer.type', OPTIMIZERS) ?? SPEC_DEFAULTS.optimizer
    : field(top, 'optimizer', 'optimizer', SPEC_DEFAULTS.optimizer as FinetuneSpec['optimizer'], (n, p) => r.choice(n, p, OPTIMIZERS))
  const od = OPTIM_DEFAULTS.optim
  const positive = (n: LNode, p: string) => r.number(n, p, { min: 0, max: 1e3, minExclusive: true })
  const optim: OptimizerSettings = {
    lr: field(optMap, 'lr', 'optimizer.lr', od.lr, positive),
    betas: field(optMap, 'betas', 'optimizer.betas', od.betas as readonly [number, number], (n, p) => readBetas(n, p, r)),
    eps: field(optMap, 'eps', 'optimizer.eps', od.eps, positive),
    weightDecay: field(optMap, 'weight_decay', 'optimizer.weight_decay', od.weightDecay, (n, p) => r.number(n, p, { min: 0, max: 1e3 })),
    maxGradNorm: field(optMap, 'max_grad_norm', 'optimizer.max_grad_norm', od.maxGradNorm, (n, p) => r.number(n, p, { min: 0, max: 1e6 })),
  }
  const schedNode = top.get('scheduler')
  const schedMap = schedNode?.kind === 'map' ? r.map(schedNode, 'scheduler', SCHEDULER_KEYS) ?? new Map<string, LNode>() : new Map<string, LNode>()
  if (schedNode && schedNode.kind !== 'map' && !(schedNode.kind === 'scalar' && schedNode.value === null)) schedMap.set('type', schedNode)
  const sd = OPTIM_DEFAULTS.scheduler
  const scheduler: SchedulerSettings = {
    type: field(schedMap, 'type', 'scheduler.type', sd.type as SchedulerSettings['type'], (n, p) => r.choice(n, schedNode?.kind === 'map' ? p : 'scheduler', SCHEDULERS)),
    warmupRatio: field(schedMap, 'warmup_ratio', 'scheduler.warmup_ratio', sd.warmupRatio, (n, p) => r.number(n, p, { min: 0, max: 1, maxExclusive: true })),
    warmupSteps: field(schedMap, 'warmup_steps', 'scheduler.warmup_steps', sd.warmupSteps, (n, p) => r.int(n, p, 0, 1e9)),
  }
  const batchMap = section('batch', ['micro', 'accumulation', 'global'])
  const micro = field(batchMap, 'micro', 'batch.micro', SPEC_DEFAULTS.batch.micro as number, (n, p) => r.int(n, p, 1, LIMITS.batch))
  let accumulation = field(batchMap, 'accumulation', 'batch.accumulation', SPEC_DEFAULTS.batch.accumulation as number, (n, p) => r.int(n, p, 1, LIMITS.batch))
  const globalBatch = field(batchMap, 'global', 'batch.global', null as number | null, (n, p) => r.int(n, p, 1, LIMITS.batch * LIMITS.batch))
  const seqLenTokens = field(top, 'seq_len', 'seq_len', SPEC_DEFAULTS.seq_len as number, (n, p) => r.int(n, p, 1, LIMITS.seqLen))
  const gradientCheckpointing = field(top, 'gradient_checkpointing', 'gradient_checkpointing', 'auto' as boolean | 'auto', (n, p) => r.choice(n, p, [true, false, 'auto'] as const))
  const attention = field(top, 'attention', 'attention', SPEC_DEFAULTS.attention as FinetuneSpec['attention'], (n, p) => r.choice(n, p, ATTENTIONS))
  const loss = field(top, 'loss', 'loss', SPEC_DEFAULTS.loss as FinetuneSpec['loss'], (n, p) => r.choice(n, p, LOSSES))

  const dsMap = section('deepspeed', ['zero', 'offload', 'offload_device', 'engine'])
  const zero = field(dsMap, 'zero', 'deepspeed.zero', 'auto' as FinetuneSpec['deepspeed']['zero'], (n, p) => r.choice(n, p, [...ZERO_STAGES, 'auto'] as const))
  const offload = field(dsMap, 'offload', 'deepspeed.offload', 'auto' as FinetuneSpec['deepspeed']['offload'], (n, p) => r.choice(n, p, [...OFFLOADS, 'auto'] as const))
  const offloadDevice = field(dsMap, 'offload_device', 'deepspeed.offload_device', SPEC_DEFAULTS.deepspeed.offload_device as FinetuneSpec['deepspeed']['offloadDevice'], (n, p) => r.choice(n, p, OFFLOAD_DEVICES))
  const engine = field(dsMap, 'engine', 'deepspeed.engine', 'auto' as FinetuneSpec['deepspeed']['engine'], (n, p) => r.choice(n, p, ['auto', 'deepspeed'] as const))
  const offloadNode = dsMap.get('offload')
  if (offloadNode && zero !== 'auto') {
    // DeepSpeed: offload_param exists only in ZeRO-3; offload_optimizer needs ZeRO 1, 2 or 3.
    if (offload === 'optimizer+params' && zero !== 3) r.fail(offloadNode, 'deepspeed.offload', `parameter offload needs ZeRO stage 3, but zero is ${zero}`, { allowed: 'none | optimizer (or zero: 3)' })
    if (offload === 'optimizer' && zero === 0) r.fail(offloadNode, 'deepspeed.offload', 'optimizer offload needs ZeRO stage 1, 2 or 3, but zero is 0', { allowed: 'none (or zero: 1 | 2 | 3)' })
  }

  if (zero !== 'auto') {
    const refusal = stageRefusal({ precision, quantization, trainerFeatures: allFeatures }, zero)
    if (refusal) r.fail(dsMap.get('zero') ?? root, 'deepspeed.zero', refusal, { allowed: zero === 3 ? 'zero 0 | 1 | 2 | auto' : 'zero 0 | auto' })
  }

  const gpus = field(top, 'gpus', 'gpus', SPEC_DEFAULTS.gpus as number, (n, p) => r.int(n, p, 1, LIMITS.gpus))
  if (globalBatch !== null) {
    // A fixed global batch describes the spec's own layout too: micro × accumulation × gpus must make it.
    const globalNode = batchMap.get('global')!
    if (!batchMap.has('accumulation') && globalBatch % (micro * gpus) === 0) accumulation = globalBatch / (micro * gpus)
    if (micro * accumulation * gpus !== globalBatch) {
      r.fail(globalNode, 'batch.global', `${globalBatch} is not batch.micro ${micro} × batch.accumulation ${accumulation} × gpus ${gpus} = ${micro * accumulation * gpus}`, { allowed: `${micro * accumulation * gpus}, or a micro-batch, accumulation and gpus whose product is ${globalBatch}` })
    }
  }
  const train = field(top, 'train', 'train', null as TrainData | null, (n, p) => readTrain(n, p, r, seqLenTokens, notes))
  const constraints = readConstraints(section('constraints', ['provider', 'regions', 'spot', 'max_nodes', 'gpus', 'max_hourly_usd', 'budget_usd', 'min_compute_capability']), r, field, notes)
  const margin = field(top, 'margin', 'margin', SPEC_DEFAULTS.margin as number, (n, p) => r.number(n, p, { min: 0, max: 0.9 }))
  const software = readSoftware(section('software', SOFTWARE_KEYS), r, field)

  if (model) {
    const arch = model.arch
    notes.push(...model.notes)
    ignored.push(...model.ignoredKeys.map((k) => ({ path: k, reason: 'config.json key ftplan does not use' })))
    if (Array.isArray(targets)) {
      const names = loraTargetNames(arch)
      const listNode = loraMap.get('targets')
      targets.forEach((t, i) => {
        if (!names.includes(t)) {
          const near = didYouMean(t, names)
          const at = listNode?.kind === 'seq' ? listNode.items[i]! : listNode ?? root
          r.fail(at, `lora.targets[${i}]`, `${arch.name} has no Linear module named ${JSON.stringify(t)}`, { allowed: names.join(', '), ...(near ? { didYouMean: near } : {}) })
        }
      })
    }
    modulesToSave.forEach((m, i) => {
      if (!(SAVABLE_MODULES as readonly string[]).includes(m)) {
        const listNode = loraMap.get('modules_to_save')
        const near = didYouMean(m, SAVABLE_MODULES)
        r.fail(listNode?.kind === 'seq' ? listNode.items[i]! : root, `lora.modules_to_save[${i}]`, `${JSON.stringify(m)} cannot be trained in full beside LoRA`, { allowed: SAVABLE_MODULES.join(', '), ...(near ? { didYouMean: near } : {}) })
      }
    })
    if (method === 'freeze' && Math.abs(trainableLayers) > arch.numLayers) {
      r.fail(freezeMap.get('trainable_layers') ?? root, 'freeze.trainable_layers', `${arch.name} has only ${arch.numLayers} layers`, { allowed: `1..${arch.numLayers} (or -1..-${arch.numLayers})` })
    }
    if ((method === 'lora' || method === 'qlora') && rank >= arch.hiddenSize) notes.push(`lora.rank ${rank} is not below hidden_size ${arch.hiddenSize}: the adapters hold more parameters than low rank saves`)
    if (method === 'freeze') notes.push(`freeze trains layers ${describeLayers(freezeTrainedLayers(arch.numLayers, trainableLayers))} of 0..${arch.numLayers - 1}`)
    if (arch.maxPositionEmbeddings !== null && seqLenTokens > arch.maxPositionEmbeddings) {
      notes.push(`seq_len ${seqLenTokens} exceeds ${arch.name}'s max_position_embeddings ${arch.maxPositionEmbeddings}: it needs RoPE scaling to train well`)
    }
  }
  if (!model || r.issues.length > 0) return undefined

  const spec: FinetuneSpec = {
    model: model.ref,
    method,
    lora: { rank, alpha, dropout, targets, modulesToSave },
    freeze: { trainableLayers },
    quantization,
    precision,
    optimizer,
    optim,
    scheduler,
    trainerFeatures: allFeatures,
    batch: { micro, accumulation, global: globalBatch },
    seqLenTokens,
    gradientCheckpointing,
    attention,
    loss,
    deepspeed: { zero, offload, offloadDevice, engine },
    gpus,
    train,
    constraints,
    margin,
    software,
  }
  // Defaults of a section the method does not use would only be noise in `spec check`.
  const relevant = defaults.filter((d) => !(d.path.startsWith('lora.') && method !== 'lora' && method !== 'qlora') && !(d.path.startsWith('freeze.') && method !== 'freeze'))
  return { spec, model, defaults: relevant, ignored, notes }
}

function readBetas(n: LNode, p: string, r: FieldReader): readonly [number, number] | undefined {
  const allowed = 'two numbers in [0, 1), e.g. [0.9, 0.999]'
  if (n.kind !== 'seq' || n.items.length !== 2) return r.fail(n, p, 'expected [beta1, beta2]', { allowed })
  const b = n.items.map((item, i) => r.number(item, `${p}[${i}]`, { min: 0, max: 1, maxExclusive: true }))
  return b[0] === undefined || b[1] === undefined ? undefined : [b[0], b[1]]
}

type FieldFn = <T>(map: Map<string, LNode>, key: string, path: string, fallback: T, read: (n: LNode, p: string) => T | undefined) => T

function readTrain(node: LNode, path: string, r: FieldReader, seqLen: number, notes: string[]): TrainData | undefined {
  const m = r.map(node, path, ['tokens', 'samples', 'avg_tokens', 'epochs', 'mfu'])
  if (!m) return undefined
  const epochsNode = m.get('epochs')
  const epochs = epochsNode ? r.number(epochsNode, `${path}.epochs`, { min: 0, max: 1e6, minExclusive: true }) : 1
  const mfuNode = m.get('mfu')
  const mfu = mfuNode ? r.number(mfuNode, `${path}.mfu`, { min: 0, max: 1, minExclusive: true }) ?? null : null
  const tokensNode = m.get('tokens')
  const samplesNode = m.get('samples')
  const avgNode = m.get('avg_tokens')
  if (tokensNode && (samplesNode || avgNode)) return r.fail(samplesNode ?? avgNode!, path, 'give tokens, or samples with avg_tokens, not both', { allowed: '{ tokens, epochs } | { samples, avg_tokens, epochs }' })
  if (tokensNode) {
    const tokens = r.number(tokensNode, `${path}.tokens`, { min: 0, max: LIMITS.tokens, minExclusive: true })
    return tokens === undefined || epochs === undefined ? undefined : { tokens, epochs, mfu }
  }
  if (!samplesNode || !avgNode) {
    return r.fail(node, path, samplesNode ? 'samples needs avg_tokens (the mean tokens per sample)' : 'needs tokens, or samples with avg_tokens', { allowed: '{ tokens, epochs } | { samples, avg_tokens, epochs }' })
  }
  const samples = r.int(samplesNode, `${path}.samples`, 1, LIMITS.samples)
  const avgTokens = r.number(avgNode, `${path}.avg_tokens`, { min: 0, max: LIMITS.seqLen, minExclusive: true })
  if (avgTokens !== undefined && avgTokens > seqLen) notes.push(`train.avg_tokens ${avgTokens} exceeds seq_len ${seqLen}: samples longer than seq_len are truncated in training`)
  return samples === undefined || avgTokens === undefined || epochs === undefined ? undefined : { samples, avgTokens, epochs, mfu }
}

function readConstraints(m: Map<string, LNode>, r: FieldReader, field: FieldFn, notes: string[]): Constraints {
  const d = SPEC_DEFAULTS.constraints
  const provider = field(m, 'provider', 'constraints.provider', d.provider as Constraints['provider'], (n, p) => r.choice(n, p, PROVIDERS))
  const regions = field(m, 'regions', 'constraints.regions', [] as string[], (n, p) => {
    const list = r.stringList(n, p, 'AWS region names such as us-east-1')
    list?.forEach((region, i) => {
      const item = n.kind === 'seq' ? n.items[i]! : n
      if (!AWS_REGION_PATTERN.test(region)) {
        const near = didYouMean(region, AWS_REGIONS)
        r.fail(item, `${p}[${i}]`, `${JSON.stringify(region)} is not an AWS region name`, { allowed: 'names such as us-east-1, eu-west-2', ...(near ? { didYouMean: near } : {}) })
      } else if (!(AWS_REGIONS as readonly string[]).includes(region)) notes.push(`region ${region} is not one ftplan knows; the built-in catalog has no offers there`)
    })
    return list
  })
  const spot = field(m, 'spot', 'constraints.spot', d.spot as boolean, (n, p) => r.bool(n, p))
  const maxNodes = field(m, 'max_nodes', 'constraints.max_nodes', d.max_nodes as number, (n, p) => r.int(n, p, 1, LIMITS.maxNodes))
  const gpus = field(m, 'gpus', 'constraints.gpus', [] as string[], (n, p) => {
    if (n.kind !== 'seq') return r.fail(n, p, 'expected a list of GPU names', { allowed: GPU_NAMES.join(', ') })
    const out: string[] = []
    n.items.forEach((item, i) => {
      const name = r.choice(item, `${p}[${i}]`, GPU_NAMES)
      if (name !== undefined && !out.includes(name)) out.push(name)
    })
    return out
  })
  const usd = (key: string) => field(m, key, `constraints.${key}`, null as number | null, (n, p) => r.number(n, p, { min: 0, max: 1e9, minExclusive: true }))
  const minComputeCapability = field(m, 'min_compute_capability', 'constraints.min_compute_capability', null as number | null, (n, p) => r.number(n, p, { min: 3, max: 20 }))
  return { provider, regions, spot, maxNodes, gpus, maxHourlyUsd: usd('max_hourly_usd'), budgetUsd: usd('budget_usd'), minComputeCapability }
}

function describeLayers(layers: number[]): string {
  if (layers.length === 0) return 'none'
  return layers.length === 1 ? String(layers[0]) : `${layers[0]}..${layers.at(-1)}`
}
