import { describe, expect, it } from 'vitest'
import { DS_DEFAULTS } from '../../src/memory/constants.js'
import { estimateMemory } from '../../src/memory/estimate.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import published from '../fixtures/calibration/hf-zero3-measurements.json' with { type: 'json' }

// Multi-GPU ZeRO-3 runs of the HF stack, published by PEFT (the fixture names the page and commit). accelerate's
// DeepSpeedPlugin writes no bucket sizes, so these run on DeepSpeed's defaults (deepspeed/runtime/zero/config.py).
const DEEPSPEED_DEFAULTS = {
  reduceBucketSize: DS_DEFAULTS.reduceBucketSize, allgatherBucketSize: DS_DEFAULTS.allgatherBucketSize, overlapComm: true,
  prefetchBucketSize: DS_DEFAULTS.prefetchBucketSize, paramPersistenceThreshold: DS_DEFAULTS.paramPersistenceThreshold,
  maxLiveParameters: DS_DEFAULTS.maxLiveParameters, maxReuseDistance: DS_DEFAULTS.maxReuseDistance, subGroupSize: DS_DEFAULTS.subGroupSize,
}

const compared = published.rows.map((r) => {
  const l = loadSpec(r.spec, r.id, memorySources())
  const strategy = { ...strategyFromSpec(l.spec, l.model.arch, { gpus: r.gpus }), zero: DEEPSPEED_DEFAULTS }
  const e = estimateMemory(l.spec, l.model.arch, strategy)
  return { id: r.id, peak: e.peakPhase, measured: r.measured_gb * 1e9, estimated: e.perGpu.totalBytes, error: (e.perGpu.totalBytes - r.measured_gb * 1e9) / (r.measured_gb * 1e9) }
})

describe('ZeRO-3 on several GPUs, HF stack (PEFT docs)', () => {
  it('prints each run, measured against the estimate of what the GPU shows', () => {
    console.log(compared.map((c) => `${c.id.padEnd(40)} peak in ${c.peak.padEnd(10)} ${(c.measured / 1e9).toFixed(1).padStart(6)} GB ${(c.estimated / 1e9).toFixed(1).padStart(6)} GB ${(c.error * 100).toFixed(1).padStart(6)}%`).join('\n'))
    expect(compared.map((c) => c.id)).toEqual(['peft-docs-llama2-70b-lora-zero3-8xh100', 'peft-docs-llama2-70b-qlora-zero3-2gpu'])
  })

  it('every run within 10%', () => {
    for (const c of compared) expect(Math.abs(c.error), c.id).toBeLessThanOrEqual(0.1)
  })

  it('QLoRA peaks while the whole 4-bit model loads on each GPU, before ZeRO-3 shards it', () => {
    expect(compared[1]!.peak).toBe('model load')
    expect(compared[0]!.peak).toBe('backward')
  })
})
