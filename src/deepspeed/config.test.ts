import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_OFFERS } from '../instances/aws.js'
import { defaultZeroSettings, type Strategy } from '../memory/strategy.js'
import { runPrecision } from '../planner/contract.js'
import { planFinetune } from '../planner/plan.js'
import { loadSpec } from '../spec/load.js'
import type { Offload, ZeroStage } from '../spec/spec.js'
import { checkDsConfig } from './check.js'
import { dsConfigFor, dsConfigText, type DeepSpeedConfig } from './config.js'

const llama = loadSpec('model: meta-llama/Llama-2-7b-hf\nmethod: full\nseq_len: 2048\n', 'spec.yaml', memorySources())
const strategy = (zeroStage: ZeroStage, offload: Offload, extra: Partial<Strategy> = {}): Strategy => ({
  gpus: 16, gpusPerNode: 8, zeroStage, offload, offloadDevice: 'cpu', gradientCheckpointing: true, microBatch: 2, accumulation: 4,
  zero: defaultZeroSettings(llama.model.arch, zeroStage), ...extra,
})
const config = (s: Strategy, style: 'hf' | 'deepspeed' = 'deepspeed', precision: 'bf16' | 'fp16' = 'bf16') => dsConfigFor({ strategy: s, arch: llama.model.arch, precision, optimizer: 'adamw', style })

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
  it('ZeRO-3 optimizer and parameter offload to NVMe: nvme_path on the DLAMI mount, and the aio block', () => {
    const c = config(strategy(3, 'optimizer+params', { offloadDevice: 'nvme' }))
    expect(c.zero_optimization.offload_optimizer).toEqual({ device: 'nvme', nvme_path: '/opt/dlami/nvme', pin_memory: true })
    expect(c.zero_optimization.offload_param).toEqual({ device: 'nvme', nvme_path: '/opt/dlami/nvme', pin_memory: true })
    expect(c.aio).toEqual({ block_size: 1_048_576, queue_depth: 8, thread_count: 1, single_submit: false, overlap_events: true })
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
  it.each([
    ['ds_z0_config.json', 0, 'none'],
    ['ds_z2_config.json', 2, 'none'],
    ['ds_z2_offload_config.json', 2, 'optimizer'],
    ['ds_z3_config.json', 3, 'none'],
    ['ds_z3_offload_config.json', 3, 'optimizer+params'],
  ] as const)('%s', (name, stage, offload) => {
    const ours = config(strategy(stage, offload), 'hf')
    expect(shape(ours).sort()).toEqual(shape(lf(name)).sort())
  })
})

describe('generated configs pass ftplan\'s own checker, for random plans (property test)', () => {
  it('every config checks clean, keeps the batch identity, and gives back the estimate the plan used', () => {
    fc.assert(fc.property(
      fc.constantFrom('HuggingFaceTB/SmolLM2-360M', 'meta-llama/Llama-3.2-1B', 'Qwen/Qwen2.5-1.5B', 'meta-llama/Llama-2-7b-hf'),
      fc.constantFrom('full', 'lora', 'qlora'), fc.constantFrom(512, 2048), fc.constantFrom('auto', '1', '2', '3'),
      fc.uniqueArray(fc.integer({ min: 0, max: AWS_OFFERS.length - 1 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 3 }),
      (model, method, seq, zero, idx, maxNodes) => {
        const l = loadSpec(`model: ${model}\nmethod: ${method}\nseq_len: ${seq}\ndeepspeed: { zero: ${zero} }\nbatch: { micro: 2, accumulation: 4 }\ngpus: 8\nconstraints: { max_nodes: ${maxNodes} }\n`, 'spec.yaml', memorySources())
        const r = planFinetune({ spec: l.spec, arch: l.model.arch, catalog: { offers: idx.map((i) => AWS_OFFERS[i]!), source: 't', asOf: 't' }, batchFixed: true })
        if (r.status !== 'fit') return
        const p = r.plan
        const precision = runPrecision(l.spec, p) === 'fp16' ? 'fp16' : 'bf16'
        const c = dsConfigFor({ strategy: p.strategy, arch: l.model.arch, precision, optimizer: l.spec.optimizer, style: 'deepspeed' })
        expect(c.train_batch_size).toBe((c.train_micro_batch_size_per_gpu as number) * (c.gradient_accumulation_steps as number) * p.strategy.gpus)
        const spec = { ...l.spec, gradientCheckpointing: p.strategy.gradientCheckpointing }
        const checked = checkDsConfig(dsConfigText(c), 'ds_config.json', spec, l.model.arch, { gpus: p.strategy.gpus, gpusPerNode: p.offer.gpuCount, gpuMemoryBytes: p.offer.gpuMemoryMiB * 2 ** 20, hostMemoryBytes: p.offer.hostMemoryGiB * 2 ** 30 })
        // One source of truth: the config read back gives the strategy, and so the estimate, the plan used.
        expect(checked.strategy).toEqual(p.strategy)
        expect(checked.estimate.perGpu.totalBytes).toBe(p.estimate.perGpu.totalBytes)
        expect(checked.fits).toBe(true)
        const hf = dsConfigFor({ strategy: p.strategy, arch: l.model.arch, precision, optimizer: l.spec.optimizer, style: 'hf' })
        expect(() => checkDsConfig(dsConfigText(hf), 'ds_config.json', spec, l.model.arch, { gpus: p.strategy.gpus, gpusPerNode: p.offer.gpuCount, gpuMemoryBytes: null, hostMemoryBytes: null })).not.toThrow()
      }), { numRuns: 120 })
  }, 60_000)
})
