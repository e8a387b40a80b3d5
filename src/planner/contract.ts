import { estimateJson } from '../memory/estimate.js'
import type { FinetuneSpec } from '../spec/spec.js'
import type { Candidate, PlanResult } from './plan.js'
import { band } from './time-band.js'

/** The precision a candidate really runs: fp16 on GPUs without bf16. */
export function runPrecision(spec: FinetuneSpec, c: Candidate): string {
  return c.precisionNote ? 'fp16' : spec.precision
}

/** One candidate in the plan contract's shape (DESIGN.md "The plan contract"), with the estimate's `time`. */
export function candidateJson(spec: FinetuneSpec, c: Candidate): Record<string, unknown> {
  const s = c.strategy
  const t = c.time
  const memory = estimateJson(c.estimate, t === null ? null : {
    gpu: c.offer.gpu, gpus: s.gpus, nodes: c.nodes,
    stepSeconds: (s.microBatch * s.accumulation * s.gpus * spec.seqLenTokens) / t.tokensPerSecond,
    tokensPerSecond: t.tokensPerSecond, tokensPerSecondPerGpu: t.tokensPerSecond / s.gpus,
    mfu: t.mfu,
    jobHours: t.hours,
  })
  return {
    provider: c.offer.provider, region: c.offer.region, instanceType: c.offer.instanceType, nodes: c.nodes,
    gpusPerNode: c.offer.gpuCount, gpu: c.offer.gpu, gpuMemoryBytes: c.offer.gpuMemoryMiB * 2 ** 20,
    usableBytesPerGpu: Math.floor(c.usableBytesPerGpu),
    strategy: { zeroStage: s.zeroStage, offload: s.offload, gradientCheckpointing: s.gradientCheckpointing, microBatch: s.microBatch, accumulation: s.accumulation, precision: runPrecision(spec, c) },
    memory, priceUsdPerHour: c.priceUsdPerHour, spotPriceUsdPerHour: c.spotUsdPerHour,
    jobHours: t?.hours ?? null, jobCostUsd: c.jobCostUsd,
    // p10–p90 of what the job really takes, from the calibration's residuals (time-band.ts)
    jobHoursRange: t ? band(t.hours) : null, jobCostUsdRange: c.jobCostUsd !== null ? band(c.jobCostUsd) : null,
  }
}

export function planJson(spec: FinetuneSpec, r: PlanResult, top: number): Record<string, unknown> {
  const rejected = r.rejected.map((x) => ({ instanceType: x.instanceType, region: x.regions.join(', '), nodes: x.nodes, reason: x.reason }))
  const catalog = { source: r.catalog.source, asOf: r.catalog.asOf }
  if (r.status === 'no-fit') return { version: 1, status: 'no-fit', plan: null, alternatives: [], rejected, suggestions: r.suggestions, catalog, assumptions: r.assumptions }
  return {
    version: 1, status: 'fit', plan: candidateJson(spec, r.plan), alternatives: r.alternatives.slice(0, top).map((c) => candidateJson(spec, c)),
    // Set when the tie rule chose another plan than the one of the lowest job cost (plan.ts rankCandidates).
    cheapest: r.cheapest ? { instanceType: r.cheapest.offer.instanceType, region: r.cheapest.offer.region, nodes: r.cheapest.nodes, gpus: r.cheapest.strategy.gpus, jobHours: r.cheapest.time?.hours ?? null, jobCostUsd: r.cheapest.jobCostUsd, rank: r.cheapestRank ?? 1 } : null,
    rejected, catalog, assumptions: r.assumptions,
  }
}
