import type { GpuModel, InstanceOffer } from '../instances/types.js'
import type { ModelArch } from '../models/arch.js'
import { estimateMemory, type MemoryEstimate } from '../memory/estimate.js'
import type { ModelFacts } from '../memory/model-facts.js'
import { defaultZeroSettings, offloadDeviceFor, tightZeroSettings, type Strategy } from '../memory/strategy.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { jobTime, type JobTime } from './job-time.js'
import { speedRank, strategiesFor, type BatchMode, type StrategyChoice } from './strategies.js'

/** Host RAM a node may give to offloaded state and pinned buffers (the rest runs the OS and the processes). */
export const HOST_RAM_FRACTION = 0.9

/**
 * What a layout's strategies need, kept slim: a search over many node counts holds many layouts, and whole estimates
 * (phases, terms, notes) for each grew the heap by megabytes per node count (issue #16).
 */
export interface LayoutEntry { choice: StrategyChoice; strategy: Strategy; totalBytes: number; cpuBytes: number; nvmeBytes: number }
/** Layouts by spec (all but its constraints), then by batch mode, GPUs and GPUs per node. */
export type LayoutCache = Map<string, Map<string, LayoutEntry[] | null>>

/** The fastest strategy that fits a node count; its whole estimate is made when read, once for every offer of the shape. */
/** `totalBytes`: the estimate's total per GPU, which a scan makes only when asked (ranking reads it on ties alone). */
export interface NodeFit { fit: true; strategy: Strategy; time: JobTime | null; totalBytes(): number; estimate(): MemoryEstimate }
/** Why nothing fits a node count: `score` orders misses, the closest first (how far over the memory it is). */
export interface NodeMiss { fit: false; reason: string; score: number }
export type NodeEval = NodeFit | NodeMiss

/** An offer as the search sees it: its GPU, the GPU memory a plan may use, and its shape (see shapeOf). */
export interface OfferView { offer: InstanceOffer; gpu: GpuModel; usable: number; shape: number }

export function fitsOffer(e: Pick<LayoutEntry, 'strategy' | 'totalBytes' | 'cpuBytes' | 'nvmeBytes'>, offer: InstanceOffer, usable: number): boolean {
  const nvmeOk = e.strategy.offloadDevice !== 'nvme' || e.nvmeBytes <= offer.nvmeGb * 1e9
  return e.totalBytes <= usable && e.cpuBytes <= offer.hostMemoryGiB * 2 ** 30 * HOST_RAM_FRACTION && nvmeOk
}

/** An offer without its region and prices: what the memory and the time of a node count depend on. */
export function shapeKey(offer: InstanceOffer): string {
  return JSON.stringify({ ...offer, region: '', priceUsdPerHour: null, spotPriceUsdPerHour: null })
}

export interface NodeSearch {
  /** A node count, from a whole layout of estimates: the fastest strategy that fits, or the closest miss. */
  at(o: OfferView, nodes: number): NodeEval
  /** For each strategy of the layout at `top` that fits there, the least node count from 2 where it fits. */
  thresholds(o: OfferView, top: number): number[]
  /**
   * A node count from 2 to `top` above the first that fits: its fastest strategy, from the thresholds and times
   * alone, and the least nodes × JobTime.floorHours of every strategy that fits at `top`, which times a price bounds
   * the job cost of every larger count.
   */
  scan(o: OfferView, top: number, nodes: number): { e: NodeFit; floor: number }
}

/**
 * The search's view of node counts for one spec, memoized: layouts by GPU count (shared with other searches of the
 * spec through `shared`), evaluations and scans by offer shape, so the offers of one shape in many regions cost one.
 */
export function nodeSearch(spec: FinetuneSpec, arch: ModelArch, batch: BatchMode, facts: (s: Strategy) => ModelFacts, shared: LayoutCache): NodeSearch {
  const tokensKnown = spec.train !== null
  // Kept by everything of the spec but its constraints: a search with another spec (suggestions change it) must not
  // read this one's layouts.
  const memoryKey = JSON.stringify({ ...spec, constraints: null })
  const layouts = shared.get(memoryKey) ?? new Map<string, LayoutEntry[] | null>()
  shared.set(memoryKey, layouts)
  // Memory depends on the GPU count, GPUs per node and strategy, not on the GPU model or price: estimate each once and
  // check every offer of that shape against it.
  const layout = (gpus: number, gpusPerNode: number): LayoutEntry[] | null => {
    const key = `${batch}|${gpus}|${gpusPerNode}`
    const known = layouts.get(key)
    if (known !== undefined) return known
    const choices = strategiesFor(spec, gpus, batch)
    // DeepSpeed strategies come twice: HF's auto bucket sizes, then a quarter of them for tight headroom (tried
    // second, so chosen only where the first does not fit).
    const entries = choices && choices.flatMap((choice) => {
      const zeros = choice.zeroStage === 0 ? [defaultZeroSettings(arch, 0)] : [defaultZeroSettings(arch, choice.zeroStage), tightZeroSettings(arch, choice.zeroStage)]
      return zeros.map((zero) => {
        const strategy: Strategy = {
          gpus, gpusPerNode, offloadDevice: choice.offload === 'none' ? 'cpu' : offloadDeviceFor(spec.deepspeed.offloadDevice, choice.zeroStage), zero, ...choice,
          ...(choice.zeroStage === 0 && spec.deepspeed.engine === 'deepspeed' ? { deepspeedAtZero0: true } : {}),
        }
        const e = estimateMemory(spec, arch, strategy, facts(strategy))
        return { choice, strategy, totalBytes: e.perGpu.totalBytes, cpuBytes: e.perNode.cpuBytes, nvmeBytes: e.perNode.nvmeBytes }
      })
    })
    layouts.set(key, entries)
    return entries
  }
  const fit = (strategy: Strategy, time: JobTime | null, totalBytes: () => number): NodeFit => {
    let estimate: MemoryEstimate | undefined
    let total: number | undefined
    return { fit: true, strategy, time, totalBytes: () => (total ??= totalBytes()), estimate: () => (estimate ??= estimateMemory(spec, arch, strategy, facts(strategy))) }
  }

  const evals = new Map<string, NodeEval>()
  const at = (o: OfferView, nodes: number): NodeEval => {
    const key = `${o.shape}|${nodes}`
    let e = evals.get(key)
    if (!e) evals.set(key, (e = evaluate(o, nodes)))
    return e
  }
  const evaluate = ({ offer, gpu, usable }: OfferView, nodes: number): NodeEval => {
    const gpus = offer.gpuCount * nodes
    if (spec.projection?.layerwise && gpus > 1) {
      return { fit: false, score: Infinity, reason: `layer-wise ${spec.projection.kind === 'galore' ? 'GaLore' : 'APOLLO'} runs on one GPU only: LLaMA-Factory refuses it in distributed training (hparams/parser.py:505-510)` }
    }
    const laidOut = layout(gpus, offer.gpuCount)
    if (!laidOut) return { fit: false, score: Infinity, reason: `the global batch of ${spec.batch.global ?? spec.batch.micro * spec.batch.accumulation * spec.gpus} does not split over ${gpus} GPUs` }
    let best: { key: number; strategy: Strategy; time: JobTime | null; totalBytes: number } | null = null
    let closest = Infinity
    let closestReason = ''
    const cpuLimit = offer.hostMemoryGiB * 2 ** 30 * HOST_RAM_FRACTION
    for (const entry of laidOut) {
      const { choice, strategy, totalBytes: total, cpuBytes, nvmeBytes } = entry
      if (!fitsOffer(entry, offer, usable)) {
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
      // Within one offer and node count the cost is price × hours, so the fastest strategy is the cheapest.
      const key = time ? time.hours : speedRank(choice)
      if (!best || key < best.key) best = { key, strategy, time, totalBytes: total }
    }
    const chosen = best as { strategy: Strategy; time: JobTime | null; totalBytes: number } | null
    return chosen ? fit(chosen.strategy, chosen.time, () => chosen.totalBytes) : { fit: false, reason: closestReason, score: closest }
  }

  // One strategy's needs at a node count, for bisection: by GPUs per node, layout position and nodes.
  const needs = new Map<string, [number, number, number]>()
  const needsAt = (entry: LayoutEntry, i: number, nodes: number): [number, number, number] => {
    const key = `${entry.strategy.gpusPerNode}|${i}|${nodes}`
    let n = needs.get(key)
    if (!n) {
      const strategy = { ...entry.strategy, gpus: entry.strategy.gpusPerNode * nodes }
      const e = estimateMemory(spec, arch, strategy, facts(strategy))
      needs.set(key, (n = [e.perGpu.totalBytes, e.perNode.cpuBytes, e.perNode.nvmeBytes]))
    }
    return n
  }
  const thresholdsByShape = new Map<string, number[]>()
  const thresholds = (o: OfferView, top: number): number[] => {
    const key = `${o.shape}|${top}`
    const known = thresholdsByShape.get(key)
    if (known) return known
    const fitsAt = (entry: LayoutEntry, i: number, nodes: number) => {
      const [totalBytes, cpuBytes, nvmeBytes] = needsAt(entry, i, nodes)
      return fitsOffer({ strategy: entry.strategy, totalBytes, cpuBytes, nvmeBytes }, o.offer, o.usable)
    }
    const out = layout(o.offer.gpuCount * top, o.offer.gpuCount)!.map((entry, i) => {
      if (!fitsOffer(entry, o.offer, o.usable)) return Infinity
      let lo = 2
      let hi = top
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2)
        if (fitsAt(entry, i, mid)) hi = mid
        else lo = mid + 1
      }
      return lo
    })
    thresholdsByShape.set(key, out)
    return out
  }

  const scans = new Map<string, { e: NodeFit; floor: number }>()
  const scan = (o: OfferView, top: number, nodes: number): { e: NodeFit; floor: number } => {
    const key = `${o.shape}|${top}|${nodes}`
    const known = scans.get(key)
    if (known) return known
    const from = thresholds(o, top)
    let best: { key: number; strategy: Strategy; time: JobTime | null; at: number } | null = null
    let floor = Infinity
    const atTop = layout(o.offer.gpuCount * top, o.offer.gpuCount)!
    atTop.forEach((entry, i) => {
      if (from[i]! > top) return
      const strategy = { ...entry.strategy, gpus: o.offer.gpuCount * nodes }
      const time = tokensKnown ? jobTime(spec, arch, facts(strategy), o.offer, o.gpu, nodes, strategy) : null
      if (time) floor = Math.min(floor, nodes * time.floorHours)
      if (from[i]! > nodes) return
      const rank = time ? time.hours : speedRank(entry.choice)
      if (!best || rank < best.key) best = { key: rank, strategy, time, at: i }
    })
    const b = best as { strategy: Strategy; time: JobTime | null; at: number } | null
    if (!b) throw new Error(`no strategy fits ${nodes} nodes at or above the first count that fits`)
    const found = { e: fit(b.strategy, b.time, () => needsAt(atTop[b.at]!, b.at, nodes)[0]), floor }
    scans.set(key, found)
    return found
  }
  return { at, thresholds, scan }
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(1)
}
