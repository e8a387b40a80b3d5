import { describe, expect, it } from 'vitest'
import { runCli } from '../../test/helpers/run-cli.js'

const run = runCli

describe('ftplan estimate', () => {
  it('--json prints exactly the estimate contract', async () => {
    const r = await run('estimate', 'stacks/Pulumi.example.yaml', '--json')
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout) as Record<string, any>
    expect(Object.keys(json)).toEqual(['version', 'model', 'gpus', 'zeroStage', 'offload', 'gradientCheckpointing', 'perGpu', 'perNode', 'assumptions'])
    expect(Object.keys(json['perGpu']['breakdown'])).toEqual(['weights', 'gradients', 'optimizerStates', 'activations', 'logits', 'zeroBuffers', 'cudaContext', 'allocatorOverhead'])
    expect(json['model']).toEqual({ name: 'meta-llama/Llama-3.1-8B', params: 8_030_261_248, trainableParams: 41_943_040 })
    const b = json['perGpu']['breakdown']
    // The breakdown is the peak phase's terms: they add up to the peak, then the reserve and the context.
    expect(b.weights + b.gradients + b.optimizerStates + b.activations + b.logits + b.zeroBuffers).toBe(json['perGpu']['peakAllocatedBytes'])
    expect(json['perGpu']['peakAllocatedBytes'] + b.allocatorOverhead).toBe(json['perGpu']['peakReservedBytes'])
    expect(json['perGpu']['peakReservedBytes'] + b.cudaContext).toBe(json['perGpu']['totalBytes'])
    for (const v of Object.values(b)) expect(Number.isInteger(v)).toBe(true)
  })

  it('the human view: a tree with GB and GiB, the peak phase, the fit table, CPU RAM and assumptions', async () => {
    const r = await run('estimate', 'stacks/Pulumi.example.yaml', '--gpus', '8', '--zero', '3', '--gpu-memory-gb', '94')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Memory per GPU, peak in the (forward|backward|optimizer step) phase\s+GB\s+GiB$/m)
    expect(r.stdout).toMatch(/^├─ weights\s+[█░]{24}\s+\d+\.\d\d\s+\d+\.\d\d /m)
    expect(r.stdout).toMatch(/^└─ CUDA context/m)
    // the given size beside the GPUs as they show themselves: a T4 is 15360 MiB × 0.99573 = 16.04 GB, not 16
    expect(r.stdout).toMatch(/^ {2}94 GB +94\.00 GB {2}(yes|no )/m)
    expect(r.stdout).toMatch(/^ {2}T4 +16\.04 GB {2}(yes|no )/m)
    expect(r.stdout).toContain('8 GPUs, DeepSpeed ZeRO-3')
    expect(r.stdout).toContain('Assumptions:')
  })

  it('--compare shows the seed rule and DeepSpeed\'s estimator; --rule seed alone', async () => {
    const c = await run('estimate', 'stacks/Pulumi.example.yaml', '--compare')
    expect(c.stdout).toContain('seed rule of thumb')
    expect(c.stdout).toContain('DeepSpeed estimate_zero2_model_states_mem_needs')
    const seed = await run('estimate', 'stacks/Pulumi.example.yaml', '--rule', 'seed')
    // Llama-3.1-8B LoRA bf16: 80.3 GB × 0.4 × 0.5 × 1.2 = 19.27 GB
    expect(seed.stdout).toBe('Seed rule of thumb: 80.3 GB base (10 GB per billion parameters) × 0.4 method × 0.5 precision × 1.2 = 19.3 GB\n')
  })

  it('--gpu adds the time section: step time, tokens/s in total and per GPU, MFU, job hours', async () => {
    const r = await run('estimate', 'stacks/Pulumi.example.yaml', '--gpu', 'H100', '--gpus', '16', '--nodes', '2', '--zero', '3', '--json')
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(Object.keys(j)).toEqual(['version', 'model', 'gpus', 'zeroStage', 'offload', 'gradientCheckpointing', 'perGpu', 'perNode', 'time', 'assumptions'])
    const t = j['time']
    expect(t).toMatchObject({ gpu: 'H100', gpus: 16, nodes: 2 })
    // one optimizer step is micro 2 × accumulation 8 × 16 GPUs × 4096 tokens
    expect(t.stepSeconds * t.tokensPerSecond).toBeCloseTo(2 * 8 * 16 * 4096, 3)
    expect(t.tokensPerSecondPerGpu).toBeCloseTo(t.tokensPerSecond / 16, 9)
    // LoRA without checkpointing: model FLOPs = executed FLOPs, and p5's 3200 Gbps EFA hides the ZeRO-3 gathers
    // (per micro-step 4 × 8.03 GB ≈ 32 GB × 15/16 ÷ 400 GB/s = 0.075 s against ≈ 0.63 s of GEMMs: 8,192 tokens × (4N +
    // 12·32·4096·4096) = 298.7 TFLOP ÷ 474.96 TFLOPS, ÷ the tile efficiency). MFU is the H100's calibrated 48% times
    // that efficiency (between 128/132 and 1), times the GEMMs' share once the launch floor joins them (32 layers ×
    // 3 passes × 1.6 ms, combined as (g^1.5 + f^1.5)^(1/1.5)), less the optimizer sweep
    const g = 298.7e12 / (989.5e12 * 0.48)
    const f = 1.6e-3 * 96
    expect(t.mfu).toBeLessThan(0.48)
    expect(t.mfu).toBeGreaterThan(0.48 * (128 / 132) * (g / (g ** 1.5 + f ** 1.5) ** (1 / 1.5)) - 0.01)
    // example train: 50,000 samples × 1,800 tokens × 2 epochs
    expect(t.jobHours).toBeCloseTo((50_000 * 1800 * 2) / t.tokensPerSecond / 3600, 9)
    expect((await run('estimate', 'stacks/Pulumi.example.yaml', '--gpu', 'H100', '--gpus', '3', '--nodes', '2')).code).toBe(2)
    const human = await run('estimate', 'stacks/Pulumi.example.yaml', '--gpu', 'H100', '--gpus', '16', '--nodes', '2', '--zero', '3')
    const m = /^Time on 16 × H100 over 2 nodes: \d+\.\d\d s per step, [\d,]+ tokens\/s \([\d,]+ per GPU\), MFU \d+\.\d%, job (\d+\.\d\d) hours \(p10–p90 (\d+\.\d\d)–(\d+\.\d\d)\)$/m.exec(human.stdout)
    // the band: the job's hours × 0.73 and × 1.13 (time-band.ts, from the calibration residuals)
    expect(Number(m?.[2])).toBeCloseTo(Number(m?.[1]) * 0.73, 1)
    expect(Number(m?.[3])).toBeCloseTo(Number(m?.[1]) * 1.13, 1)
  })

  it('bad flags are usage errors (exit 2); a bad spec is a user error (exit 1)', async () => {
    expect((await run('estimate', 'stacks/Pulumi.example.yaml', '--zero', '4')).code).toBe(2)
    expect((await run('estimate', 'stacks/Pulumi.example.yaml', '--gpus', '0')).code).toBe(2)
    const offload = await run('estimate', 'stacks/Pulumi.example.yaml', '--offload', 'optimizer+params', '--zero', '2')
    expect(offload).toMatchObject({ code: 2, stderr: 'error: --offload optimizer+params needs ZeRO stage 3, but the stage is 2; add --zero 3\n' })
    const bad = await run('estimate', 'test/fixtures/specs/bad-types.yaml')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('bad-types.yaml:3:15')
  })
})
