import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { GPU_MODELS } from '../../src/instances/gpus.js'
import { modelFacts } from '../../src/memory/model-facts.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { stepTime } from '../../src/planner/job-time.js'
import { TIME_BAND } from '../../src/planner/time-band.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import { loadProbeRecords, PROBE_SECONDS_PER_TRAINED_TENSOR, probeSpec, probeTrainedTensors } from './probe-rows.js'
import { calibrationOffer, expressRun, THROUGHPUT_ROWS } from './throughput-rows.js'

// Measured ÷ estimated step time of every calibration run: the published ones as throughput-calibration.test.ts times
// them, ours as probe-time.test.ts does.
function ratios(): number[] {
  const out: number[] = []
  for (const r of THROUGHPUT_ROWS) {
    const x = expressRun(r)
    if (!x.ok) continue
    const l = loadSpec(x.spec, r.id, memorySources())
    const s = { ...strategyFromSpec(l.spec, l.model.arch, { gpus: x.gpus, zeroStage: x.zeroStage }), gpusPerNode: x.gpus / x.nodes }
    const t = stepTime(l.spec, l.model.arch, modelFacts(l.spec, l.model.arch), calibrationOffer(x.gpu), GPU_MODELS[x.gpu], x.nodes, s)!
    out.push(t.tokensPerSecond / x.gpus / x.measuredPerGpu)
  }
  for (const { record: r } of loadProbeRecords(fileURLToPath(new URL('../fixtures/measured/', import.meta.url)))) {
    const l = loadSpec(probeSpec(r), `${r.model}.yaml`, memorySources())
    const t = stepTime(l.spec, l.model.arch, modelFacts(l.spec, l.model.arch), calibrationOffer('H200'), GPU_MODELS['H200'], 1, strategyFromSpec(l.spec, l.model.arch))!
    out.push((r as unknown as { step_s: number }).step_s / (t.stepSeconds + probeTrainedTensors(r) * PROBE_SECONDS_PER_TRAINED_TENSOR))
  }
  return out
}

describe('the time band', () => {
  it('is the p10 and p90 of measured ÷ estimated time over every calibration run, to the hundredth', () => {
    const r = ratios().sort((a, b) => a - b)
    const q = (p: number) => r[Math.floor(p * (r.length - 1))]!
    console.log(`measured ÷ estimated time over ${r.length} runs: p10 ${q(0.1).toFixed(3)}, median ${q(0.5).toFixed(3)}, p90 ${q(0.9).toFixed(3)}`)
    expect(r).toHaveLength(TIME_BAND.runs)
    expect(TIME_BAND.p10).toBe(Math.round(q(0.1) * 100) / 100)
    expect(TIME_BAND.p90).toBe(Math.round(q(0.9) * 100) / 100)
  })
})
