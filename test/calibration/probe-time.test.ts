import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { GPU_MODELS } from '../../src/instances/gpus.js'
import { modelFacts } from '../../src/memory/model-facts.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { stepTime } from '../../src/planner/job-time.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import { loadProbeRecords, probeSpec, probeStepSeconds, type ProbeRecord } from './probe-rows.js'
import { calibrationOffer } from './throughput-rows.js'

// Step time of our 65 H200 runs (HF transformers 5.17 + PEFT 0.21, one GPU; step_s of the third step): ftplan's
// stepTime of the HF step, plus the probe's own per-tensor optimizer (probe-rows.ts), against the measured seconds.
const rows = loadProbeRecords(fileURLToPath(new URL('../fixtures/measured/', import.meta.url))).map(({ record: r }) => {
  const seconds = probeStepSeconds(r)
  const measured = (r as ProbeRecord & { step_s: number }).step_s
  return { r, seconds, measured, ratio: measured / seconds }
})

describe('step time against our H200 runs', () => {
  it('prints every row and the median and worst error of tokens/s', () => {
    const err = (x: (typeof rows)[number]) => x.ratio - 1 // estimated tokens/s ÷ measured − 1
    const abs = rows.map((x) => Math.abs(err(x))).sort((a, b) => a - b)
    console.log(['model            method precision  b  seq   ckpt attn   | measured s  estimated s  tokens/s error',
      ...rows.map((x) => `${x.r.model.padEnd(16)} ${x.r.method.padEnd(6)} ${x.r.precision.padEnd(10)} ${String(x.r.micro_batch).padStart(2)} ${String(x.r.seq_len).padStart(5)} ${x.r.grad_ckpt ? 'on ' : 'off'}  ${x.r.attention.padEnd(6)} | ${x.measured.toFixed(3).padStart(10)} ${x.seconds.toFixed(3).padStart(12)} ${((err(x)) * 100).toFixed(1).padStart(8)}%`),
      `median |error| ${(abs[Math.floor(abs.length / 2)]! * 100).toFixed(1)}%, worst ${(abs.at(-1)! * 100).toFixed(1)}% over ${rows.length} rows`].join('\n'))
    expect(rows).toHaveLength(65)
  })

  it('median |error| of tokens/s ≤ 15%, and no row off by 2× either way', () => {
    const abs = rows.map((x) => Math.abs(x.ratio - 1)).sort((a, b) => a - b)
    expect(abs[Math.floor(abs.length / 2)]!).toBeLessThanOrEqual(0.15)
    expect(rows.filter((x) => x.ratio >= 2 || x.ratio <= 0.5).map((x) => `${x.r.model} ${x.r.method} b=${x.r.micro_batch} s=${x.r.seq_len}`)).toEqual([])
  })
})

describe('the launch-bound floor of a micro-step, derived by hand', () => {
  it('Qwen2.5-0.5B (24 layers): full fine-tuning 1.6 ms × (24 forward + 2 × 24 backward) = 115.2 ms, + 24 recomputed = 153.6 ms; freeze of 2 layers 1.6 ms × (24 + 2 × 2) = 44.8 ms', async () => {
    const { launchFloorSeconds } = await import('../../src/planner/job-time.js')
    const spec = (method: string) => loadSpec(`model: Qwen/Qwen2.5-0.5B\nmethod: ${method}\n${method === 'freeze' ? 'freeze: { trainable_layers: 2 }\n' : ''}`, 'spec.yaml', memorySources())
    const full = spec('full')
    const facts = modelFacts(full.spec, full.model.arch)
    expect(launchFloorSeconds(full.model.arch, facts, false)).toBeCloseTo(0.1152, 6)
    expect(launchFloorSeconds(full.model.arch, facts, true)).toBeCloseTo(0.1536, 6)
    const freeze = spec('freeze')
    expect(launchFloorSeconds(freeze.model.arch, modelFacts(freeze.spec, freeze.model.arch), false)).toBeCloseTo(0.0448, 6)
  })
  it('Qwen3-30B-A3B (48 layers, every one routed): a layer pass launches 60 kernels where a dense one launches 40, so 2.4 ms; LoRA with checkpointing 2.4 ms × (48 + 96 + 48) = 460.8 ms', async () => {
    const { launchFloorSeconds, DENSE_LAYER_KERNELS, MOE_BLOCK_EXTRA_KERNELS } = await import('../../src/planner/job-time.js')
    expect((DENSE_LAYER_KERNELS + MOE_BLOCK_EXTRA_KERNELS) / DENSE_LAYER_KERNELS).toBe(1.5)
    const l = loadSpec('model: Qwen/Qwen3-30B-A3B\nmethod: lora\n', 'spec.yaml', memorySources())
    expect(launchFloorSeconds(l.model.arch, modelFacts(l.spec, l.model.arch), true)).toBeCloseTo(0.4608, 6)
  })
  it('a large step is compute-bound and the floor changes nothing: Llama-3-8B LoRA at 8192 tokens', () => {
    const x = rows.find((r) => r.r.model === 'Llama-3-8B' && r.r.method === 'lora' && r.r.seq_len === 8192 && !r.r.grad_ckpt)!
    const l = loadSpec(probeSpec(x.r), 'spec.yaml', memorySources())
    const facts = modelFacts(l.spec, l.model.arch)
    // 4N + attention FLOPs per token over H200's 989.5 TFLOPS at 48 %: far above 1.6 ms × 96 = 154 ms
    const t = stepTime(l.spec, l.model.arch, facts, calibrationOffer('H200'), GPU_MODELS['H200'], 1, strategyFromSpec(l.spec, l.model.arch))!
    expect(t.stepSeconds).toBeGreaterThan(0.154 * 4)
  })
})

describe('eager attention\'s score traffic, derived by hand from transformers\' eager_attention_forward', () => {
  it('gemma-2-2b at 2048 tokens: 8 heads × 2048 keys × (29 + 12 soft-capping) B = 671,744 B per token per layer forward; the micro-step moves 76.8 GB', async () => {
    const { eagerScoreBytes } = await import('../../src/planner/job-time.js')
    const l = loadSpec('model: google/gemma-2-2b\nmethod: full\nattention: eager\nseq_len: 2048\n', 'spec.yaml', memorySources())
    expect(8 * 2048 * (29 + 12)).toBe(671_744)
    // 26 layers forward (41 B) and backward (33 + 14 = 47 B) over 1 × 8 × 2048² score elements, no checkpointing
    const bytes = 8 * 2048 * 2048 * (41 * 26 + 47 * 26)
    expect(bytes).toBe(76_772_540_416)
    expect(eagerScoreBytes(l.model.arch, modelFacts(l.spec, l.model.arch), 1, 2048, false)).toBe(bytes)
    // with checkpointing the forward is recomputed for every trained layer
    expect(eagerScoreBytes(l.model.arch, modelFacts(l.spec, l.model.arch), 1, 2048, true)).toBe(bytes + 8 * 2048 * 2048 * 41 * 26)
  })
})
