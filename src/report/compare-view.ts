import { deepSpeedZero2Estimate, deepSpeedZero3Estimate } from '../memory/deepspeed-estimator.js'
import type { MemoryEstimate } from '../memory/estimate.js'
import type { ModelFacts } from '../memory/model-facts.js'
import { seedRuleEstimate, type SeedRuleEstimate } from '../memory/seed-rule.js'
import type { Strategy } from '../memory/strategy.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { gb, gib } from './estimate-view.js'

export interface Comparison {
  ftplanTotalBytes: number
  seedRule: SeedRuleEstimate
  deepSpeed: { function: string; gpuBytes: number; cpuBytes: number }
}

/** The seed article's rule and DeepSpeed's own model-state estimator, for the same set-up (`--compare`). */
export function compareEstimates(spec: FinetuneSpec, facts: ModelFacts, s: Strategy, e: MemoryEstimate): Comparison {
  const nodes = Math.ceil(s.gpus / s.gpusPerNode)
  const offloadOpt = s.offload !== 'none'
  const ds = s.zeroStage === 3
    ? { function: 'estimate_zero3_model_states_mem_needs', ...deepSpeedZero3Estimate(facts.params.total, facts.largestModuleParams, s.gpusPerNode, nodes, offloadOpt, s.offload === 'optimizer+params') }
    : { function: 'estimate_zero2_model_states_mem_needs', ...deepSpeedZero2Estimate(facts.params.total, s.gpusPerNode, nodes, offloadOpt) }
  return { ftplanTotalBytes: e.perGpu.totalBytes, seedRule: seedRuleEstimate(spec, facts.params.total), deepSpeed: { function: ds.function, gpuBytes: ds.gpuBytes, cpuBytes: ds.cpuBytes } }
}

export function renderComparison(c: Comparison, seedOnly = false): string {
  const r = c.seedRule
  const seed = [
    `Seed rule of thumb: ${r.baseGb.toFixed(1)} GB base (10 GB per billion parameters) × ${r.methodFactor} method × ${r.precisionFactor} precision × ${1 + r.margin} = ${r.totalGb.toFixed(1)} GB`,
  ]
  if (seedOnly) return seed.join('\n') + '\n'
  return [
    'Compared with:',
    `  ftplan (this estimate, total on the GPU)          ${gb(c.ftplanTotalBytes).padStart(9)} GB`,
    `  seed rule of thumb                                ${r.totalGb.toFixed(2).padStart(9)} GB   ${r.baseGb.toFixed(1)} × ${r.methodFactor} × ${r.precisionFactor} × ${1 + r.margin}`,
    `  DeepSpeed ${c.deepSpeed.function.padEnd(38)} ${gb(c.deepSpeed.gpuBytes).padStart(9)} GB   (${gib(c.deepSpeed.gpuBytes)} GiB, which DeepSpeed prints as "GB"); CPU ${gb(c.deepSpeed.cpuBytes)} GB`,
    '  Why they differ: the seed rule scales a fixed 10 GB/B by a method factor, ignoring sequence length, batch,',
    '  vocabulary, LoRA rank and the framework; DeepSpeed counts model states only (every parameter trained, no',
    '  activations, logits, buffers or CUDA context) with its own 1.5× CPU buffer factor.',
  ].join('\n') + '\n'
}
