import { describe, expect, it } from 'vitest'
import { expressHfRun, HF_RUNS } from './hf-runs.js'
import { estimatedTokensPerGpu } from './throughput-rows.js'

// Qwen's published single-A100 LoRA runs (HF Trainer + PEFT): the stack ftplan launches, at six sequence lengths.
const compared = HF_RUNS.map((r) => {
  const estimated = estimatedTokensPerGpu(r.id, expressHfRun(r))
  return { id: r.id, measured: r.tokens_per_sec_per_gpu, estimated, error: estimated / r.tokens_per_sec_per_gpu - 1 }
})

describe('throughput against published HF-stack runs (Qwen, one A100 80GB)', () => {
  it('prints measured vs estimated tokens/s for every run, with the median and worst error', () => {
    const abs = compared.map((c) => Math.abs(c.error)).sort((a, b) => a - b)
    const worst = compared.reduce((w, c) => (Math.abs(c.error) > Math.abs(w.error) ? c : w))
    console.log([
      'run                           measured estimated   error',
      ...compared.map((c) => `${c.id.padEnd(28)} ${c.measured.toFixed(0).padStart(9)} ${c.estimated.toFixed(0).padStart(9)} ${(c.error * 100).toFixed(1).padStart(6)}%`),
      `median |error| ${(abs[Math.floor(abs.length / 2)]! * 100).toFixed(1)}%, worst ${worst.id} ${(worst.error * 100).toFixed(1)}%`,
    ].join('\n'))
    expect(compared).toHaveLength(36)
  })

  it('no run off by 2× either way', () => {
    expect(compared.filter((c) => c.error + 1 >= 2 || c.error + 1 <= 0.5).map((c) => c.id)).toEqual([])
  })
})
