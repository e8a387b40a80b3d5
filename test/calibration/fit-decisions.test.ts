import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { estimateMemory } from '../../src/memory/estimate.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { CUDA_VISIBLE_FRACTION, NVIDIA_SMI_TOTAL_MIB } from '../../src/instances/visible-memory.js'
import { loadSpec } from '../../src/spec/load.js'
import { DEFAULT_MARGIN } from '../../src/spec/normalize.js'
import { memorySources } from '../helpers/memory-sources.js'
import { expressRow, ROWS } from './memory-rows.js'
import { loadProbeRecords, probeEstimate } from './probe-rows.js'

// Every run whose outcome on a known GPU we have (it trained, or it ran out of memory), and ftplan's decision for that
// GPU: total (reserved + context) ≤ the memory the card shows × (1 − the default margin). The README's fit table.

/** nvidia-smi's total, MiB, of each card the published rows name: the catalog's from visible-memory.ts, and two it lacks (public nvidia-smi outputs). */
const CARD_MIB: [RegExp, string, number][] = [
  [/A100-SXM4-40GB/, 'A100 40GB', NVIDIA_SMI_TOTAL_MIB['A100-40GB']!.mib], [/A10G/, 'A10G', NVIDIA_SMI_TOTAL_MIB['A10G']!.mib],
  [/RTX 4090/, 'RTX 4090', 24564], [/RTX A6000/, 'RTX A6000', 49140],
]
/** Bytes CUDA hands a process on a catalog card: nvidia-smi's total × CUDA_VISIBLE_FRACTION (visible-memory.ts). */
const shown = (gpu: string) => NVIDIA_SMI_TOTAL_MIB[gpu]!.mib * 2 ** 20 * CUDA_VISIBLE_FRACTION

interface Fact { run: string; gpu: string; shownBytes: number; totalBytes: number; trained: boolean }

const published: Fact[] = ROWS.flatMap((r) => {
  const card = CARD_MIB.find(([re]) => re.test(r.gpu_type))
  const x = expressRow(r, true)
  if (!card || !x.ok) return []
  const l = loadSpec(x.spec, r.id, memorySources())
  const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch), undefined, x.loop)
  return [{ run: r.id, gpu: card[1], shownBytes: card[2] * 2 ** 20 * CUDA_VISIBLE_FRACTION, totalBytes: e.perGpu.totalBytes, trained: r.measured.kind !== 'oom' }]
})

const probe: Fact[] = loadProbeRecords(fileURLToPath(new URL('../fixtures/measured/', import.meta.url))).map(({ record: r }) => {
  const est = probeEstimate(r)
  return { run: `probe ${r.model} ${r.method} ${r.precision} b=${r.micro_batch} s=${r.seq_len}${r.grad_ckpt ? ' ckpt' : ''} ${r.attention}`, gpu: 'H200', shownBytes: shown('H200'), totalBytes: est.reserved + est.context, trained: true }
})

const facts = [...published, ...probe]
const fits = (f: Fact) => f.totalBytes <= f.shownBytes * (1 - DEFAULT_MARGIN)

describe('the fit decision against every measured outcome', () => {
  it('prints the table: run, GPU, what ftplan decides, what happened', () => {
    const gb = (b: number) => (b / 1e9).toFixed(2)
    const lines = facts.map((f) => `${f.run.padEnd(52)} ${f.gpu.padEnd(10)} ${gb(f.totalBytes).padStart(7)} of ${gb(f.shownBytes).padStart(7)} GB  ${fits(f) ? 'fits    ' : 'no fit  '}  ${f.trained ? 'trained' : 'OOM'}`)
    const count = (p: (f: Fact) => boolean) => facts.filter(p).length
    console.log([`run                                                  GPU           needs of   shows     ftplan    measured (margin ${DEFAULT_MARGIN})`, ...lines,
      `trained, ftplan says fits: ${count((f) => f.trained && fits(f))}; trained, ftplan says no fit (the margin's cost): ${count((f) => f.trained && !fits(f))}; OOM, ftplan says no fit: ${count((f) => !f.trained && !fits(f))}; OOM, ftplan says fits: ${count((f) => !f.trained && fits(f))}`].join('\n'))
    expect(published.length).toBeGreaterThanOrEqual(25)
  })

  it('no run that ran out of memory is judged to fit its GPU', () => {
    const ooms = facts.filter((f) => !f.trained)
    expect(ooms.map((f) => f.run)).toEqual(['litgpt-rt-llama2-7b-lora-mb4-oom', 'litgpt-rt-llama2-13b-lora-mb2-oom', 'litgpt-ch-gemma7b-lora-oom', 'litgpt-ch-gemma2-9b-lora-oom'])
    for (const f of ooms) expect(fits(f), f.run).toBe(false)
  })

  it('the runs that trained are judged to fit, but for those the margin turns away (each within the margin of its card)', () => {
    const turnedAway = facts.filter((f) => f.trained && !fits(f))
    // A trained run judged "no fit" must be one the estimate puts within the margin of the card, never beyond it.
    for (const f of turnedAway) expect(f.totalBytes, f.run).toBeLessThanOrEqual(f.shownBytes * 1.0)
    expect(turnedAway.length).toBeLessThanOrEqual(Math.ceil(facts.filter((f) => f.trained).length / 10))
  })
})
