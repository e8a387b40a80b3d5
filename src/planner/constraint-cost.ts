import type { LoadedSpec } from '../spec/load.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { planFinetune, type Candidate, type LayoutCache, type PlanInput, type PlanResult } from './plan.js'

/** A choice of the user's that rules out cheaper plans, and the plan without it. */
export interface ConstraintCost {
  /** The spec field, as the user writes it. */
  field: string
  /** The plan the search makes without that one choice. */
  without: Candidate
  /** Job cost (or hourly price without `train`) the choice adds. */
  costsUsd: number
  unit: '/job' | '/hour'
}

const costOf = (c: Candidate) => c.jobCostUsd ?? c.priceUsdPerHour

/**
 * Each choice the spec made that limits the search — a fixed global batch, constraints.max_nodes, max_hourly_usd,
 * min_compute_capability — dropped one at a time: where the plan without it is cheaper, what keeping it costs (issue
 * #15: a fixed global batch of 4 kept a 72B full fine-tune on 4 L40S nodes for $8,801 where 16 B300s cost $221).
 * Regions and GPU types are the user's to choose and are not second-guessed here; `plan` lists what they exclude when
 * nothing fits. `layouts`: the first search's estimates, which these searches of the same spec reuse.
 */
export function constraintCosts(loaded: LoadedSpec, input: PlanInput, result: PlanResult, layouts: LayoutCache = new Map()): ConstraintCost[] {
  if (result.status !== 'fit') return []
  const set = (path: string) => !loaded.defaults.some((d) => d.path === path)
  const c = input.spec.constraints
  const tries: { field: string; input: PlanInput }[] = []
  const withSpec = (spec: Partial<FinetuneSpec>): PlanInput => ({ ...input, spec: { ...input.spec, ...spec } })
  // A limit can only open the offers it turned away, so each search covers those and the chosen one, and runs only
  // where the first search shows the limit at work: `plan` stays fast.
  type Rejected = PlanResult['rejected'][number]
  const turnedAway = (test: (x: Rejected) => boolean) => {
    const types = new Set(result.rejected.filter(test).map((x) => x.instanceType))
    if (types.size === 0) return null
    types.add(result.plan.offer.instanceType)
    return { ...input.catalog, offers: input.catalog.offers.filter((o) => types.has(o.instanceType)) }
  }
  if (input.batch === 'global') tries.push({ field: `batch.global: ${input.spec.batch.global ?? input.spec.batch.micro * input.spec.batch.accumulation * input.spec.gpus}`, input: { ...input, batch: 'per-gpu' } })
  // Offers turned away for memory at the cap; without it: twice the cap, and at least the default of 4.
  const capped = set('constraints.max_nodes') ? turnedAway((x) => x.nodes[1] === c.maxNodes && /per GPU|CPU RAM|NVMe/.test(x.reason)) : null
  if (capped) tries.push({ field: `constraints.max_nodes: ${c.maxNodes}`, input: { ...withSpec({ constraints: { ...c, maxNodes: Math.max(c.maxNodes * 2, 4) } }), catalog: capped } })
  // More nodes of an offer that already fits on fewer cost no less per job (the same GPUs' work, more traffic), and
  // without `train` a dearer hour is never cheaper: only offers that fit nowhere under the price cap can gain.
  const fitsOnFewer = (x: Rejected) => (result.fewestNodes.get(x.instanceType) ?? Infinity) < x.nodes[0]
  const priced = c.maxHourlyUsd !== null && result.plan.jobCostUsd !== null ? turnedAway((x) => /over max_hourly_usd/.test(x.reason) && !fitsOnFewer(x)) : null
  if (priced) tries.push({ field: `constraints.max_hourly_usd: ${c.maxHourlyUsd}`, input: { ...withSpec({ constraints: { ...c, maxHourlyUsd: null } }), catalog: priced } })
  const older = c.minComputeCapability !== null ? turnedAway((x) => /min_compute_capability/.test(x.reason)) : null
  if (older) tries.push({ field: `constraints.min_compute_capability: ${c.minComputeCapability}`, input: { ...withSpec({ constraints: { ...c, minComputeCapability: null } }), catalog: older } })
  const chosen = costOf(result.plan)
  const out: ConstraintCost[] = []
  for (const t of tries) {
    const r = planFinetune(t.input, { noSuggestions: true, layouts })
    if (r.status !== 'fit' || costOf(r.plan) >= chosen - 0.005) continue
    out.push({ field: t.field, without: r.plan, costsUsd: chosen - costOf(r.plan), unit: result.plan.jobCostUsd !== null ? '/job' : '/hour' })
  }
  return out
}
