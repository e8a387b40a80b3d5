import { describe, expect, it } from 'vitest'
import { deepSpeedZero2Estimate, deepSpeedZero3Estimate } from './deepspeed-estimator.js'
import { seedRuleEstimate } from './seed-rule.js'

// DeepSpeed prints value / 2**30 with two decimals and labels it "GB".
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2)

describe("DeepSpeed's published estimator outputs, reproduced exactly (memory-model §3.3)", () => {
  // HF docs/source/en/deepspeed.md: bigscience/T0_3B, 1 node × 1 GPU, "2783M total params, 65M largest layer".
  // T0_3B is T5 v1.1 XL (d_model 2048, d_ff 5120 gated, 24+24 layers, 32 heads × 64, vocab 32128), tied:
  // embedding 32128·2048 = 65,798,144 (the largest layer); encoder layer 4·2048² + 3·2048·5120 + 2·2048;
  // decoder layer 8·2048² + 3·2048·5120 + 3·2048; two final norms 2048 and two relative biases 32·32.
  const t0Total = 32128 * 2048 + 24 * (4 * 2048 ** 2 + 3 * 2048 * 5120 + 2 * 2048) + 24 * (8 * 2048 ** 2 + 3 * 2048 * 5120 + 3 * 2048) + 2 * 2048 + 2 * 1024
  const t0 = { total: t0Total, largest: 32128 * 2048 }
  it('T0_3B counts as the docs print them: 2783M total, 65M largest', () => {
    expect([Math.floor(t0.total / 1e6), Math.floor(t0.largest / 1e6)]).toEqual([2783, 65])
  })
  it.each([
    [true, true, true, '70.00', '0.25'],
    [true, true, false, '70.00', '0.25'],
    [true, false, true, '62.23', '5.43'],
    [true, false, false, '62.23', '5.43'],
    [false, false, true, '0.37', '46.91'],
    [false, false, false, '15.56', '46.91'],
  ])('T0_3B ZeRO-3 offload_optimizer=%s offload_param=%s zero_init=%s → %s | %s', (opt, param, init, cpu, gpu) => {
    const e = deepSpeedZero3Estimate(t0.total, t0.largest, 1, 1, opt, param, init)
    expect([gib(e.cpuBytes), gib(e.gpuBytes)]).toEqual([cpu, gpu])
  })

  // DeepSpeed docs/code-docs/source/memory.rst: t5-3b, 1 node × 8 GPUs, "2851M total params, 32M largest layer".
  // t5-3b: d_model 1024, d_ff 16384 (ReLU, 2 matrices), 24+24 layers, 32 heads × 128, vocab 32128, tied.
  const t5Total = 32128 * 1024 + 24 * (4 * 1024 * 4096 + 2 * 1024 * 16384 + 2 * 1024) + 24 * (8 * 1024 * 4096 + 2 * 1024 * 16384 + 3 * 1024) + 2 * 1024 + 2 * 1024
  const t5 = { total: t5Total, largest: 32128 * 1024 }
  it('t5-3b counts: 2851M total, 32M largest', () => {
    expect([Math.floor(t5.total / 1e6), Math.floor(t5.largest / 1e6)]).toEqual([2851, 32])
  })
  it.each([
    [true, true, true, '71.71', '0.12'],
    [true, true, false, '127.48', '0.12'],
    [true, false, true, '63.74', '0.79'],
    [true, false, false, '127.48', '0.79'],
    [false, false, true, '1.47', '6.10'],
    [false, false, false, '127.48', '6.10'],
  ])('t5-3b ZeRO-3 offload_optimizer=%s offload_param=%s zero_init=%s → %s | %s', (opt, param, init, cpu, gpu) => {
    const e = deepSpeedZero3Estimate(t5.total, t5.largest, 8, 1, opt, param, init)
    expect([gib(e.cpuBytes), gib(e.gpuBytes)]).toEqual([cpu, gpu])
  })

  // Without offload the current code (PR #5099) gives 2P + 18P/8 = 11.287 GiB, which DeepSpeed's `:6.2f` prints as
  // 11.29 (memory-model §3.3 quotes 11.28); the docs' 15.93 is the formula from before June 2024.
  it('t5-3b ZeRO-2: 127.48 | 5.31 with offload; 11.29 GiB without', () => {
    expect([gib(deepSpeedZero2Estimate(t5.total, 8, 1, true).cpuBytes), gib(deepSpeedZero2Estimate(t5.total, 8, 1, true).gpuBytes)]).toEqual(['127.48', '5.31'])
    expect(gib(deepSpeedZero2Estimate(t5.total, 8, 1, false).gpuBytes)).toBe('11.29')
  })

  it('t5-large worked example (4 GPUs): largest layer 32.90M → 125 MB; 3291 / 125 / 477 MB for cases 1–3', () => {
    const mib = (b: number) => Math.floor(b / 2 ** 20) // memory.rst prints whole MiB, truncated
    // t5-large: d_model 1024, d_ff 4096, 24+24 layers, 16 heads × 64, vocab 32128, tied; relative biases 16·32.
    const total = 32128 * 1024 + 24 * (4 * 1024 ** 2 + 2 * 1024 * 4096 + 2 * 1024) + 24 * (8 * 1024 ** 2 + 2 * 1024 * 4096 + 3 * 1024) + 2 * 1024 + 2 * 512
    const largest = 32128 * 1024
    expect((total / 1e6).toFixed(2)).toBe('737.67')
    expect((largest / 1e6).toFixed(2)).toBe('32.90')
    expect(mib(deepSpeedZero3Estimate(total, largest, 4, 1, false, false).gpuBytes)).toBe(3291)
    expect(mib(deepSpeedZero3Estimate(total, largest, 4, 1, true, true).gpuBytes)).toBe(125)
    expect(mib(deepSpeedZero3Estimate(total, largest, 4, 1, true, false).gpuBytes)).toBe(477)
  })

  it('Llama-2-7B on 1 × 8 GPUs (memory-model §3.4): ZeRO-2 26.67 GiB, ZeRO-3 14.61 GiB', () => {
    expect(gib(deepSpeedZero2Estimate(6_738_415_616, 8, 1, false).gpuBytes)).toBe('26.67')
    expect(gib(deepSpeedZero3Estimate(6_738_415_616, 131_072_000, 8, 1, false, false).gpuBytes)).toBe('14.61')
  })
})

describe("the seed article's rule of thumb", () => {
  it('reproduces its worked example: 32B full bf16 → 320 × 1.0 × 0.5 × 1.2 = 192 GB', () => {
    expect(seedRuleEstimate({ method: 'full', precision: 'bf16' }, 32e9)).toEqual({ baseGb: 320, methodFactor: 1, precisionFactor: 0.5, margin: 0.2, totalGb: 192 })
  })
  it('7B LoRA bf16 → 70 × 0.4 × 0.5 × 1.2 = 16.8 GB; 72B QLoRA → 720 × 0.2 × 0.5 × 1.2 = 86.4 GB', () => {
    expect(seedRuleEstimate({ method: 'lora', precision: 'bf16' }, 7e9).totalGb).toBeCloseTo(16.8, 10)
    expect(seedRuleEstimate({ method: 'qlora', precision: 'bf16' }, 72e9).totalGb).toBeCloseTo(86.4, 10)
  })
})
