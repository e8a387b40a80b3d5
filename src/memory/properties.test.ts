import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec, type LoadedSpec } from '../spec/load.js'
import { estimateMemory, type MemoryEstimate } from './estimate.js'
import { modelFacts } from './model-facts.js'
import { strategyFromSpec, type Strategy } from './strategy.js'

const MODELS = ['meta-llama/Llama-2-7b-hf', 'meta-llama/Meta-Llama-3-8B', 'Qwen/Qwen2.5-7B', 'mistralai/Mixtral-8x7B-v0.1', 'Qwen/Qwen3-30B-A3B',
  'google/gemma-2-2b', 'microsoft/Phi-3-mini-4k-instruct', 'deepseek-ai/DeepSeek-V2-Lite', 'HuggingFaceTB/SmolLM2-135M', 'Qwen/Qwen3-8B']

const setup = fc.record({
  model: fc.constantFrom(...MODELS),
  method: fc.constantFrom('full', 'lora', 'qlora', 'freeze'),
  precision: fc.constantFrom('bf16', 'fp16', 'pure_bf16', 'fp32'),
  optimizer: fc.constantFrom('adamw', 'adamw_8bit', 'paged_adamw', 'paged_adamw_8bit', 'adafactor', 'sgd', 'lion'),
  attention: fc.constantFrom('flash', 'sdpa', 'eager'),
  loss: fc.constantFrom('standard', 'chunked', 'fused'),
  micro: fc.integer({ min: 1, max: 8 }),
  seq: fc.integer({ min: 64, max: 8192 }),
  accumulation: fc.integer({ min: 1, max: 4 }),
  rank: fc.constantFrom(4, 16, 64),
  dropout: fc.constantFrom(0, 0.05),
  targets: fc.constantFrom('all', '[q_proj, v_proj]', '[o_proj]'),
})
type Setup = typeof setup extends fc.Arbitrary<infer T> ? T : never

function load(x: Setup): LoadedSpec {
  const targets = x.model.includes('Phi-3') || x.model.includes('DeepSeek') ? 'all' : x.targets
  return loadSpec([
    `model: ${x.model}`, `method: ${x.method}`, `precision: ${x.precision}`, `optimizer: ${x.optimizer}`, `attention: ${x.attention}`,
    `loss: ${x.loss}`, `batch: { micro: ${x.micro}, accumulation: ${x.accumulation} }`, `seq_len: ${x.seq}`,
    `lora: { rank: ${x.rank}, dropout: ${x.dropout}, targets: ${targets} }`, 'freeze: { trainable_layers: 2 }',
  ].join('\n'), 'spec.yaml', memorySources())
}

function run(l: LoadedSpec, s: Partial<Strategy> = {}): MemoryEstimate {
  return estimateMemory(l.spec, l.model.arch, { ...strategyFromSpec(l.spec, l.model.arch), ...s })
}
const modelStates = (e: MemoryEstimate) => Math.max(...e.phases.map((p) => p.terms.weights + p.terms.gradients + p.terms.optimizerStates))
const options = { numRuns: 150 }

describe('estimator invariants (property tests)', () => {
  it('memory never decreases with micro-batch or sequence length', () => {
    fc.assert(fc.property(setup, fc.boolean(), (x, gc) => {
      const l = load(x)
      const base = run(l, { gradientCheckpointing: gc })
      const moreBatch = run(l, { gradientCheckpointing: gc, microBatch: l.spec.batch.micro + 1 })
      expect(moreBatch.perGpu.peakAllocatedBytes).toBeGreaterThanOrEqual(base.perGpu.peakAllocatedBytes)
      expect(moreBatch.perGpu.totalBytes).toBeGreaterThanOrEqual(base.perGpu.totalBytes)
      const longer = run(load({ ...x, seq: x.seq * 2 }), { gradientCheckpointing: gc })
      expect(longer.perGpu.peakAllocatedBytes).toBeGreaterThanOrEqual(base.perGpu.peakAllocatedBytes)
    }), options)
  })

  it('gradient checkpointing never increases memory', () => {
    fc.assert(fc.property(setup, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 16 }), (x, zero, gpus) => {
      const l = load(x)
      const s = { zeroStage: zero as 0 | 1 | 2 | 3, gpus }
      expect(run(l, { ...s, gradientCheckpointing: true }).perGpu.peakAllocatedBytes).toBeLessThanOrEqual(run(l, { ...s, gradientCheckpointing: false }).perGpu.peakAllocatedBytes)
    }), options)
  })

  it('a higher ZeRO stage never increases per-GPU model states, nor more GPUs under ZeRO-3', () => {
    fc.assert(fc.property(setup, fc.integer({ min: 1, max: 64 }), (x, gpus) => {
      const l = load(x)
      const states = [1, 2, 3].map((z) => modelStates(run(l, { zeroStage: z as 1 | 2 | 3, gpus })))
      expect(states[1]!).toBeLessThanOrEqual(states[0]!)
      expect(states[2]!).toBeLessThanOrEqual(states[1]!)
      expect(modelStates(run(l, { zeroStage: 3, gpus: gpus + 1 }))).toBeLessThanOrEqual(modelStates(run(l, { zeroStage: 3, gpus })))
    }), options)
  })

  it('offload moves optimizer state from the GPU to the CPU without losing any; below ZeRO-3 the GPU gains only the staging buffer', () => {
    fc.assert(fc.property(setup, fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 16 }), (x, zero, gpus) => {
      const l = load(x)
      const s = { zeroStage: zero as 1 | 2 | 3, gpus, gpusPerNode: Math.min(gpus, 8) }
      const without = run(l, { ...s, offload: 'none' })
      const opt = run(l, { ...s, offload: 'optimizer' })
      const stateOnGpu = Math.max(...without.phases.map((p) => p.terms.optimizerStates))
      // ZeRO-1/2 stage offloaded gradients through a GPU buffer of the largest trained tensor (stage_1_and_2.py:591-593):
      // with little optimizer state to move (freeze-tuning, small adapters) offload can cost GPU memory, by that much
      // and the allocator's share of it at most
      const staging = zero < 3 ? modelFacts(l.spec, l.model.arch).largestTrainableElements * 4 * 1.04 : 0
      expect(opt.perGpu.totalBytes).toBeLessThanOrEqual(without.perGpu.totalBytes + staging)
      expect(opt.perNode.cpuBytes).toBeGreaterThanOrEqual(s.gpusPerNode * stateOnGpu)
      if (zero === 3) {
        const both = run(l, { ...s, offload: 'optimizer+params' })
        expect(both.perGpu.totalBytes).toBeLessThanOrEqual(opt.perGpu.totalBytes)
        expect(both.perNode.cpuBytes).toBeGreaterThan(opt.perNode.cpuBytes)
      }
    }), options)
  })

  it('every term is a non-negative integer and the breakdown adds up to the totals', () => {
    fc.assert(fc.property(setup, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 16 }), fc.boolean(), (x, zero, gpus, gc) => {
      const e = run(load(x), { zeroStage: zero as 0 | 1 | 2 | 3, gpus, gradientCheckpointing: gc })
      const b = e.perGpu.breakdown
      for (const v of Object.values(b)) expect(Number.isInteger(v) && v >= 0).toBe(true)
      const paged = x.optimizer.startsWith('paged') && (zero === 0 || true) ? Math.max(0, b.weights + b.gradients + b.optimizerStates + b.activations + b.logits + b.zeroBuffers - e.perGpu.peakAllocatedBytes) : 0
      expect(b.weights + b.gradients + b.optimizerStates + b.activations + b.logits + b.zeroBuffers - paged).toBe(e.perGpu.peakAllocatedBytes)
      expect(e.perGpu.peakAllocatedBytes + b.allocatorOverhead).toBe(e.perGpu.peakReservedBytes)
      expect(e.perGpu.peakReservedBytes + b.cudaContext + paged).toBe(e.perGpu.totalBytes)
    }), options)
  })
})
