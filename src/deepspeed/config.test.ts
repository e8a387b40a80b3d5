import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_OFFERS } from '../instances/aws.js'
import { defaultZeroSettings, type Strategy } from '../memory/strategy.js'
import { runPrecision } from '../planner/contract.js'
import { planFinetune } from '../planner/plan.js'
import { loadSpec } from '../spec/load.js'
import { OPTIM_DEFAULTS } from '../spec/normalize.js'
import type { Offload, ZeroStage } from '../spec/spec.js'
import { checkDsConfig } from './check.js'
import { dsConfigFor, dsConfigText, type DeepSpeedConfig } from './config.js'
import { dsInputForPlan } from './for-plan.js'
import { launchFolderFor } from './launch-folder.js'

const llama = loadSpec('model: meta-llama/Llama-2-7b-hf\nmethod: full\nseq_len: 2048\n', 'spec.yaml', memorySources())
const strategy = (zeroStage: ZeroStage, offload: Offload, extra: Partial<Strategy> = {}): Strategy => ({
  gpus: 16, gpusPerNode: 8, zeroStage, offload, offloadDevice: 'cpu', gradientCheckpointing: true, microBatch: 2, accumulation: 4,
  zero: defaultZeroSettings(llama.model.arch, zeroStage), ...extra,
})
const base = { optim: OPTIM_DEFAULTS.optim, scheduler: OPTIM_DEFAULTS.scheduler, totalSteps: null }
const config = (s: Strategy, style: 'hf' | 'deepspeed' = 'deepspeed', precision: 'bf16' | 'fp16' = 'bf16') => dsConfigFor({ ...base, strategy: s, arch: llama.model.arch, precision, optimizer: 'adamw', style })

describe("explicit configs, field by field, against DeepSpeed's documentation (config-json.md)", () => {
  it('batch: train_batch_size = micro × accumulation × world size', () => {
    const c = config(strategy(2, 'none'))
    expect([c.train_batch_size, c.train_micro_batch_size_per_gpu, c.gradient_accumulation_steps]).toEqual([2 * 4 * 16, 2, 4])
  })
  it('ZeRO-1/2: bucket sizes (h² = 16,777,216 for h = 4096), no stage-3 keys, no offload_param', () => {
    const z = config(strategy(2, 'none')).zero_optimization
    expect(z).toEqual({ stage: 2, allgather_partitions: true, allgather_bucket_size: 16_777_216, overlap_comm: false, reduce_scatter: true, reduce_bucket_size: 16_777_216, contiguous_gradients: true, round_robin_gradients: false })
  })
  it('ZeRO-2 optimizer offload to CPU: offload_optimizer {device cpu, pin_memory}, round-robin gradients, DeepSpeed\'s CPU optimizer', () => {
    const c = config(strategy(2, 'optimizer'))
    expect(c.zero_optimization.offload_optimizer).toEqual({ device: 'cpu', pin_memory: true })
    expect(c.zero_optimization.round_robin_gradients).toBe(true)
    expect(c.optimizer?.type).toBe('AdamW')
    expect(c.aio).toBeUndefined()
  })
  it('ZeRO-3: the stage-3 knobs (HF auto values, integers), sub_group_size, 16-bit weights gathered on save', () => {
    const z = config(strategy(3, 'none')).zero_optimization
    expect(z).toEqual({
      stage: 3, overlap_comm: true, contiguous_gradients: true, sub_group_size: 1e9, reduce_bucket_size: 16_777_216,
      stage3_prefetch_bucket_size: 15_099_494, stage3_param_persistence_threshold: 40_960, stage3_max_live_parameters: 1e9,
      stage3_max_reuse_distance: 1e9, stage3_gather_16bit_weights_on_model_save: true,
    })
  })
  it('ZeRO-3 optimizer and parameter offload to NVMe: nvme_path on the DLAMI mount, a parameter buffer that holds the largest partition, aio under its current key names', () => {
    const c = config(strategy(3, 'optimizer+params', { offloadDevice: 'nvme' }))
    expect(c.zero_optimization.offload_optimizer).toEqual({ device: 'nvme', nvme_path: '/opt/dlami/nvme', pin_memory: true })
    // Llama-2-7B's largest tensor is the 32000 × 4096 embedding; its partition over 16 GPUs is 8,192,000 elements,
    // under DeepSpeed's default 1e8, so the buffer stays 1e8 (offload_config.py:36).
    expect(c.zero_optimization.offload_param).toEqual({ device: 'nvme', nvme_path: '/opt/dlami/nvme', pin_memory: true, buffer_count: 5, buffer_size: 100_000_000 })
    // runtime/swap_tensor/constants.py:8-30: intra_op_parallelism (thread_count is gone, DeepSpeed #7056).
    expect(c.aio).toEqual({ block_size: 1_048_576, queue_depth: 8, intra_op_parallelism: 1, single_submit: false, overlap_events: true, use_gds: false })
  })
  it('NVMe parameter buffers hold the largest partition: Llama-3.1-70B on 8 GPUs needs 131,334,144 elements', () => {
    const l70 = loadSpec('model: meta-llama/Llama-3.1-70B\nmethod: full\n', 'spec.yaml', memorySources())
    const s: Strategy = { ...strategy(3, 'optimizer+params', { offloadDevice: 'nvme' }), gpus: 8, zero: defaultZeroSettings(l70.model.arch, 3) }
    const c = dsConfigFor({ ...base, strategy: s, arch: l70.model.arch, precision: 'bf16', optimizer: 'adamw', style: 'deepspeed' })
    // 128256 × 8192 = 1,050,673,152 elements ÷ 8 = 131,334,144 > 1e8 (partitioned_param_swapper.py:357)
    expect(c.zero_optimization.offload_param?.buffer_size).toBe(131_334_144)
  })
  it('NVMe at ZeRO 1–2 is written as CPU offload, which is how DeepSpeed runs it (stage_1_and_2.py:186)', () => {
    const c = config(strategy(2, 'optimizer', { offloadDevice: 'nvme' }))
    expect(c.zero_optimization.offload_optimizer).toEqual({ device: 'cpu', pin_memory: true })
    expect(c.aio).toBeUndefined()
  })
  it('optimizer and scheduler from the spec: lr, betas, eps, weight decay; cosine as WarmupCosineLR over the run\'s steps', () => {
    const optim = { lr: 2e-5, betas: [0.9, 0.95] as const, eps: 1e-6, weightDecay: 0.1, maxGradNorm: 0.5 }
    const c = dsConfigFor({ strategy: strategy(2, 'none'), arch: llama.model.arch, precision: 'bf16', optimizer: 'adamw', style: 'deepspeed', optim, scheduler: { type: 'cosine', warmupRatio: 0.1, warmupSteps: 0 }, totalSteps: 1000 })
    expect(c.gradient_clipping).toBe(0.5)
    expect(c.optimizer).toEqual({ type: 'AdamW', params: { lr: 2e-5, betas: [0.9, 0.95], eps: 1e-6, weight_decay: 0.1 } })
    // HF get_warmup_steps: ceil(1000 × 0.1) = 100; cos_min_ratio 0 decays to zero as HF's cosine does.
    expect(c.scheduler).toEqual({ type: 'WarmupCosineLR', params: { total_num_steps: 1000, warmup_min_ratio: 0, warmup_num_steps: 100, cos_min_ratio: 0, warmup_type: 'linear' } })
    const lin = dsConfigFor({ strategy: strategy(2, 'none'), arch: llama.model.arch, precision: 'bf16', optimizer: 'lion', style: 'deepspeed', optim, scheduler: { type: 'linear', warmupRatio: 0, warmupSteps: 0 }, totalSteps: 50 })
    expect(lin.optimizer).toEqual({ type: 'Lion', params: { lr: 2e-5, betas: [0.9, 0.95], weight_decay: 0.1 } })
    // WarmupLR refuses warmup_num_steps 0 (lr_schedules.py:708): one step.
    expect(lin.scheduler).toEqual({ type: 'WarmupDecayLR', params: { total_num_steps: 50, warmup_min_lr: 0, warmup_max_lr: 2e-5, warmup_num_steps: 1, warmup_type: 'linear' } })
  })
  it('under offload every optimizer but Lion runs as DeepSpeed\'s CPU Adam: the config says AdamW', () => {
    for (const optimizer of ['adamw_8bit', 'paged_adamw', 'adafactor', 'sgd'] as const) {
      expect(dsConfigFor({ ...base, strategy: strategy(2, 'optimizer'), arch: llama.model.arch, precision: 'bf16', optimizer, style: 'deepspeed' }).optimizer?.type).toBe('AdamW')
      // without offload DeepSpeed cannot build them: no block, the trainer builds its own
      expect(dsConfigFor({ ...base, strategy: strategy(2, 'none'), arch: llama.model.arch, precision: 'bf16', optimizer, style: 'deepspeed' }).optimizer).toBeUndefined()
    }
  })
  it('fp16 on GPUs without bf16: dynamic loss scaling (loss_scale 0), bf16 off', () => {
    const c = config(strategy(2, 'none'), 'deepspeed', 'fp16')
    expect(c.fp16).toEqual({ enabled: true, loss_scale: 0, loss_scale_window: 1000, initial_scale_power: 16, hysteresis: 2, min_loss_scale: 1 })
    expect(c.bf16).toEqual({ enabled: false })
  })
  it('the same plan gives byte-identical text, with a trailing newline', () => {
    const a = dsConfigText(config(strategy(3, 'optimizer')))
    expect(dsConfigText(config(strategy(3, 'optimizer')))).toBe(a)
    expect(a.endsWith('}\n')).toBe(true)
  })
})

describe("hf style against LLaMA-Factory's ds_z*_config.json: the same keys, \"auto\" in the same places", () => {
  const shape = (x: unknown, prefix = ''): string[] =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? Object.entries(x).flatMap(([k, v]) => shape(v, `${prefix}${k}.`))
      : [`${prefix.slice(0, -1)}${x === 'auto' ? '=auto' : ''}`]
  const lf = (name: string) => JSON.parse(readFileSync(new URL(`../../test/fixtures/llamafactory-ds/${name}`, import.meta.url), 'utf8')) as DeepSpeedConfig
  // Under offload ftplan also names DeepSpeed's CPU optimizer, its params "auto" (HF fills them), where
  // LLaMA-Factory relies on accelerate swapping DeepSpeedCPUAdam in with lr and weight decay only.
  const offloadOptimizer = ['optimizer.type', 'optimizer.params.lr=auto', 'optimizer.params.betas=auto', 'optimizer.params.eps=auto', 'optimizer.params.weight_decay=auto']
  it.each([
    ['ds_z0_config.json', 0, 'none'],
    ['ds_z2_config.json', 2, 'none'],
    ['ds_z2_offload_config.json', 2, 'optimizer'],
    ['ds_z3_config.json', 3, 'none'],
    ['ds_z3_offload_config.json', 3, 'optimizer+params'],
  ] as const)('%s', (name, stage, offload) => {
    const ours = config(strategy(stage, offload), 'hf')
    expect(shape(ours).sort()).toEqual([...shape(lf(name)), ...(offload === 'none' ? [] : offloadOptimizer)].sort())
  })
})

describe('generated configs pass ftplan\'s own checker, for random plans (property test)', () => {
  it('every config, both styles, checks clean against the plan\'s own hardware and run, and gives back the estimate the plan used', () => {
    fc.assert(fc.property(
      fc.constantFrom('HuggingFaceTB/SmolLM2-360M', 'meta-llama/Llama-3.2-1B', 'Qwen/Qwen2.5-1.5B', 'meta-llama/Llama-2-7b-hf', 'Qwen/Qwen3-30B-A3B'),
      fc.constantFrom('full', 'lora', 'qlora'), fc.constantFrom(512, 2048), fc.constantFrom('auto', '1', '2', '3'), fc.constantFrom('auto', 'true'),
      fc.constantFrom('cpu', 'nvme'), fc.constantFrom('adamw', 'adamw_8bit', 'lion', 'sgd'), fc.boolean(),
      fc.uniqueArray(fc.integer({ min: 0, max: AWS_OFFERS.length - 1 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 3 }),
      (model, method, seq, zero, gc, device, optimizer, train, idx, maxNodes) => {
        const l = loadSpec([
          `model: ${model}`, `method: ${method}`, `seq_len: ${seq}`, `deepspeed: { zero: ${zero}, offload_device: ${device} }`, `gradient_checkpointing: ${gc}`,
          `optimizer: { type: ${optimizer}, lr: 2.0e-5 }`, 'scheduler: { type: cosine, warmup_ratio: 0.05 }', 'batch: { micro: 2, accumulation: 4 }', 'gpus: 8',
          `constraints: { max_nodes: ${maxNodes} }`, ...(train ? ['train: { tokens: 5e7 }'] : []),
        ].join('\n'), 'spec.yaml', memorySources())
        const r = planFinetune({ spec: l.spec, arch: l.model.arch, catalog: { offers: idx.map((i) => AWS_OFFERS[i]!), source: 't', asOf: 't' }, batch: 'global' })
        if (r.status !== 'fit') return
        const p = r.plan
        const hw = { gpus: p.strategy.gpus, gpusPerNode: p.offer.gpuCount, gpuMemoryBytes: p.offer.gpuMemoryMiB * 2 ** 20, hostMemoryBytes: p.offer.hostMemoryGiB * 2 ** 30 }
        const precision = runPrecision(l.spec, p) === 'fp16' ? 'fp16' as const : 'bf16' as const
        const run = { microBatch: p.strategy.microBatch, accumulation: p.strategy.accumulation, precision, gradientCheckpointing: p.strategy.gradientCheckpointing }
        for (const style of ['deepspeed', 'hf'] as const) {
          const c = dsConfigFor(dsInputForPlan(l, p, style))
          // DeepSpeed's runner splits every .deepspeed_env line at '=' (launcher/runner.py:620-623)
          const env = launchFolderFor(l, p, style, null).files['.deepspeed_env'] ?? ''
          for (const line of env.match(/[^\n]*\n|[^\n]+$/g) ?? []) expect(line).toMatch(/^[A-Z_][A-Z0-9_]*=\S+\n$/)
          const checked = checkDsConfig(dsConfigText(c), 'ds_config.json', l.spec, l.model.arch, hw, run)
          // DeepSpeed accepts it without a single warning, and reads back the strategy (so the estimate) the plan used.
          expect(checked.findings).toEqual([])
          if (p.strategy.zeroStage === 0) {
            // A plan without ZeRO launches without the config (launch-folder.ts); the config itself, if used, starts
            // DeepSpeed at stage 0, and check estimates that.
            expect(checked.strategy).toEqual({ ...p.strategy, deepspeedAtZero0: true })
            continue
          }
          expect(checked.strategy).toEqual(p.strategy)
          expect(checked.estimate!.perGpu.totalBytes).toBe(p.estimate.perGpu.totalBytes)
          expect(checked.fits).toBe(true)
        }
      }), { numRuns: 120 })
  }, 60_000)
})
