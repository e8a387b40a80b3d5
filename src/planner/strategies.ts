import { stageRefusal } from '../spec/runtime-rules.js'
import type { FinetuneSpec, Offload, ZeroStage } from '../spec/spec.js'

const MICRO_BATCHES = [1, 2, 4, 8, 16, 32]

/**
 * What a plan may change of the batch. `free`: the spec set neither micro-batch nor accumulation, so the planner picks
 * the micro-batch. `per-gpu`: the spec's micro × accumulation is each GPU's batch per step, as HF Trainer and
 * LLaMA-Factory mean it; the planner may split it into another micro-batch × accumulation, and the global batch grows
 * with the GPUs; it keeps the spec's micro-batch or splits it smaller, never larger. `global`: the spec fixed
 * batch.global, kept on every layout.
 */
export type BatchMode = 'free' | 'per-gpu' | 'global'

export interface StrategyChoice {
  zeroStage: ZeroStage
  offload: Offload
  gradientCheckpointing: boolean
  microBatch: number
  accumulation: number
}

/** Every strategy the spec leaves open, for `gpus` data-parallel GPUs; null when the fixed global batch cannot split. */
export function strategiesFor(spec: FinetuneSpec, gpus: number, mode: BatchMode): StrategyChoice[] | null {
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
export function speedRank(c: StrategyChoice): number {
  return (c.offload === 'none' ? 0 : c.offload === 'optimizer' ? 1000 : 2000) + (c.gradientCheckpointing ? 100 : 0) + c.zeroStage * 10 - Math.log2(c.microBatch)
}
