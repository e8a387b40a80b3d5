import { GPU_MODELS, PYTORCH_MIN_COMPUTE_CAPABILITY } from '../instances/gpus.js'
import type { Catalog, InstanceOffer } from '../instances/types.js'
import type { ModelArch } from '../models/arch.js'
import { estimateMemory, type MemoryEstimate } from '../memory/estimate.js'
import { adapterInputCopyBytes, modelFacts, type ModelFacts } from '../memory/model-facts.js'
import { precisionRegime } from '../memory/regime.js'
import { defaultZeroSettings, offloadDeviceFor, tightZeroSettings, type Strategy } from '../memory/strategy.js'
import { stageRefusals, stageRefusal } from '../spec/runtime-rules.js'
import type { FinetuneSpec, Offload, ZeroStage } from '../spec/spec.js'
import { jobTime, type JobTime } from './job-time.js'
import { TIME_BAND, withinBand } from './time-band.js'
import { gpuVisibleBytes } from '../instances/visible-memory.js'

/** Host RAM a node may give to offloaded state and pinned buffers (the rest runs the OS and the processes). */
export const HOST_RAM_FRACTION = 0.9
const MICRO_BATCHES = [1, 2, 4, 8, 16, 32]

/**
 * What a plan may change of the batch. `free`: the spec set neither micro-batch nor accumulation, so the planner picks
 * the micro-batch. `per-gpu`: the spec's micro × accumulation is each GPU's batch per step, as HF Trainer and
 * LLaMA-Factory mean it; the planner may split it into another micro-batch × accumulation, and the global batch grows
 * with the GPUs; it keeps the spec's micro-batch or splits it smaller, never larger. `global`: the spec fixed
 * batch.global, kept on every layout.
 */
export type BatchMode = 'free' | 'per-gpu' | 'global'

export interface PlanInput {
  spec: FinetuneSpec
  arch: ModelArch
  catalog: Catalog
  batch: BatchMode
}

export interface Candidate {
  offer: InstanceOffer
  nodes: number
  strategy: Strategy
  estimate: MemoryEstimate
  usableBytesPerGpu: number
  /** The price ranked by: spot when constraints.spot, else on-demand; for all nodes. */
  priceUsdPerHour: number
  onDemandUsdPerHour: number | null
  spotUsdPerHour: number | null
  time: JobTime | null
  jobCostUsd: number | null
  /** Set when a bf16 spec runs as fp16 with loss scaling (GPUs without bf16). */
  precisionNote: string | null
}

export interface Rejection {
  instanceType: string
  regions: string[]
  nodes: [number, number]
  reason: string
}

export type PlanResult =
  /** `cheapest`: the plan of the lowest job cost, when the tie rule (rankWithinBand) chose another. */
  | { status: 'fit'; plan: Candidate; alternatives: Candidate[]; rejected: Rejection[]; assumptions: string[]; catalog: Catalog; cheapest: Candidate | null }
  | { status: 'no-fit'; plan: null; alternatives: []; rejected: Rejection[]; assumptions: string[]; suggestions: string[]; catalog: Catalog }

interface StrategyChoice {
  zeroStage: ZeroStage
  offload: Offload
  gradientCheckpointing: boolean
  microBatch: number
  accumulation: number
}

/** Every strategy the spec leaves open, for `gpus` data-parallel GPUs; null when the fixed global batch cannot split. */
function strategiesFor(spec: FinetuneSpec, gpus: number, mode: BatchMode): StrategyChoice[] | null {
  const zeros: ZeroStage[] = (spec.deepspeed.zero === 'auto' ? [0, 1, 2, 3] as ZeroStage[] : [spec.deepspeed.zero]).filter((z) => stageRefusal(spec, z) === null)
  const offloads: Offload[] = spec.deepspeed.offload === 'auto' ? ['none', 'optimizer', 'optimizer+params'] : [spec.deepspeed.offload]
  const gcs = spec.gradientCheckpointing === 'auto' ? [false, true] : [spec.gradientCheckpointing]
  const batches: { microBatch: number; accumulation: number }[] = []
  if (mode === 'global') {
    const global = spec.batch.global ?? spec.batch.micro * spec.batch.accumulation * spec.gpus
    for (const micro of MICRO_BATCHES) if (global % (micro * gpus) === 0) batches.push({ microBatch: micro, accumulation: global / (micro * gpus) })
    if (batches.length === 0) return null
  } else if (mode === 'per-gpu') {
    // The spec's micro-batch, or a smaller one with more accumulation where memory needs it; never a larger one.
    const perGpu = spec.batch.micro * spec.batch.accumulation
    for (const micro of new Set([...MICRO_BATCHES, spec.batch.micro])) if (micro <= spec.batch.micro && perGpu % micro === 0) batches.push({ microBatch: micro, accumulation: perGpu / micro })
  } else for (const micro of MICRO_BATCHES) batches.push({ microBatch: micro, accumulation: spec.batch.accumulation })
  // Layer-wise GaLore/APOLLO steps as gradients arrive: LLaMA-Factory refuses accumulation with it (train/trainer_utils.py:251).
  if (spec.projection?.layerwise) batches.splice(0, batches.length, ...batches.filter((b) => b.accumulation === 1))
  if (batches.length === 0) return null
  const out: StrategyChoice[] = []
  for (const zeroStage of zeros) for (const offload of offloads) {
    if (offload === 'optimizer+params' && zeroStage !== 3) continue
    if (offload === 'optimizer' && zeroStage === 0) continue
    for (const gradientCheckpointing of gcs) for (const b of batches) out.push({ zeroStage, offload, gradientCheckpointing, ...b })
  }
  return out
}

/** A faster choice first: no offload, no recompute, lower ZeRO stage, larger micro-batch. */
function speedRank(c: StrategyChoice): number {
  return (c.offload === 'none' ? 0 : c.offload === 'optimizer' ? 1000 : 2000) + (c.gradientCheckpointing ? 100 : 0) + c.zeroStage * 10 - Math.log2(c.microBatch)
}

export interface SearchOptions {
  maxNodes?: number
  /** Ignore constraints (regions, GPUs, spot, price caps) — used to explain what they exclude. */
  ignoreConstraints?: boolean
  /** Searches made to build suggestions do not suggest in turn. */
  noSuggestions?: boolean
  /**
   * Memory estimates by layout, shared by searches of one spec that differ only in constraints (what a layout needs
   * does not depend on where it runs or at what price): a second search reuses what the first estimated.
   */
  layouts?: LayoutCache
}

/**
 * What a layout's strategies need, kept slim: a search over many node counts holds thousands of layouts, and whole
 * estimates (phases, terms, notes) for each grew the heap by megabytes per node count (issue #16). The chosen
 * candidate's estimate is made again in full.
 */
export interface LayoutEntry { choice: StrategyChoice; strategy: Strategy; totalBytes: number; cpuBytes: number; nvmeBytes: number }
export type LayoutCache = Map<string, LayoutEntry[] | null>

/**
 * The cheapest offer group that fits, by exhaustive search over offers × node counts × the strategies the
 * spec leaves open (ZeRO stage, offload, checkpointing, micro-batch). Memory is estimated once per distinct
 * (GPUs, GPUs per node, strategy); the fit is checked per offer against its reported GPU memory × (1 − margin)
 * and 90 % of its host RAM. Ranked by job cost when the spec has `train`, else by hourly price.
 */
export function planFinetune(input: PlanInput, options: SearchOptions = {}): PlanResult {
  const { spec, arch, catalog } = input
  const c = spec.constraints
  const maxNodes = options.maxNodes ?? c.maxNodes
  const floor = c.minComputeCapability !== null
    ? { value: c.minComputeCapability, source: 'constraints.min_compute_capability' }
    : catalog.minComputeCapability ?? PYTORCH_MIN_COMPUTE_CAPABILITY
  const factsFor = [false, true].map((autocast) => modelFacts(spec, arch, adapterInputCopyBytes(spec, autocast)))
  const facts = (s: Strategy): ModelFacts => factsFor[precisionRegime(spec, s).adaptersInAutocast ? 1 : 0]!
  // Memory depends on the GPU count, GPUs per node and strategy, not on the GPU model or price: estimate
  // each once and check every offer of that shape against it.
  const layouts: LayoutCache = options.layouts ?? new Map()
  const layout = (gpus: number, gpusPerNode: number) => {
    const key = `${input.batch}|${gpus}|${gpusPerNode}`
    if (!layouts.has(key)) {
      const choices = strategiesFor(spec, gpus, input.batch)
      // DeepSpeed strategies come twice: HF's auto bucket sizes, then a quarter of them for tight headroom
      // (tried second, so chosen only where the first does not fit).
      layouts.set(key, choices && choices.flatMap((choice) => {
        const zeros = choice.zeroStage === 0 ? [defaultZeroSettings(arch, 0)] : [defaultZeroSettings(arch, choice.zeroStage), tightZeroSettings(arch, choice.zeroStage)]
        return zeros.map((zero) => {
          const strategy: Strategy = {
            gpus, gpusPerNode, offloadDevice: choice.offload === 'none' ? 'cpu' : offloadDeviceFor(spec.deepspeed.offloadDevice, choice.zeroStage), zero, ...choice,
            ...(choice.zeroStage === 0 && spec.deepspeed.engine === 'deepspeed' ? { deepspeedAtZero0: true } : {}),
          }
          const e = estimateMemory(spec, arch, strategy, facts(strategy))
          return { choice, strategy, totalBytes: e.perGpu.totalBytes, cpuBytes: e.perNode.cpuBytes, nvmeBytes: e.perNode.nvmeBytes }
        })
      }))
    }
    return layouts.get(key)!
  }

  const assumptions: string[] = []
  const rejectedBy = new Map<string, { offer: InstanceOffer; nodes: number[]; reason: string; score: number }>()
  const reject = (offer: InstanceOffer, nodes: number, reason: string, score = Infinity) => {
    const key = `${offer.instanceType}@${offer.region}`
    const r = rejectedBy.get(key)
    if (!r) rejectedBy.set(key, { offer, nodes: [nodes], reason, score })
    else {
      r.nodes.push(nodes)
      if (score < r.score) Object.assign(r, { reason, score })
    }
  }
  let outside = 0
  let belowFloor = 0
  const candidates: Candidate[] = []
  const tokensKnown = spec.train !== null

  for (const offer of catalog.offers) {
    const gpu = GPU_MODELS[offer.gpu]
    if (!options.ignoreConstraints) {
      if ((c.regions.length > 0 && !c.regions.includes(offer.region)) || (c.gpus.length > 0 && !c.gpus.includes(offer.gpu))) {
        outside += 1
        continue
      }
    }
    const unit = c.spot && !options.ignoreConstraints ? offer.spotPriceUsdPerHour : offer.priceUsdPerHour
    const capability = Number(gpu.computeCapability)
    if (capability < floor.value) {
      belowFloor += 1
      reject(offer, 1, c.minComputeCapability === null
        ? `${offer.gpu} (compute capability ${gpu.computeCapability}) is older than ${floor.value}: ${floor.source}; constraints.min_compute_capability: ${gpu.computeCapability} plans it for a stack that still supports it`
        : `${offer.gpu} (compute capability ${gpu.computeCapability}) is below constraints.min_compute_capability ${floor.value}`)
      continue
    }
    if (offer.gpuCount < 1) {
      reject(offer, 1, `a fractional GPU (${offer.gpuCount} of an ${offer.gpu}) cannot train`)
      continue
    }
    if (unit === null) {
      reject(offer, 1, `no ${c.spot ? 'spot' : 'on-demand'} price in the catalog (unpriced offers are never ranked)`)
      continue
    }
    const usable = gpuVisibleBytes(offer) * (1 - spec.margin)
    const precisionNote = !gpu.bf16 && (spec.precision === 'bf16' || spec.precision === 'pure_bf16')
      ? `${offer.gpu} has no bf16: the run uses fp16 with dynamic loss scaling (same memory)` : null
    for (let nodes = 1; nodes <= maxNodes; nodes++) {
      const price = unit * nodes
      if (!options.ignoreConstraints && c.maxHourlyUsd !== null && price > c.maxHourlyUsd) {
        reject(offer, nodes, `$${price.toFixed(2)}/hour is over max_hourly_usd $${c.maxHourlyUsd}`, 1e15 + price)
        continue
      }
      const gpus = offer.gpuCount * nodes
      if (spec.projection?.layerwise && gpus > 1) {
        reject(offer, nodes, `layer-wise ${spec.projection.kind === 'galore' ? 'GaLore' : 'APOLLO'} runs on one GPU only: LLaMA-Factory refuses it in distributed training (hparams/parser.py:505-510)`)
        continue
      }
      const laidOut = layout(gpus, offer.gpuCount)
      if (!laidOut) {
        reject(offer, nodes, `the global batch of ${spec.batch.micro * spec.batch.accumulation * spec.gpus} does not split over ${gpus} GPUs`)
        continue
      }
      let best: { key: number; strategy: Strategy; time: Candidate['time']; jobCostUsd: number | null } | null = null
      let closest = Infinity
      let closestReason = ''
      const cpuLimit = offer.hostMemoryGiB * 2 ** 30 * HOST_RAM_FRACTION
      for (const { choice, strategy, totalBytes: total, cpuBytes, nvmeBytes } of laidOut) {
        const nvmeOk = strategy.offloadDevice !== 'nvme' || nvmeBytes <= offer.nvmeGb * 1e9
        if (total > usable || cpuBytes > cpuLimit || !nvmeOk) {
          const over = total > usable ? total / usable : cpuBytes > cpuLimit ? cpuBytes / cpuLimit : 2
          if (over < closest) {
            closest = over
            closestReason = total > usable
              ? `needs ${gb(total)} GB per GPU, ${gb(usable)} GB usable`
              : cpuBytes > cpuLimit ? `needs ${gb(cpuBytes)} GB CPU RAM per node for offload, ${gb(cpuLimit)} GB usable` : `needs ${gb(nvmeBytes)} GB NVMe per node, ${offer.nvmeGb} GB present`
          }
          continue
        }
        const time = tokensKnown ? jobTime(spec, arch, facts(strategy), offer, gpu, nodes, strategy) : null
        if (tokensKnown && !time) {
          closestReason = `no published TFLOPS for ${offer.gpu}: the job's time and cost cannot be estimated`
          closest = 0
          continue
        }
        const jobCostUsd = time ? time.hours * price : null
        // Within one offer and node count the cost is price × hours, so the fastest strategy is the cheapest.
        const key = time ? time.hours : speedRank(choice)
        if (!best || key < best.key) best = { key, strategy, time, jobCostUsd }
      }
      if (!best) {
        reject(offer, nodes, closestReason, closest)
        continue
      }
      if (!options.ignoreConstraints && c.budgetUsd !== null && best.jobCostUsd !== null && best.jobCostUsd > c.budgetUsd) {
        reject(offer, nodes, `the job costs $${best.jobCostUsd.toFixed(0)}, over budget_usd $${c.budgetUsd}`, 1e15 + best.jobCostUsd)
        continue
      }
      candidates.push({
        offer, nodes, strategy: best.strategy, estimate: estimateMemory(spec, arch, best.strategy, facts(best.strategy)), usableBytesPerGpu: usable,
        priceUsdPerHour: price, onDemandUsdPerHour: offer.priceUsdPerHour === null ? null : offer.priceUsdPerHour * nodes,
        spotUsdPerHour: offer.spotPriceUsdPerHour === null ? null : offer.spotPriceUsdPerHour * nodes,
        time: best.time, jobCostUsd: best.jobCostUsd, precisionNote,
      })
    }
  }

  assumptions.push(...stageRefusals(spec))
  if (spec.projection) {
    const f = factsFor[0]!.projection!
    assumptions.push(`${f.describe}: the optimizer keeps the state of those weights on their gradient projected to rank ${spec.projection.rank}, with the projection matrices (LLaMA-Factory train/trainer_utils.py:200-285)${spec.projection.layerwise ? '; layer-wise runs on one GPU without gradient accumulation (hparams/parser.py:505-510, trainer_utils.py:251)' : ''}`)
  }
  if (belowFloor > 0) assumptions.push(`GPUs of compute capability ${floor.value} and newer only (${floor.source}): ${belowFloor} offers left out`)
  if (outside > 0) assumptions.push(`${outside} offers are outside constraints.regions / constraints.gpus`)
  assumptions.push(tokensKnown
    ? `ranked by job cost: price × nodes × estimated hours (time model: FLOPs per token at the GPU's utilisation, ZeRO traffic where compute cannot hide it, offload; README "Time model"); plans within the time band of the cheapest (×${TIME_BAND.p10}–×${TIME_BAND.p90}, the p10–p90 of the time model's error) cost the same, and among them the fewest GPUs come first, then the fewest nodes, then the soonest (to the hundredth of an hour), then the cheapest`
    : 'the spec has no train section: ranked by hourly price (add train: { tokens } to rank by job cost)')
  assumptions.push(`fits when the estimate's total per GPU (reserved + CUDA context) ≤ the memory the GPU shows (nvidia-smi's total as CUDA gives it to a process; EC2's figure when smaller) × (1 − margin ${spec.margin}), and CPU RAM per node ≤ ${HOST_RAM_FRACTION * 100}% of host RAM`)
  if (c.spot) assumptions.push('constraints.spot: ranked by spot price (a median per region; spot capacity can vanish)')

  const byJobCost = candidates.sort(byCost)
  const ranked = tokensKnown ? rankWithinBand(byJobCost) : byJobCost
  const rejected = [...groupRejections(rejectedBy)]
  if (ranked.length === 0) {
    const suggestions = options.ignoreConstraints || options.noSuggestions ? [] : suggestFixes(input, options)
    if (outside === catalog.offers.length) {
      const regions = [...new Set(catalog.offers.map((o) => o.region))].join(', ')
      const gpus = [...new Set(catalog.offers.map((o) => o.gpu))].join(', ')
      suggestions.unshift(`no offer in the catalog matches the constraints (regions: ${c.regions.join(', ') || 'any'}; GPUs: ${c.gpus.join(', ') || 'any'}); the catalog has regions ${regions} and GPUs ${gpus}`)
    }
    return { status: 'no-fit', plan: null, alternatives: [], rejected, assumptions, suggestions, catalog }
  }
  return { status: 'fit', plan: ranked[0]!, alternatives: ranked.slice(1), rejected, assumptions, catalog, cheapest: ranked[0] === byJobCost[0] ? null : byJobCost[0]! }
}

/**
 * Issue #14's rule. The time model is right only within its band (TIME_BAND), so plans whose job cost lies within the
 * band of the cheapest cost the same as far as anyone can know; among them a user takes the one with the fewest
 * GPUs (easier to obtain), then the fewest nodes (nothing to go wrong between them), then the one that finishes
 * sooner, then the cheaper. The rest follow by cost. `sorted` is in byCost order.
 */
export function rankWithinBand(sorted: Candidate[]): Candidate[] {
  const cheapest = sorted[0]?.jobCostUsd
  if (cheapest === undefined || cheapest === null) return sorted
  const tied = sorted.filter((c) => c.jobCostUsd !== null && withinBand(cheapest, c.jobCostUsd))
  const rest = sorted.filter((c) => !tied.includes(c))
  // Sooner as plan prints it, to the hundredth of an hour: a difference nobody sees must not outrank the cost.
  const shown = (c: Candidate) => Math.round(c.time!.hours * 100)
  tied.sort((a, b) => a.strategy.gpus - b.strategy.gpus || a.nodes - b.nodes || shown(a) - shown(b) || byCost(a, b))
  return [...tied, ...rest]
}

/**
 * Cheapest first, to the cent (a bill has no finer grain, and float noise must not decide); at the same cost the
 * fewer nodes (one placement, no inter-node network to go wrong), then the job that finishes sooner, then the
 * fewer GPUs (easier to get), then the most headroom.
 */
export function byCost(a: Candidate, b: Candidate): number {
  const cents = (c: Candidate) => Math.round((c.jobCostUsd ?? c.priceUsdPerHour) * 100)
  return cents(a) - cents(b) || a.nodes - b.nodes || (a.time?.hours ?? 0) - (b.time?.hours ?? 0) || a.strategy.gpus - b.strategy.gpus ||
    (b.usableBytesPerGpu - b.estimate.perGpu.totalBytes) - (a.usableBytesPerGpu - a.estimate.perGpu.totalBytes) ||
    `${a.offer.instanceType}@${a.offer.region}`.localeCompare(`${b.offer.instanceType}@${b.offer.region}`) || a.nodes - b.nodes
}

function groupRejections(m: Map<string, { offer: InstanceOffer; nodes: number[]; reason: string }>): Rejection[] {
  const byType = new Map<string, Rejection>()
  for (const { offer, nodes, reason } of m.values()) {
    const key = `${offer.instanceType}|${reason}`
    const lo = Math.min(...nodes)
    const hi = Math.max(...nodes)
    const r = byType.get(key)
    if (r) {
      if (!r.regions.includes(offer.region)) r.regions.push(offer.region)
      r.nodes = [Math.min(r.nodes[0], lo), Math.max(r.nodes[1], hi)]
    } else byType.set(key, { instanceType: offer.instanceType, regions: [offer.region], nodes: [lo, hi], reason })
  }
  return [...byType.values()]
}

/** What would make a spec fit, each computed by searching again with one thing changed. */
function suggestFixes(input: PlanInput, options: SearchOptions): string[] {
  const out: string[] = []
  const c = input.spec.constraints
  const describe = (r: PlanResult) => (r.status === 'fit' ? `${r.plan.nodes} × ${r.plan.offer.instanceType} (${r.plan.offer.region}) at $${r.plan.priceUsdPerHour.toFixed(2)}/hour` : '')
  const unconstrained = planFinetune(input, { ...options, ignoreConstraints: true, noSuggestions: true })
  if (unconstrained.status === 'fit' && (c.regions.length || c.gpus.length || c.spot || c.maxHourlyUsd !== null || c.budgetUsd !== null)) {
    out.push(`the constraints (regions, GPUs, spot, price caps) exclude what fits: without them, ${describe(unconstrained)}`)
  }
  const maxNodes = options.maxNodes ?? c.maxNodes
  const nodeSteps = [maxNodes * 2, maxNodes * 4, 16, 32].filter((n, i, all) => n > maxNodes && all.indexOf(n) === i)
  const moreNodes = (ignoreConstraints: boolean) => {
    for (const n of nodeSteps) {
      const more = planFinetune(input, { ...options, maxNodes: n, ignoreConstraints, noSuggestions: true })
      if (more.status === 'fit') return more
    }
    return null
  }
  const more = moreNodes(false)
  if (more?.status === 'fit') out.push(`allow constraints.max_nodes ≥ ${more.plan.nodes}: ${describe(more)}`)
  else if (unconstrained.status !== 'fit') {
    const anyMore = moreNodes(true)
    if (anyMore?.status === 'fit') out.push(`lift the constraints and allow max_nodes ≥ ${anyMore.plan.nodes}: ${describe(anyMore)}`)
  }
  const spec = input.spec
  const tryWith = (label: string, change: Partial<FinetuneSpec>) => {
    const r = planFinetune({ ...input, spec: { ...spec, ...change } }, { ...options, maxNodes, noSuggestions: true })
    if (r.status === 'fit') out.push(`${label}: ${describe(r)}`)
    return r.status === 'fit'
  }
  if (spec.deepspeed.zero !== 'auto' || spec.deepspeed.offload !== 'auto') tryWith('let ftplan choose ZeRO and offload (deepspeed: { zero: auto, offload: auto })', { deepspeed: { ...spec.deepspeed, zero: 'auto', offload: 'auto' } })
  if (spec.gradientCheckpointing === false) tryWith('turn gradient checkpointing on', { gradientCheckpointing: true })
  // Each names the term it shrinks: the logits (Liger's fused cross-entropy), optimizer state (8-bit AdamW), a full
  // fine-tune's weights and states (LoRA, then QLoRA).
  if (spec.loss !== 'fused') tryWith('loss: fused (Liger\'s fused linear cross-entropy never holds the logits whole; LLaMA-Factory enable_liger_kernel, HF --use_liger_kernel)', { loss: 'fused' })
  // LLaMA-Factory has no 8-bit APOLLO and refuses LoRA with GaLore or APOLLO (train/trainer_utils.py:330-333,
  // hparams/finetuning_args.py:615): an adapter method drops the projection, and says so.
  if (spec.optimizer === 'adamw' && spec.projection?.kind !== 'apollo') tryWith('optimizer: adamw_8bit (optimizer state in 8 bits)', { optimizer: 'adamw_8bit' })
  const drop = spec.projection ? ` without use_${spec.projection.kind}` : ''
  if (spec.method === 'full') tryWith(`method: lora${drop} (adapters instead of every weight, its gradient and optimizer state)`, { method: 'lora', projection: undefined })
  if (spec.method === 'full' || spec.method === 'lora' || spec.method === 'freeze') tryWith(`QLoRA (method: qlora, 4-bit base)${drop}`, { method: 'qlora', quantization: '4bit', projection: undefined })
  for (let s = Math.floor(spec.seqLenTokens / 2); s >= 256; s = Math.floor(s / 2)) {
    if (tryWith(`shorter sequences (seq_len: ${s})`, { seqLenTokens: s })) break
  }
  if (out.length === 0) out.push('nothing tried fits: a larger GPU than the catalog holds, or a smaller model')
  return out
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(1)
}
