import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { TIME_BAND } from '../../src/planner/time-band.js'
import { loadProbeRecords, probeStepSeconds } from './probe-rows.js'
import { estimatedTokensPerGpu, expressRun, THROUGHPUT_ROWS } from './throughput-rows.js'

// Measured ÷ estimated step time of every calibration run: the published ones as throughput-calibration.test.ts times
// them, ours as probe-time.test.ts does.
function ratios(): number[] {
  const out: number[] = []
  for (const r of THROUGHPUT_ROWS) {
    const x = expressRun(r)
    if (!x.ok) continue
    out.push(estimatedTokensPerGpu(r.id, x) / x.measuredPerGpu)
  }
  for (const { record: r } of loadProbeRecords(fileURLToPath(new URL('../fixtures/measured/', import.meta.url)))) {
    out.push((r as unknown as { step_s: number }).step_s / probeStepSeconds(r))
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

  it('over every probe row and every expressible published run: median |error| of tokens/s ≤ 15%, none off by 2× (issue #14)', () => {
    // tokens/s error = estimated ÷ measured tokens/s − 1 = measured ÷ estimated time − 1
    const errors = ratios().map((x) => x - 1)
    const abs = errors.map(Math.abs).sort((a, b) => a - b)
    const median = abs[Math.floor(abs.length / 2)]!
    const worst = errors.reduce((w, e) => (Math.abs(e) > Math.abs(w) ? e : w))
    console.log(`tokens/s over ${errors.length} runs: median |error| ${(median * 100).toFixed(1)}%, worst ${(worst * 100).toFixed(1)}%`)
    expect(median).toBeLessThanOrEqual(0.15)
    expect(errors.filter((e) => e + 1 >= 2 || e + 1 <= 0.5)).toEqual([])
  })
})
