import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { LAUNCH_OVERLAP_EXPONENT } from '../../src/planner/job-time.js'
import { TIME_BAND } from '../../src/planner/time-band.js'
import { expressHfRun, HF_RUNS } from './hf-runs.js'
import { loadProbeRecords, probeStepSeconds } from './probe-rows.js'
import { estimatedTokensPerGpu, expressRun, THROUGHPUT_ROWS } from './throughput-rows.js'

// Measured ÷ estimated step time of every calibration run: the published ones as throughput-calibration.test.ts times
// them, Qwen's HF-stack runs as hf-throughput.test.ts does, ours as probe-time.test.ts does.
function ratios(overlapExponent?: number): number[] {
  const out: number[] = []
  for (const r of THROUGHPUT_ROWS) {
    const x = expressRun(r)
    if (!x.ok) continue
    out.push(estimatedTokensPerGpu(r.id, x, overlapExponent) / x.measuredPerGpu)
  }
  for (const r of HF_RUNS) out.push(estimatedTokensPerGpu(r.id, expressHfRun(r), overlapExponent) / r.tokens_per_sec_per_gpu)
  for (const { record: r } of loadProbeRecords(fileURLToPath(new URL('../fixtures/measured/', import.meta.url)))) {
    out.push((r as unknown as { step_s: number }).step_s / probeStepSeconds(r, overlapExponent))
  }
  return out
}
const medianAbsError = (r: number[]) => r.map((x) => Math.abs(x - 1)).sort((a, b) => a - b)[Math.floor(r.length / 2)]!

describe('the time band', () => {
  it('is the p10 and p90 of measured ÷ estimated time over every calibration run, to the hundredth', () => {
    const r = ratios().sort((a, b) => a - b)
    const q = (p: number) => r[Math.floor(p * (r.length - 1))]!
    console.log(`measured ÷ estimated time over ${r.length} runs: p10 ${q(0.1).toFixed(3)}, median ${q(0.5).toFixed(3)}, p90 ${q(0.9).toFixed(3)}`)
    expect(r).toHaveLength(TIME_BAND.runs)
    expect(TIME_BAND.p10).toBe(Math.round(q(0.1) * 100) / 100)
    expect(TIME_BAND.p90).toBe(Math.round(q(0.9) * 100) / 100)
  })

  it('the overlap of GPU work and kernel issue, p = 1.5, beats max() and p = 2 over every run (job-time.ts LAUNCH_OVERLAP_EXPONENT)', () => {
    const at = (p: number) => medianAbsError(ratios(p))
    console.log(`median |error| of tokens/s: max() ${(at(Infinity) * 100).toFixed(1)}%, p = 2 ${(at(2) * 100).toFixed(1)}%, p = ${LAUNCH_OVERLAP_EXPONENT} ${(at(LAUNCH_OVERLAP_EXPONENT) * 100).toFixed(1)}%`)
    expect(LAUNCH_OVERLAP_EXPONENT).toBe(1.5)
    expect(at(1.5)).toBeLessThan(at(Infinity))
    expect(at(1.5)).toBeLessThan(at(2))
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
