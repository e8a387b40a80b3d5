import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_OFFERS } from '../instances/aws.js'
import { GPU_MODELS } from '../instances/gpus.js'
import { modelFacts } from '../memory/model-facts.js'
import { strategyFromSpec } from '../memory/strategy.js'
import { loadSpec } from '../spec/load.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { flopsPerToken, jobTime, stepTime } from './job-time.js'
import { groupedQuantizationEfficiency, quantizationEfficiency, smallBatchEfficiency } from './gemm-efficiency.js'
import { UTILISATION } from './utilisation.js'

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

describe('step time (README "Time model")', () => {
  const spec = load('model: meta-llama/Meta-Llama-3-8B\nmethod: full\nseq_len: 2048\nbatch: { micro: 2, accumulation: 4 }\ntrain: { tokens: 1e8 }\n')
  const facts = modelFacts(spec.spec, spec.model.arch)
  const offer = (type: string) => AWS_OFFERS.find((o) => o.instanceType === type && o.region === 'us-east-1')!
  const p5 = offer('p5.48xlarge')
  const strategy = (s: FinetuneSpec, o: Parameters<typeof strategyFromSpec>[2] & { gpusPerNode: number }) => ({ ...strategyFromSpec(s, spec.model.arch, o), gpusPerNode: o.gpusPerNode })

  // The launch floor of a Llama-3-8B full micro-step without checkpointing: 1.6 ms × (32 forward + 64 backward passes).
  const FLOOR = 1.6e-3 * (32 + 2 * 32)
  // GPU work and kernel issue combine as (g^1.5 + f^1.5)^(1/1.5) (job-time.ts LAUNCH_OVERLAP_EXPONENT)
  const withFloor = (g: number, f: number) => (g ** 1.5 + f ** 1.5) ** (1 / 1.5)

  it('8 × H100, ZeRO-3: compute-bound, the NVLink gathers hide; 4 micro-steps + the optimizer sweep ≈ 66.8k tokens/s', () => {
    const P = 8_030_261_248
    // per micro-step: 2 × 2048 tokens × 48.25 GF ÷ (989.5 TFLOPS × 0.48 × 128/132) = 0.4291 s of GEMMs; at 4096
    // rows every GEMM is again 128·k tiles in k waves of 132 SMs; with the 0.1536 s launch floor, 0.4884 s
    const compute = withFloor((2 * 2048 * (6 * (P - 128256 * 4096) + 12 * 32 * 4096 * 2048)) / (989.5e12 * 0.48 * (128 / 132)), FLOOR)
    expect(compute).toBeCloseTo(0.4884, 4)
    // ZeRO-3 moves 2 gathers of 2P and a reduce-scatter of 2P = 6P bytes × 7/8 over 450 GB/s NVLink4 = 0.0937 s < compute
    expect((6 * P * 7) / 8 / 450e9).toBeLessThan(compute)
    // the AdamW sweep over the GPU's eighth: P/8 × 28 B ÷ 3350 GB/s = 8.4 ms
    const optimizer = ((P / 8) * 28) / 3350e9
    const t = stepTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, 1, strategy(spec.spec, { gpus: 8, zeroStage: 3, gpusPerNode: 8 }))!
    expect(t.stepSeconds).toBeCloseTo(4 * compute + optimizer, 9)
    expect(t.commSecondsPerStep).toBe(0)
    expect(t.tokensPerSecond / 1000).toBeCloseTo((8 * 2 * 4 * 2048) / (4 * compute + optimizer) / 1000, 6)
    expect(t.tokensPerSecond / 1000).toBeCloseTo(66.8, 1)
    expect(t.hfu).toBe(0.48)
  })

  it('2 × g5.48xlarge (A10G over PCIe, 100 Gbps EFA), LoRA ZeRO-3: the gathers outlast the compute', () => {
    const lora = load('model: meta-llama/Meta-Llama-3-8B\nmethod: lora\nseq_len: 2048\nbatch: { micro: 1, accumulation: 1 }\n')
    const f = modelFacts(lora.spec, lora.model.arch)
    const P = f.trainableParams + f.frozenParams
    // GEMMs at 2048 rows on 80 SMs with 128×128 tiles: q, o, down 512 tiles in 7 waves (0.914), k+v 256 in 4 (0.8),
    // gate+up 3584 in 45 (0.996); weighted by N·K (16.8, 8.4, 16.8, 117.4, 58.7 M) that is 218.1/229.4 = 0.951
    const eff = smallBatchEfficiency(lora.model.arch, 2048, 'A10G')
    expect(eff).toBeCloseTo(0.951, 3)
    // compute: 2048 × (4N + attention) ÷ (125 TFLOPS × 0.35 × 0.951) = 2048 × 33.24 GF ÷ 41.6 TFLOPS = 1.636 s of GEMMs,
    // 1.668 s with the launch floor of the 32 layers' forward and backward (0.1536 s)
    const compute = withFloor((2048 * (4 * (8_030_261_248 - 128256 * 4096) + 12 * 32 * 4096 * 2048)) / (125e12 * 0.35 * eff), FLOOR)
    expect(compute).toBeCloseTo(1.668, 3)
    // traffic: (4P + 2T) bytes × 15/16 over min(PCIe ring 15.75 GB/s, 100 Gbps = 12.5 GB/s) = 2.43 s
    const comm = ((4 * P + 2 * f.trainableParams) * 15) / 16 / 12.5e9
    expect(comm).toBeCloseTo(2.43, 2)
    const optimizer = ((f.trainableParams / 16) * 28) / 600e9
    const t = stepTime(lora.spec, lora.model.arch, f, offer('g5.48xlarge'), GPU_MODELS.A10G, 2, strategy(lora.spec, { gpus: 16, zeroStage: 3, gpusPerNode: 8 }))!
    expect(t.stepSeconds).toBeCloseTo(comm + optimizer, 9)
    expect(t.commSecondsPerStep).toBeCloseTo(comm - compute, 9)
  })

  it('ZeRO-2 without overlap_comm (DeepSpeed\'s default) waits for every micro-step\'s reduce-scatter and the parameter all-gather', () => {
    const s = strategy(spec.spec, { gpus: 8, zeroStage: 2, gpusPerNode: 8 })
    expect(s.zero.overlapComm).toBe(false)
    const P = 8_030_261_248
    const compute = withFloor((2 * 2048 * flopsPerToken(spec.spec, spec.model.arch, facts, false).hardware) / (989.5e12 * 0.48 * (128 / 132)), FLOOR)
    const ring = (bytes: number) => (bytes * 7) / 8 / 450e9
    const optimizer = ((P / 8) * 28) / 3350e9
    const t = stepTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, 1, s)!
    expect(t.stepSeconds).toBeCloseTo(4 * (compute + ring(2 * P)) + ring(2 * P) + optimizer, 9)
    const overlapped = stepTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, 1, { ...s, zero: { ...s.zero, overlapComm: true } })!
    expect(overlapped.stepSeconds).toBeCloseTo(4 * compute + ring(2 * P) + optimizer, 9)
  })

  it('train.mfu overrides the GPU\'s utilisation; uncalibrated GPUs say so', () => {
    const own = load('model: meta-llama/Meta-Llama-3-8B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1e8, mfu: 0.3 }\n')
    const t = stepTime(own.spec, own.model.arch, modelFacts(own.spec, own.model.arch), p5, GPU_MODELS.H100, 1, strategy(own.spec, { gpus: 1, gpusPerNode: 1 }))!
    expect(t.hfu).toBe(0.3)
    expect(UTILISATION.H100.basis).toBe('calibrated')
    expect(UTILISATION.L4.basis).toBe('heuristic')
  })
})

describe('the time model only ever slows down', () => {
  const offers = AWS_OFFERS.filter((o) => o.region === 'us-east-1' && o.gpuCount >= 1 && GPU_MODELS[o.gpu].denseTflops !== null)
  const specs = ['full', 'lora', 'qlora'].map((m) => load(`model: meta-llama/Meta-Llama-3-8B\nmethod: ${m}\nseq_len: 2048\n`))
  // float sums in another order may differ in the last bit
  const notFaster = (slower: number, base: number) => expect(slower).toBeGreaterThanOrEqual(base * (1 - 1e-12))
  it('checkpointing, offload, one more node, and the same GPUs over more nodes each slow a step, never speed it up', () => {
    fc.assert(fc.property(
      fc.constantFrom(...offers), fc.constantFrom(...specs), fc.constantFrom(0, 1, 2, 3), fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.boolean(),
      (offer, l, zero, nodes, micro, accumulation, overlapComm) => {
        const facts = modelFacts(l.spec, l.model.arch)
        const perNode: number = offer.gpuCount
        const base0 = { ...strategyFromSpec(l.spec, l.model.arch, { gpus: perNode * nodes, zeroStage: zero as 0 | 1 | 2 | 3 }), gpusPerNode: perNode, microBatch: micro, accumulation }
        const base = { ...base0, zero: { ...base0.zero, overlapComm } }
        const step = (s: typeof base, n = nodes) => stepTime(l.spec, l.model.arch, facts, offer, GPU_MODELS[offer.gpu], n, s)!
        const t = step(base)
        notFaster(step({ ...base, gradientCheckpointing: true }).stepSeconds, t.stepSeconds)
        if (zero > 0) expect(step({ ...base, offload: 'optimizer' }).stepSeconds).toBeGreaterThan(t.stepSeconds)
        if (zero === 3) expect(step({ ...base, offload: 'optimizer+params' }).stepSeconds).toBeGreaterThan(step({ ...base, offload: 'optimizer' }).stepSeconds)
        // one more node without ZeRO: each GPU does the same work and the ring only grows (under ZeRO the
        // optimizer partition shrinks with more GPUs, a real speed-up of the optimizer sweep)
        if (zero === 0) notFaster(step({ ...base, gpus: perNode * (nodes + 1) }, nodes + 1).stepSeconds, t.stepSeconds)
        // the same GPUs spread over more nodes: the slower link can only bind more
        if (perNode % 2 === 0) notFaster(step({ ...base, gpusPerNode: perNode / 2 }, nodes * 2).stepSeconds, t.stepSeconds)
        // never faster than the compute alone, and MFU never above the utilisation
        notFaster(t.stepSeconds, t.computeSecondsPerStep)
        expect(t.mfu).toBeLessThanOrEqual(t.hfu + 1e-12)
      }))
  })
})

describe('job time', () => {
  it('is the tokens to train over the step time\'s tokens/s, the same function plan uses', () => {
    const spec = load('model: meta-llama/Meta-Llama-3-8B\nmethod: full\nseq_len: 2048\nbatch: { micro: 2, accumulation: 4 }\ntrain: { tokens: 1e8, epochs: 3 }\n')
    const facts = modelFacts(spec.spec, spec.model.arch)
    const p5 = AWS_OFFERS.find((o) => o.instanceType === 'p5.48xlarge' && o.region === 'us-east-1')!
    const s = { ...strategyFromSpec(spec.spec, spec.model.arch, { gpus: 8, zeroStage: 3 }), gpusPerNode: 8 }
    const j = jobTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, 1, s)!
    const t = stepTime(spec.spec, spec.model.arch, facts, p5, GPU_MODELS.H100, 1, s)!
    expect(j.tokens).toBe(3e8)
    expect(j.tokensPerSecond).toBe(t.tokensPerSecond)
    expect(j.hours).toBeCloseTo(3e8 / t.tokensPerSecond / 3600, 12)
  })
})

describe('small-batch GEMM efficiency (NVIDIA Matrix Multiplication Background guide)', () => {
  it('tile and wave quantization by hand', () => {
    // 2048 × 28672 on H100 with 128×256 tiles: 16 × 112 = 1792 tiles in ⌈1792/132⌉ = 14 waves of 132 → 1792/1848
    expect(quantizationEfficiency(2048, 28672, 132, [128, 256])).toBeCloseTo(1792 / 1848, 12)
    // a partial tile: 100 rows fill 100/128 of one tile, and 1 tile leaves 107 of A100's 108 SMs idle
    expect(quantizationEfficiency(100, 128, 108, [128, 128])).toBeCloseTo(100 / 128 / 108, 12)
  })
  it('Llama-3-8B at 2048 tokens on H100: every GEMM is a multiple of 128 tiles, so 128/132 = 97.0 %', () => {
    const l = load('model: meta-llama/Meta-Llama-3-8B\n')
    // q and o: 16 × 16 = 256 tiles (2 waves, 264 slots); k+v: 16 × 8 = 128 (1 wave); gate+up: 16 × 112 = 1792 (14
    // waves); down: 256: each is 128·k tiles in k·132 slots
    expect(smallBatchEfficiency(l.model.arch, 2048, 'H100')).toBeCloseTo(128 / 132, 12)
  })
  it('a routed expert sees tokens × top-k ÷ experts rows: Mixtral-8x7B at 2048 tokens gives each expert 512', () => {
    const l = load('model: mistralai/Mixtral-8x7B-v0.1\n')
    // One grouped GEMM for the 8 experts: gate+up 8 × 4 × 112 = 3584 tiles in 28 waves (3696 slots) = 0.970; down
    // 8 × 4 × 16 = 512 tiles in 4 waves (528) = 0.970. Attention: q and o 16 × 16 = 256 tiles in 2 waves = 0.970; k and
    // v together (N = 2 × 8 heads × 128 = 2048) 16 × 8 = 128 tiles in one wave = 0.970. So the layer is at 128/132.
    expect(groupedQuantizationEfficiency(512, 2 * 14336, 8, 132, [128, 256])).toBeCloseTo(3584 / 3696, 12)
    expect(groupedQuantizationEfficiency(512, 4096, 8, 132, [128, 256])).toBeCloseTo(512 / 528, 12)
    // FLOPs per token of each GEMM ∝ N·K: q 4096², k+v 2048·4096, o 4096², experts top-2 × 3 × 14336·4096
    const parts: [number, number][] = [[4096 * 4096, 256 / 264], [2048 * 4096, 128 / 132], [4096 * 4096, 256 / 264], [2 * 2 * 14336 * 4096, 3584 / 3696], [2 * 14336 * 4096, 512 / 528]]
    const flops = parts.reduce((s, [f]) => s + f, 0)
    expect(smallBatchEfficiency(l.model.arch, 2048, 'H100')).toBeCloseTo(flops / parts.reduce((s, [f, e]) => s + f / e, 0), 12)
    expect(smallBatchEfficiency(l.model.arch, 2048, 'H100')).toBeCloseTo(128 / 132, 12)
    expect(smallBatchEfficiency(l.model.arch, 2048, 'K80')).toBe(1)
  })
  it('Qwen3-30B-A3B at 2048 tokens: 128 experts of 128 rows each, which alone would fill 6 of 132 SMs, fill 6 waves together', () => {
    // gate+up N = 2 × 768: 6 tiles per expert, 768 in all, ⌈768 / 132⌉ = 6 waves = 0.970; one expert alone: 6 / 132
    expect(groupedQuantizationEfficiency(128, 1536, 128, 132, [128, 256])).toBeCloseTo(768 / 792, 12)
    expect(quantizationEfficiency(128, 1536, 132, [128, 256])).toBeCloseTo(6 / 132, 12)
  })
})
