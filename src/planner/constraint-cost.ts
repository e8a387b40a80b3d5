import type { LoadedSpec } from '../spec/load.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { planFinetune, type Candidate, type PlanInput, type PlanResult } from './plan.js'

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
 * nothing fits.
 */
export function constraintCosts(loaded: LoadedSpec, input: PlanInput, result: PlanResult): ConstraintCost[] {
  if (result.status !== 'fit') return []
  const set = (path: string) => !loaded.defaults.some((d) => d.path === path)
  const c = input.spec.constraints
  const tries: { field: string; input: PlanInput }[] = []
  const withSpec = (spec: Partial<FinetuneSpec>): PlanInput => ({ ...input, spec: { ...input.spec, ...spec } })
  if (input.batch === 'global') tries.push({ field: `batch.global: ${input.spec.batch.global ?? input.spec.batch.micro * input.spec.batch.accumulation * input.spec.gpus}`, input: { ...input, batch: 'per-gpu' } })
  if (set('constraints.max_nodes')) tries.push({ field: `constraints.max_nodes: ${c.maxNodes}`, input: withSpec({ constraints: { ...c, maxNodes: Math.max(c.maxNodes * 4, 16) } }) })
  if (c.maxHourlyUsd !== null) tries.push({ field: `constraints.max_hourly_usd: ${c.maxHourlyUsd}`, input: withSpec({ constraints: { ...c, maxHourlyUsd: null } }) })
  if (c.minComputeCapability !== null) tries.push({ field: `constraints.min_compute_capability: ${c.minComputeCapability}`, input: withSpec({ constraints: { ...c, minComputeCapability: null } }) })
  const chosen = costOf(result.plan)
  const out: ConstraintCost[] = []
  for (const t of tries) {
    const r = planFinetune(t.input, { noSuggestions: true })
    if (r.status !== 'fit' || costOf(r.plan) >= chosen - 0.005) continue
    out.push({ field: t.field, without: r.plan, costsUsd: chosen - costOf(r.plan), unit: result.plan.jobCostUsd !== null ? '/job' : '/hour' })
  }
  return out
}
