import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_OFFERS } from '../instances/aws.js'
import { GPU_MODELS } from '../instances/gpus.js'
import { modelFacts } from '../memory/model-facts.js'
import { strategyFromSpec } from '../memory/strategy.js'
import { loadSpec } from '../spec/load.js'
import { flopsPerToken, jobTime } from './job-time.js'

const load = (yaml: string) => loadSpec(yaml, 'spec.yaml', memorySources())

describe('FLOPs per token (memory-model §9.1)', () => {
  it('Llama-2-7B at s=2048: full 6N + 12·L·q_dim·s = 42.87 GF; LoRA 4N + … = 29.65 GF; checkpointing adds 2N + 4·L·q_dim·s', () => {
    // N = 6,738,415,616 − 32000·4096 (input embedding) = 6,607,343,616; 12·32·4096·2048 = 3,221,225,472.
    const N = 6_738_415_616 - 32000 * 4096
    const attention = 12 * 32 * 4096 * 2048
    const full = load('model: meta-llama/Llama-2-7b-hf\nmethod: full\nseq_len: 2048\n')
    const lora = load('model: meta-llama/Llama-2-7b-hf\nmethod: lora\nseq_len: 2048\n')
    const f = flopsPerToken(full.spec, full.model.arch, modelFacts(full.spec, full.model.arch), true)
    expect(f.model).toBe(6 * N + attention)
    expect(f.model / 1e9).toBeCloseTo(42.87, 2)
    expect(f.hardware).toBe(6 * N + attention + 2 * N + attention / 3)
    expect(f.hardware / 1e9).toBeCloseTo(57.15, 2)
    const l = flopsPerToken(lora.spec, lora.model.arch, modelFacts(lora.spec, lora.model.arch), false)
    expect(l.model / 1e9).toBeCloseTo(29.65, 2)
  })
})

describe('FLOPs per token for Llama-3-8B at s=2048 (memory-model §9.1 table)', () => {
  it('full 6N + 12·L·q_dim·s = 48.25 GF; with checkpointing 64.33 GF; LoRA 4N + … = 33.24 GF', () => {
    // N = 8,030,261,248 − 128256·4096 (input embedding) = 7,504,924,672; 12·32·4096·2048 = 3,221,225,472.
    const N = 8_030_261_248 - 128256 * 4096
    const attention = 12 * 32 * 4096 * 2048
    const full = load('model: meta-llama/Meta-Llama-3-8B\nmethod: full\nseq_len: 2048\n')
    const f = flopsPerToken(full.spec, full.model.arch, modelFacts(full.spec, full.model.arch), true)
    expect(f.model).toBe(6 * N + attention)
    expect(f.model / 1e9).toBeCloseTo(48.25, 2)
    expect(f.hardware / 1e9).toBeCloseTo(64.33, 2)
    const lora = load('model: meta-llama/Meta-Llama-3-8B\nmethod: lora\nseq_len: 2048\n')
    expect(flopsPerToken(lora.spec, lora.model.arch, modelFacts(lora.spec, lora.model.arch), false).model / 1e9).toBeCloseTo(33.24, 2)
  })
})

describe('job time', () => {
  const spec = load('model: meta-llama/Meta-Llama-3-8B\nmethod: full\nseq_len: 2048\nbatch: { micro: 2, accumulation: 4 }\ntrain: { tokens: 1e8 }\n')
  const facts = modelFacts(spec.spec, spec.model.arch)
  const p5 = AWS_OFFERS.find((o) => o.instanceType === 'p5.48xlarge' && o.region === 'us-east-1')!
  it('8 × H100 at 35 %: 8 · 989.5 TFLOPS · 0.35 / 48.25 GF per token ≈ 57.4k tokens/s', () => {
    const t = jobTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, 1, { ...strategyFromSpec(spec.spec, spec.model.arch, { gpus: 8 }), gpusPerNode: 8 })!
    expect(t.tokensPerSecond).toBeCloseTo((8 * 989.5e12 * 0.35) / flopsPerToken(spec.spec, spec.model.arch, facts, false).hardware, 6)
    expect(t.tokensPerSecond / 1000).toBeCloseTo(57.4, 0)
    expect(t.hours).toBeCloseTo(1e8 / t.tokensPerSecond / 3600, 9)
  })
  it('checkpointing, offload and a second node each slow a step down, never speed it up', () => {
    fc.assert(fc.property(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 1, max: 4 }), (zero, nodes) => {
      const base = { ...strategyFromSpec(spec.spec, spec.model.arch, { gpus: 8 * nodes, zeroStage: zero as 0 | 1 | 2 | 3 }), gpusPerNode: 8 }
      const t = (s: typeof base, n = nodes) => jobTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, n, s)!.hours
      expect(t({ ...base, gradientCheckpointing: true })).toBeGreaterThanOrEqual(t(base))
      if (zero > 0) expect(t({ ...base, offload: 'optimizer' })).toBeGreaterThan(t(base))
      if (zero === 3) expect(t({ ...base, offload: 'optimizer+params' })).toBeGreaterThan(t({ ...base, offload: 'optimizer' }))
      // the same GPUs split over one more node: the traffic between nodes only adds time
      expect(t({ ...base }, nodes + 1)).toBeGreaterThanOrEqual(t(base))
    }))
  })
})
