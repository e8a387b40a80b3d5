import { GPU_MODELS, PYTORCH_MIN_COMPUTE_CAPABILITY } from '../instances/gpus.js'
import type { Catalog, InstanceOffer } from '../instances/types.js'
import type { ModelArch } from '../models/arch.js'
import type { MemoryEstimate } from '../memory/estimate.js'
import { adapterInputCopyBytes, modelFacts, type ModelFacts } from '../memory/model-facts.js'
import { precisionRegime } from '../memory/regime.js'
import type { Strategy } from '../memory/strategy.js'
import { stageRefusals } from '../spec/runtime-rules.js'
import type { FinetuneSpec } from '../spec/spec.js'
import type { JobTime } from './job-time.js'
import { HOST_RAM_FRACTION, nodeSearch, shapeKey, type LayoutCache, type NodeEval, type NodeMiss, type OfferView } from './node-search.js'
import type { BatchMode } from './strategies.js'
import { byOfferName, rankCandidates } from './ranking.js'
import { suggestFixes } from './suggest-fixes.js'
import { TIME_BAND } from './time-band.js'
import { gpuVisibleBytes } from '../instances/visible-memory.js'

export { HOST_RAM_FRACTION, type LayoutCache } from './node-search.js'
export type { BatchMode } from './strategies.js'

/** Alternatives a search keeps unless told otherwise: what `plan --top` shows by default; a larger --top keeps more. */
export const DEFAULT_KEEP = 5

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
  /** The estimate's total per GPU, kept apart so ranking never has to make the whole estimate. */
  needsBytesPerGpu: number
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
  /**
   * `cheapest`: the plan of the lowest job cost, when the tie rule (rankCandidates) chose another, with its place in
   * the whole ranking (`cheapestRank`, 1 for the plan), which may lie beyond the alternatives kept. `fewestNodes`: by
   * instance type, the fewest nodes any plan of it needs, kept or not.
   */
  | { status: 'fit'; plan: Candidate; alternatives: Candidate[]; rejected: Rejection[]; assumptions: string[]; catalog: Catalog; cheapest: Candidate | null; cheapestRank: number | null; fewestNodes: ReadonlyMap<string, number> }
  | { status: 'no-fit'; plan: null; alternatives: []; rejected: Rejection[]; assumptions: string[]; suggestions: string[]; catalog: Catalog }

export interface SearchOptions {
  maxNodes?: number
  /** Ignore constraints (regions, GPUs, spot, price caps) — used to explain what they exclude. */
  ignoreConstraints?: boolean
  /** Every node count up to max_nodes and every offer, nothing pruned, every candidate kept (tests compare the two). */
  exhaustive?: boolean
  /** Only this node count (`check --instance … --nodes N` asks what ftplan plans on exactly that hardware). */
  onlyNodes?: number
  /** How many alternatives to keep (DEFAULT_KEEP); the rest are ranked but not kept. */
  keep?: number
  /** Searches made to build suggestions do not suggest in turn. */
  noSuggestions?: boolean
  /**
   * Memory estimates by layout, shared by searches of one spec that differ only in constraints (what a layout needs
   * does not depend on where it runs or at what price): a second search reuses what the first estimated.
   */
  layouts?: LayoutCache
}

/**
 * The cheapest offer group that fits, over offers × node counts × the strategies the spec leaves open (ZeRO stage,
 * offload, checkpointing, micro-batch). Memory is estimated once per distinct (GPUs, GPUs per node, strategy); the fit
 * is checked per offer against its reported GPU memory × (1 − margin) and 90 % of its host RAM. Ranked by job cost when
 * the spec has `train`, else by hourly price.
 *
 * Work is bounded (issue #16) by skipping only what cannot rank among what is kept, each step tested against the
 * search of everything (node-pruning.test.ts): node counts below the first that fits are found by bisection; an offer's
 * scan stops once no larger count can cost less than a plan it has on fewer nodes; of the offers of one shape (the
 * same machine in many regions) only the `keep` + 1 cheapest are ranked, since every dearer one ranks after them.
 */
export function planFinetune(input: PlanInput, options: SearchOptions = {}): PlanResult {
  const { spec, arch, catalog } = input
  const c = spec.constraints
  const maxNodes = options.maxNodes ?? c.maxNodes
  const keep = options.exhaustive ? Infinity : options.keep ?? DEFAULT_KEEP
  const floor = c.minComputeCapability !== null
    ? { value: c.minComputeCapability, source: 'constraints.min_compute_capability' }
    : catalog.minComputeCapability ?? PYTORCH_MIN_COMPUTE_CAPABILITY
  const factsFor = [false, true].map((autocast) => modelFacts(spec, arch, adapterInputCopyBytes(spec, autocast)))
  const facts = (s: Strategy): ModelFacts => factsFor[precisionRegime(spec, s).adaptersInAutocast ? 1 : 0]!
  const search = nodeSearch(spec, arch, input.batch, facts, options.layouts ?? new Map())

  const assumptions: string[] = []
  const rejectedBy = new Map<string, { offer: InstanceOffer; nodes: number[]; reason: string; score: number; order: number }>()
  // Rejections are listed in catalog order, the order the user reads the catalog in, whatever order the search met them.
  const order = new Map(catalog.offers.map((o, i) => [o, i]))
  const reject = (offer: InstanceOffer, nodes: number, reason: string, score = Infinity) => {
    const key = `${offer.instanceType}@${offer.region}`
    const r = rejectedBy.get(key)
    if (!r) rejectedBy.set(key, { offer, nodes: [nodes], reason, score, order: order.get(offer) ?? 0 })
    else {
      r.nodes.push(nodes)
      if (score < r.score) Object.assign(r, { reason, score })
    }
  }
  let outside = 0
  let belowFloor = 0
  const candidates: Candidate[] = []
  const tokensKnown = spec.train !== null

  const eligible: { view: OfferView; unit: number }[] = []
  const shapes = new Map<string, number>()
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
    const key = shapeKey(offer)
    const shape = shapes.get(key) ?? shapes.size
    shapes.set(key, shape)
    eligible.push({ view: { offer, gpu, usable: gpuVisibleBytes(offer) * (1 - spec.margin), shape }, unit })
  }
  // Of one shape, a dearer offer has every plan a cheaper one has, at the same GPUs, nodes and hours and a higher cost
  // (and no plan the cheaper lacks: a price cap or budget turns away more of it), so it ranks after the cheaper one
  // every time; past the `keep` + 1 cheapest it ranks past what is kept.
  const byShape = new Map<number, { view: OfferView; unit: number }[]>()
  for (const e of eligible) {
    const group = byShape.get(e.view.shape)
    if (group) group.push(e)
    else byShape.set(e.view.shape, [e])
  }
  const ranked = new Set<OfferView>()
  for (const group of byShape.values()) {
    group.sort((a, b) => a.unit - b.unit || byOfferName(a.view.offer, b.view.offer))
    group.slice(0, keep + 1).forEach((e) => ranked.add(e.view))
  }

  for (const { view, unit } of eligible) {
    const { offer, gpu, usable } = view
    const precisionNote = !gpu.bf16 && (spec.precision === 'bf16' || spec.precision === 'pure_bf16')
      ? `${offer.gpu} has no bf16: the run uses fp16 with dynamic loss scaling (same memory)` : null
    const at = (nodes: number) => search.at(view, nodes)
    const isRanked = ranked.has(view)
    /** Rejects or ranks one node count; returns the cost it ranks by, when it adds a candidate. */
    const consider = (nodes: number, e: NodeEval): number | null => {
      if (!e.fit) {
        reject(offer, nodes, e.reason, e.score)
        return null
      }
      const price = unit * nodes
      const jobCostUsd = e.time ? e.time.hours * price : null
      if (!options.ignoreConstraints && c.budgetUsd !== null && jobCostUsd !== null && jobCostUsd > c.budgetUsd) {
        reject(offer, nodes, `the job costs $${jobCostUsd.toFixed(0)}, over budget_usd $${c.budgetUsd}`, 1e15 + jobCostUsd)
        return null
      }
      if (!isRanked) return null
      // The whole estimate (phases, terms, notes) is made when read: only the candidates shown are.
      candidates.push({
        offer, nodes, strategy: e.strategy, get estimate() { return e.estimate() }, get needsBytesPerGpu() { return e.totalBytes() }, usableBytesPerGpu: usable,
        priceUsdPerHour: price, onDemandUsdPerHour: offer.priceUsdPerHour === null ? null : offer.priceUsdPerHour * nodes,
        spotUsdPerHour: offer.spotPriceUsdPerHour === null ? null : offer.spotPriceUsdPerHour * nodes,
        time: e.time, jobCostUsd, precisionNote,
      })
      return jobCostUsd ?? price
    }
    // Node counts over the hourly cap, as one range.
    let top = maxNodes
    if (!options.ignoreConstraints && c.maxHourlyUsd !== null) {
      let over = Math.max(1, Math.floor(c.maxHourlyUsd / unit))
      while (over > 1 && unit * (over - 1) > c.maxHourlyUsd) over -= 1
      while (unit * over <= c.maxHourlyUsd) over += 1
      for (const nodes of new Set([over, maxNodes])) if (nodes >= over && nodes <= maxNodes) reject(offer, nodes, `$${(unit * nodes).toFixed(2)}/hour is over max_hourly_usd $${c.maxHourlyUsd}`, 1e15 + unit * nodes)
      top = Math.min(maxNodes, over - 1)
    }
    if (options.onlyNodes !== undefined) {
      if (options.onlyNodes <= top) consider(options.onlyNodes, at(options.onlyNodes))
      continue
    }
    if (top < 1) continue
    // A fixed global batch splits over some GPU counts only, so what fits is not monotone in the nodes: every count.
    if (options.exhaustive || input.batch === 'global') {
      for (let nodes = 1; nodes <= top; nodes++) consider(nodes, at(nodes))
      continue
    }
    // One GPU alone has no data-parallel buffers, so memory grows from one GPU to two and then only shrinks with more
    // nodes (ZeRO shards; node-pruning.test.ts). From 2 nodes on, the first count that fits is found by bisection and
    // the ones below it rejected at once with the closest miss.
    let best = consider(1, at(1)) ?? Infinity
    if (top === 1) continue
    const last = at(top)
    if (!last.fit) {
      for (const nodes of [2, top]) reject(offer, nodes, last.reason, last.score)
      continue
    }
    const lo = Math.min(...search.thresholds(view, top))
    if (lo > 2) {
      const miss = at(lo - 1) as NodeMiss
      for (const nodes of [2, lo - 1]) reject(offer, nodes, miss.reason, miss.score)
    }
    if (!isRanked) continue
    for (let nodes = lo; nodes <= top; nodes++) {
      // At `top` the whole layout was evaluated already, and gives what the scan would.
      if (nodes === top) {
        consider(top, last)
        break
      }
      const scan = search.scan(view, top, nodes)
      const cost = consider(nodes, scan.e)
      if (cost !== null) best = Math.min(best, cost)
      // Without `train` the rank is the hourly price, which only grows with nodes.
      if (!tokensKnown) break
      // No larger count can cost less than `floor`. The scan stops once even that could not turn out cheaper than a
      // plan on fewer nodes here: the floor's p10 above the plan's p90 (TIME_BAND). Up to there a larger count may be
      // the cheaper one in fact, and it finishes sooner, which a user choosing among alternatives wants to see; every
      // count it skips ranks after that plan, by cost and by GPUs.
      const floor = unit * scan.floor
      if (floor * TIME_BAND.p10 > best * TIME_BAND.p90) break
      if (!options.ignoreConstraints && c.budgetUsd !== null && floor > c.budgetUsd) {
        reject(offer, top, `the job costs at least $${floor.toFixed(0)}, over budget_usd $${c.budgetUsd}`, 1e15 + floor)
        break
      }
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

  const rejected = groupRejections(new Map([...rejectedBy].sort((a, b) => a[1].order - b[1].order)))
  if (candidates.length === 0) {
    const suggestions = options.ignoreConstraints || options.noSuggestions ? [] : suggestFixes(input, options)
    if (outside === catalog.offers.length) {
      const regions = [...new Set(catalog.offers.map((o) => o.region))].join(', ')
      const gpus = [...new Set(catalog.offers.map((o) => o.gpu))].join(', ')
      suggestions.unshift(`no offer in the catalog matches the constraints (regions: ${c.regions.join(', ') || 'any'}; GPUs: ${c.gpus.join(', ') || 'any'}); the catalog has regions ${regions} and GPUs ${gpus}`)
    }
    return { status: 'no-fit', plan: null, alternatives: [], rejected, assumptions, suggestions, catalog }
  }
  const r = rankCandidates(candidates, keep + 1, tokensKnown)
  const fewestNodes = new Map<string, number>()
  for (const x of candidates) fewestNodes.set(x.offer.instanceType, Math.min(x.nodes, fewestNodes.get(x.offer.instanceType) ?? Infinity))
  return { status: 'fit', plan: r.ranked[0]!, alternatives: r.ranked.slice(1), rejected, assumptions, catalog, cheapest: r.cheapestRank === 1 ? null : r.cheapest, cheapestRank: r.cheapestRank === 1 ? null : r.cheapestRank, fewestNodes }
}

function groupRejections(m: Map<string, { offer: InstanceOffer; nodes: number[]; reason: string }>): Rejection[] {
  const byType = new Map<string, Rejection & { seen: Set<string> }>()
  for (const { offer, nodes, reason } of m.values()) {
    const key = `${offer.instanceType}|${reason}`
    const lo = nodes.reduce((a, b) => Math.min(a, b))
    const hi = nodes.reduce((a, b) => Math.max(a, b))
    const r = byType.get(key)
    if (r) {
      if (!r.seen.has(offer.region)) r.regions.push(offer.region)
      r.seen.add(offer.region)
      r.nodes = [Math.min(r.nodes[0], lo), Math.max(r.nodes[1], hi)]
    } else byType.set(key, { instanceType: offer.instanceType, regions: [offer.region], nodes: [lo, hi], reason, seen: new Set([offer.region]) })
  }
  return [...byType.values()].map(({ seen: _, ...r }) => r)
}
