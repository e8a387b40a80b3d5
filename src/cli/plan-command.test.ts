import { describe, expect, it } from 'vitest'
import { runCli } from '../../test/helpers/run-cli.js'

const run = runCli

describe('ftplan plan', () => {
  it('the example: chosen plan, alternatives, cheaper offers that do not fit, assumptions', async () => {
    const r = await run('plan', 'stacks/Pulumi.example.yaml')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Chosen: \d+ × \S+ in us-(east-1|west-2): /m)
    expect(r.stdout).toMatch(/^Memory per GPU: [█░]{30} \d+\.\d\d GB of \d+\.\d\d GB usable/m)
    expect(r.stdout).toMatch(/^Time: \d+\.\d\d hours \(\d+\.\d\d–\d+\.\d\d\) for 180M tokens \([\d,]+ tokens\/s, MFU \d+\.\d%; \d+% utilisation while computing\) · Job: \$\d+\.\d\d \(\$\d+\.\d\d–\$\d+\.\d\d\)$/m)
    expect(r.stdout).toContain('  ranges: p10–p90 of measured ÷ estimated time over 153 calibration runs (×0.73–×1.13)')
    expect(r.stdout).toContain('Next in rank:')
    expect(r.stdout).toContain('ranked by job cost')
    // 1 × p5.4xlarge and 1 × p5.48xlarge cost the same within the band; the rule takes one GPU and says so
    expect(r.stdout).toContain('Chosen: 1 × p5.4xlarge in us-east-1: 1 × H100')
    expect(r.stdout).toMatch(/^Chosen over the lowest job cost, #\d 1 × p5\.48xlarge \(8 × H100\) at \$\d+\.\d\d: .* the chosen plan needs 1 GPU against 8, easier to obtain; it takes \d+\.\d\d hours against \d+\.\d\d\. Rule: among plans that cost the same, the fewest GPUs, then the fewest nodes, then the soonest, then the cheapest\.$/m)
  })

  it('--json prints the plan contract', async () => {
    const r = await run('plan', 'stacks/Pulumi.example.yaml', '--json', '--top', '2')
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(Object.keys(j)).toEqual(['version', 'status', 'plan', 'alternatives', 'cheapest', 'rejected', 'catalog', 'assumptions', 'advice', 'constraintCost'])
    // the example limits nothing that a cheaper plan would need
    expect(j['constraintCost']).toEqual([])
    // the plan of the lowest job cost, which the tie rule passed over for fewer GPUs
    expect(j['cheapest']).toMatchObject({ instanceType: 'p5.48xlarge', nodes: 1, gpus: 8 })
    expect(j['cheapest'].jobCostUsd).toBeLessThanOrEqual(j['plan']['jobCostUsd'])
    expect(j['plan']['jobCostUsd']).toBeLessThanOrEqual(j['cheapest'].jobCostUsd * 1.13)
    expect(Object.keys(j['plan'])).toEqual(['provider', 'region', 'instanceType', 'nodes', 'gpusPerNode', 'gpu', 'gpuMemoryBytes', 'usableBytesPerGpu', 'strategy', 'memory', 'priceUsdPerHour', 'spotPriceUsdPerHour', 'jobHours', 'jobCostUsd', 'jobHoursRange', 'jobCostUsdRange'])
    // p10–p90: × 0.73 and × 1.13 (time-band.ts)
    expect(j['plan']['jobCostUsdRange'][0]).toBeCloseTo(j['plan']['jobCostUsd'] * 0.73, 9)
    expect(j['plan']['jobCostUsdRange'][1]).toBeCloseTo(j['plan']['jobCostUsd'] * 1.13, 9)
    expect(Object.keys(j['plan']['strategy'])).toEqual(['zeroStage', 'offload', 'gradientCheckpointing', 'microBatch', 'accumulation', 'precision'])
    expect(j['plan']['memory']['time']['gpu']).toBe(j['plan']['gpu'])
    expect(j['plan']['jobCostUsd']).toBeCloseTo(j['plan']['jobHours'] * j['plan']['priceUsdPerHour'], 9)
    expect(j['alternatives']).toHaveLength(2)
    expect(j['catalog']['asOf']).toBe('2026-07-20')
    // The spec's batch is per GPU (micro 1 × accumulation 16, as HF Trainer reads them): every GPU keeps 16 per step.
    const s = j['plan']['strategy']
    expect(s.microBatch * s.accumulation).toBe(16)
    // MFU counts model FLOPs only: Llama-3.1-8B LoRA at s = 4096 is 4N + 12·L·q_dim·s per token,
    // N = 8,030,261,248 − 128256·4096 (the input embedding); over the GPUs' 989.5 TFLOPS peak
    const t = j['plan']['memory']['time']
    const flops = 4 * (8_030_261_248 - 128256 * 4096) + 12 * 32 * 4096 * 4096
    expect(t.mfu).toBeCloseTo((t.tokensPerSecond * flops) / (t.gpus * 989.5e12), 12)
  })

  it('a user catalog: ftplan CSV and SkyPilot CSV', async () => {
    const own = await run('plan', 'stacks/Pulumi.example.yaml', '--catalog', 'test/fixtures/catalogs/ftplan-good.csv', '--json')
    expect(JSON.parse(own.stdout)['catalog']['source']).toBe('user catalog test/fixtures/catalogs/ftplan-good.csv')
    const sky = await run('instances', '--catalog', 'test/fixtures/catalogs/skypilot-vms.csv')
    expect(sky.stdout).toMatch(/p4de\.24xlarge\s+us-east-1\s+A100-80GB\s+8\s+81920/)
  })

  it('bad catalog rows: exit 1, file:line and the column', async () => {
    const r = await run('plan', 'stacks/Pulumi.example.yaml', '--catalog', 'test/fixtures/catalogs/ftplan-bad.csv')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('test/fixtures/catalogs/ftplan-bad.csv:2:4: column gpu: "NVIDIA L40" is not a GPU ftplan knows')
    expect(r.stderr).toContain('ftplan-bad.csv:3:5: column gpu_count: "eight" is not a decimal number > 0')
  })

  it('an empty catalog after filtering: exit 1 with what the catalog has', async () => {
    const r = await run('plan', 'test/fixtures/specs/eu-only.yaml', '--catalog', 'test/fixtures/catalogs/ftplan-good.csv')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('Nothing fits.')
    expect(r.stdout).toContain('no offer in the catalog matches the constraints (regions: eu-west-1; GPUs: H100); the catalog has regions us-east-1, eu-west-1 and GPUs L40S, H100, A10G')
  })

  it('constraints that exclude everything that fits: exit 1 and the way out', async () => {
    const r = await run('plan', 'test/fixtures/specs/eu-only.yaml')
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/the constraints \(regions, GPUs, spot, price caps\) exclude what fits: without them, 1 × \S+ /)
  })

  it('ftplan instances: the catalog with its source and date; an unknown region is exit 1', async () => {
    const r = await run('instances', '--region', 'us-west-2')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^prices as of 2026-07-20/m)
    expect(r.stdout).toMatch(/p5\.48xlarge\s+us-west-2\s+H100\s+8\s+81920\s+80\s+192\s+2048\s+30400\s+3200\s+32\s+\$55\.040\s+\$21\.718/)
    expect((await run('instances', '--region', 'mars-1')).code).toBe(1)
  })
})

describe('ftplan plan with the data size and constraints on the command line (issue #15)', () => {
  const LF = 'examples/llamafactory/llama3_lora_sft_ds3.yaml'
  it('a LLaMA-Factory YAML has no train section: ranked by hourly price, and the plan says so under the chosen line', async () => {
    const r = await run('plan', LF)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Chosen: .*\n {2}! ranked by hourly price: the spec says nothing of the data \(train: \{ tokens \} in the spec, or --tokens N\)/m)
  })
  it('--tokens ranks it by job cost; --gpus and --regions limit it; the flags are noted', async () => {
    const r = await run('plan', LF, '--tokens', '2e8', '--gpus', 'H100,L40S', '--regions', 'us-east-1', '--json')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.plan.jobCostUsd).toBeGreaterThan(0)
    expect(['H100', 'L40S']).toContain(j.plan.gpu)
    expect(j.plan.region).toBe('us-east-1')
    // 2e8 tokens at the plan's tokens/s
    expect(j.plan.jobHours).toBeCloseTo(2e8 / j.plan.memory.time.tokensPerSecond / 3600, 9)
    expect(j.assumptions.join('\n')).toContain('ranked by job cost')
  })
  it('bad flags are usage errors naming the flag and what is allowed', async () => {
    const gpu = await run('plan', LF, '--gpus', 'H10')
    expect(gpu.code).toBe(2)
    expect(gpu.stderr).toContain('"H10" is not a GPU ftplan knows')
    expect(gpu.stderr).toContain('did you mean H100?')
    expect((await run('plan', LF, '--tokens', '-5')).code).toBe(2)
    const epochs = await run('plan', LF, '--epochs', '2')
    expect(epochs.code).toBe(2)
    expect(epochs.stderr).toContain('--epochs goes with --tokens')
    const update = await run('plan', 'stacks/Pulumi.example.yaml', '--update', '--tokens', '1e8')
    expect(update.code).toBe(2)
    expect(update.stderr).toContain('put --tokens in its ftplan:spec instead')
  })
})
