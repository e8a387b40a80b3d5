import { describe, expect, it } from 'vitest'
import { estimatedTokensPerGpu, expressRun, THROUGHPUT_ROWS } from './throughput-rows.js'

// Every published throughput spec v1 can express, timed by the planner's own stepTime and compared per GPU
// (issue #7): median absolute error ≤ 20 %, no row off by 2× either way.
const rows = THROUGHPUT_ROWS.map((r) => ({ r, x: expressRun(r) }))
const compared = rows.flatMap(({ r, x }) => {
  if (!x.ok) return []
  const estimated = estimatedTokensPerGpu(r.id, x)
  return [{ id: r.id, gpu: x.gpu, gpus: x.gpus, measured: x.measuredPerGpu, estimated, ratio: estimated / x.measuredPerGpu }]
})

describe('throughput calibration against published runs', () => {
  it('prints measured vs estimated tokens/s per GPU for every expressible row', () => {
    const lines = compared.map((c) => `${c.id.padEnd(40)} ${c.gpu.padEnd(9)} ${String(c.gpus).padStart(5)} ${Math.round(c.measured).toString().padStart(8)} ${Math.round(c.estimated).toString().padStart(9)} ${((c.ratio - 1) * 100).toFixed(1).padStart(7)}%`)
    const skipped = rows.filter(({ x }) => !x.ok).map(({ r, x }) => `  ${r.id}: ${x.ok ? '' : x.reason}`)
    console.log(['row                                      GPU        GPUs measured estimated   error', ...lines, `not expressible in spec v1 (${skipped.length}):`, ...skipped].join('\n'))
    expect(compared.length).toBe(52)
    expect(rows.length).toBe(79)
  })

  it('median absolute error of tokens/s per GPU ≤ 15%', () => {
    const errors = compared.map((c) => Math.abs(c.ratio - 1)).sort((a, b) => a - b)
    const median = errors[Math.floor(errors.length / 2)]!
    console.log(`median absolute error ${(median * 100).toFixed(1)}% over ${errors.length} rows; worst ${(errors[errors.length - 1]! * 100).toFixed(1)}%`)
    expect(median).toBeLessThanOrEqual(0.15)
  })

  it('no row is off by 2× or more either way', () => {
    const off = compared.filter((c) => c.ratio >= 2 || c.ratio <= 0.5).map((c) => `${c.id} ${c.ratio.toFixed(2)}×`)
    expect(off).toEqual([])
  })
})
