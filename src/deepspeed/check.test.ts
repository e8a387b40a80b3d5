import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { SpecError } from '../errors.js'
import { loadSpec } from '../spec/load.js'
import { checkDsConfig, type CheckHardware, type CheckResult } from './check.js'

// Every verdict below is DeepSpeed's own, read in deepspeedai/DeepSpeed@edaa7221 (v0.19.5+): the file:line in
// each row is where DeepSpeed raises (error) or ignores / remaps the value (warning).
const spec = loadSpec(readFileSync(new URL('../../test/fixtures/specs/llama2-7b-full.yaml', import.meta.url), 'utf8'), 'spec.yaml', memorySources())
const llama70 = loadSpec('model: meta-llama/Llama-3.1-70B\nmethod: full\ngradient_checkpointing: true\n', 'spec70.yaml', memorySources())
const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/ds/${name}`, import.meta.url), 'utf8')
const eight: CheckHardware = { gpus: 8, gpusPerNode: 8, gpuMemoryBytes: 80e9, hostMemoryBytes: null }
const check = (json: unknown, s = spec, hw = eight): CheckResult => checkDsConfig(typeof json === 'string' ? json : JSON.stringify(json, null, 2), 'ds.json', s.spec, s.model.arch, hw)
const verdicts = (r: CheckResult) => r.findings.map((f) => [f.verdict, f.path])
const base = { train_micro_batch_size_per_gpu: 1, gradient_accumulation_steps: 1, bf16: { enabled: true } }
const zero = (z: Record<string, unknown>) => ({ ...base, zero_optimization: z })

describe("ftplan check gives DeepSpeed's verdict, class by class", () => {
  it.each<[string, unknown, [string, string][], string]>([
    // Top-level keys DeepSpeed does not know are never read (runtime/config.py:796-923), so a comment key is harmless.
    ['a comment key', { _comment: 'hi', ...zero({ stage: 2 }) }, [['warning', '_comment']], 'runtime/config.py:796-923'],
    ['keys DeepSpeed does not read (LLaMA-Factory\'s fp8 config)', { ...zero({ stage: 2 }), comms_config: { verbose: false }, monitor_config: { enabled: true } }, [['warning', 'comms_config'], ['warning', 'monitor_config']], 'runtime/config.py'],
    // precision_config.py:34-38: bfloat16 is read when bf16 is absent.
    ['the legacy bfloat16 section', { train_micro_batch_size_per_gpu: 1, bfloat16: { enabled: true }, zero_optimization: { stage: 2 } }, [['warning', 'bfloat16']], 'precision_config.py:34-38'],
    // zero/config.py:258 (alias of module_granularity_threshold) and precision_config.py:63: real fields.
    ['stage3_module_granularity_threshold', zero({ stage: 3, stage3_module_granularity_threshold: 100 }), [], ''],
    ['bf16_master_weights_and_grads at stage 2', { ...zero({ stage: 2 }), bf16: { enabled: true, bf16_master_weights_and_grads: true } }, [], ''],
    ['bf16_master_weights_and_grads at stage 0', { ...zero({ stage: 0 }), bf16: { enabled: true, bf16_master_weights_and_grads: true } }, [['error', 'bf16.bf16_master_weights_and_grads']], 'runtime/config.py:1041-1044'],
    // pydantic lax mode coerces a numeric string to int.
    ['a numeric string for an integer', zero({ stage: 2, reduce_bucket_size: '500000000' }), [['warning', 'zero_optimization.reduce_bucket_size']], 'pydantic lax mode'],
    ['an integral float (5e8) for an integer', zero({ stage: 2, reduce_bucket_size: 5e8 }), [], ''],
    ['a fractional number for an integer', zero({ stage: 3, stage3_prefetch_bucket_size: 15099494.4 }), [['error', 'zero_optimization.stage3_prefetch_bucket_size']], 'runtime/zero/config.py:215'],
    // json.load reads 1e308 as a float; past 2^53 no JSON number is the count it claims (issue #16: it gave "Infinity GB").
    ['a count beyond 2^53 (1e308)', { ...base, train_micro_batch_size_per_gpu: 1e308, zero_optimization: { stage: 2 } }, [['error', 'train_micro_batch_size_per_gpu']], 'runtime/config.py:796-856'],
    // engine.py:2382-2425: stages 1-2 never see offload_param.
    ['offload_param at stage 2', zero({ stage: 2, offload_param: { device: 'cpu' } }), [['warning', 'zero_optimization.offload_param']], 'runtime/engine.py:2382-2425'],
    // offload_config.py:55: the optimizer model has no max_in_cpu (only the parameter one has, :39), extra="forbid".
    ['max_in_cpu in offload_optimizer', zero({ stage: 3, offload_optimizer: { device: 'cpu', max_in_cpu: 1e9 } }), [['error', 'zero_optimization.offload_optimizer.max_in_cpu']], 'offload_config.py:55'],
    ['max_in_cpu in offload_param', zero({ stage: 3, offload_optimizer: { device: 'cpu' }, offload_param: { device: 'cpu', max_in_cpu: 1e9 } }), [], ''],
    ['a misspelt key inside zero_optimization', zero({ stage: 3, stage3_prefetch_bucket: 5e7 }), [['error', 'zero_optimization.stage3_prefetch_bucket']], 'runtime/config_utils.py:107'],
    // zero/config.py:202-213: cpu_offload is read as offload_optimizer {device: cpu}.
    ['the deprecated cpu_offload', zero({ stage: 2, cpu_offload: true }), [['warning', 'zero_optimization.cpu_offload']], 'runtime/zero/config.py:202'],
    ['cpu_offload beside offload_optimizer', zero({ stage: 2, cpu_offload: true, offload_optimizer: { device: 'cpu' } }), [['error', 'zero_optimization.cpu_offload']], 'runtime/config_utils.py:88-90'],
    ['zero_optimization as a boolean', { ...base, zero_optimization: true }, [['warning', 'zero_optimization']], 'runtime/zero/config.py:60-75'],
    ['legacy_stage1', zero({ stage: 1, legacy_stage1: true }), [['error', 'zero_optimization.legacy_stage1']], 'runtime/engine.py:2377-2380'],
    ['fp16 and bf16 together', { ...zero({ stage: 2 }), fp16: { enabled: true }, bf16: { enabled: true } }, [['error', 'fp16.enabled']], 'runtime/config.py:827-828'],
    ['dynamic loss scaling with a zero window', { ...zero({ stage: 2 }), bf16: { enabled: false }, fp16: { enabled: true, loss_scale: 0, loss_scale_window: 0 } }, [['error', 'fp16.loss_scale_window']], 'runtime/precision_config.py:182-197'],
    ['optimizer offload at stage 0', zero({ stage: 0, offload_optimizer: { device: 'cpu' } }), [['error', 'zero_optimization.offload_optimizer']], 'ops/adam/cpu_adam.py:138'],
    ['partial offload below stage 3', zero({ stage: 2, offload_optimizer: { device: 'cpu', ratio: 0.5 } }), [['error', 'zero_optimization.offload_optimizer.ratio']], 'runtime/zero/config.py:388-393'],
    // stage_1_and_2.py:186-188: any device but none is CPU offload.
    ['NVMe optimizer offload at stage 2', zero({ stage: 2, offload_optimizer: { device: 'nvme', nvme_path: '/nvme' } }), [['warning', 'zero_optimization.offload_optimizer.device']], 'stage_1_and_2.py:186-188'],
    ['NVMe optimizer offload at stage 3 without a path', zero({ stage: 3, offload_optimizer: { device: 'nvme' } }), [['error', 'zero_optimization.offload_optimizer.nvme_path']], 'runtime/zero/stage3.py:791'],
    ['max_grad_norm in the optimizer', { ...zero({ stage: 2 }), optimizer: { type: 'AdamW', params: { lr: 1e-5, max_grad_norm: 1 } } }, [['error', 'optimizer.params.max_grad_norm']], 'runtime/engine.py:2090-2093'],
    // aio_config.py:20-43 reads intra_op_parallelism; thread_count was renamed (DeepSpeed #7056) and is ignored.
    ['the old aio.thread_count', { ...zero({ stage: 3, offload_optimizer: { device: 'nvme', nvme_path: '/nvme' } }), aio: { thread_count: 2 } }, [['warning', 'aio.thread_count']], 'aio_config.py:20-43'],
    // config_utils.py:53-55 drops "auto"; HF fills only the keys of its trainer_config_process/finalize.
    ['"auto" where HF fills nothing', zero({ stage: 3, stage3_max_live_parameters: 'auto' }), [['warning', 'zero_optimization.stage3_max_live_parameters']], 'runtime/config_utils.py:53-55'],
    ['a wrong device name', zero({ stage: 3, offload_optimizer: { device: 'CPU' } }), [['error', 'zero_optimization.offload_optimizer.device']], 'offload_config.py:58'],
    ['a stage that does not exist', zero({ stage: 4 }), [['error', 'zero_optimization.stage']], 'runtime/zero/config.py:95'],
    // engine.py:1691-1694: a name DeepSpeed cannot build (nor torch.optim) stops the engine.
    ['an optimizer DeepSpeed cannot build', { ...zero({ stage: 2 }), optimizer: { type: 'AdamW8bit', params: { lr: 1e-5 } } }, [['error', 'optimizer.type']], 'runtime/engine.py:1691-1694'],
    ['a torch.optim optimizer by its class name', { ...zero({ stage: 2 }), optimizer: { type: 'RMSprop', params: { lr: 1e-5 } } }, [], ''],
    ['DeepSpeed optimizer names in any case', { ...zero({ stage: 2 }), optimizer: { type: 'ADAMW', params: { lr: 1e-5 } } }, [], ''],
    ['a scheduler DeepSpeed does not know', { ...zero({ stage: 2 }), scheduler: { type: 'CosineWithWarmup', params: {} } }, [['error', 'scheduler.type']], 'runtime/engine.py:1601-1605'],
    ['a torch scheduler by its class name', { ...zero({ stage: 2 }), scheduler: { type: 'CosineAnnealingLR', params: { T_max: 100 } } }, [], ''],
    ['a warm-up of zero steps', { ...zero({ stage: 2 }), scheduler: { type: 'WarmupDecayLR', params: { total_num_steps: 100, warmup_num_steps: 0 } } }, [['error', 'scheduler.params.warmup_num_steps']], 'runtime/lr_schedules.py:708-709'],
    ['a boolean loss scale', { ...zero({ stage: 2 }), bf16: { enabled: false }, fp16: { enabled: true, loss_scale: true } }, [['error', 'fp16.loss_scale']], 'runtime/precision_config.py:115-133'],
    ['null where DeepSpeed takes None: a top-level key, overlap_comm', { train_micro_batch_size_per_gpu: 1, train_batch_size: null, bf16: { enabled: true }, zero_optimization: { stage: 3, overlap_comm: null } }, [], ''],
    ['null for an integer inside zero_optimization', zero({ stage: 3, reduce_bucket_size: null }), [['error', 'zero_optimization.reduce_bucket_size']], 'runtime/zero/config.py:113'],
    ['neither batch key', { bf16: { enabled: true }, zero_optimization: { stage: 2 } }, [['error', 'train_batch_size']], 'runtime/config.py:983-985'],
  ])('%s', (_name, config, expected, source) => {
    const r = check(config)
    expect(verdicts(r)).toEqual(expected)
    if (expected.length > 0) expect(r.findings.map((f) => f.source).join(' ')).toContain(source)
    // DeepSpeed starts unless there is an error; then nothing is estimated.
    const refused = expected.some(([v]) => v === 'error')
    expect(r.estimate === null).toBe(refused)
  })

  it('a batch mismatch, with the three numbers DeepSpeed asserts on (runtime/config.py:937-940)', () => {
    const r = check(fixture('batch-mismatch.json'))
    expect(r.findings).toEqual([{
      verdict: 'error', source: 'runtime/config.py:937-940', file: 'ds.json', line: 2, col: 23, path: 'train_batch_size',
      message: 'train_batch_size 64 is not train_micro_batch_size_per_gpu 2 × gradient_accumulation_steps 2 × world size 8 = 32',
      allowed: '32, or change the micro-batch or accumulation',
    }])
  })
  it('DeepSpeed fills a missing accumulation by integer division before asserting (config.py:955-958)', () => {
    // 20 // 2 // 8 = 1, then 20 ≠ 2 × 1 × 8: DeepSpeed's assertion, not a quiet 1.25
    expect(verdicts(check({ train_batch_size: 20, train_micro_batch_size_per_gpu: 2, bf16: { enabled: true } }))).toEqual([['error', 'train_batch_size']])
    expect(check({ train_batch_size: 32, train_micro_batch_size_per_gpu: 2, bf16: { enabled: true } }).strategy?.accumulation).toBe(2)
  })
  it('NVMe parameter offload for Llama-3.1-70B on 8 GPUs: the default 1e8 buffer is below the embedding partition (partitioned_param_swapper.py:357)', () => {
    const cfg = (p: Record<string, unknown>) => zero({ stage: 3, offload_optimizer: { device: 'nvme', nvme_path: '/nvme' }, offload_param: { device: 'nvme', nvme_path: '/nvme', ...p } })
    const r = check(cfg({}), llama70)
    expect(verdicts(r)).toEqual([['error', 'zero_optimization.offload_param.buffer_size']])
    // 128256 × 8192 / 8 = 131,334,144 elements
    expect(r.findings[0]!.message).toContain('131334144')
    expect(verdicts(check(cfg({ buffer_size: 131_334_144 }), llama70))).toEqual([])
  })
  it('cpu_offload: true is estimated as optimizer offload, NVMe at stage 2 as CPU offload', () => {
    expect(check(zero({ stage: 2, cpu_offload: true })).strategy).toMatchObject({ offload: 'optimizer', offloadDevice: 'cpu' })
    const nvme = check(zero({ stage: 2, offload_optimizer: { device: 'nvme', nvme_path: '/nvme' } }))
    expect(nvme.strategy).toMatchObject({ offload: 'optimizer', offloadDevice: 'cpu' })
    expect(nvme.estimate!.perNode.nvmeBytes).toBe(0)
  })
  it('the legacy bfloat16 section runs bf16', () => {
    expect(check({ train_micro_batch_size_per_gpu: 1, bfloat16: { enabled: true }, zero_optimization: { stage: 2 } }).precision).toBe('bf16')
  })
  it('malformed JSON: a SpecError at file:line:col', () => {
    try {
      check(fixture('malformed.json'))
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError)
      // the trailing comma of line 3: the `}` at column 38 is where a property name must come (JSON.parse, as json.load)
      expect((e as SpecError).issues[0]).toMatchObject({ file: 'ds.json', line: 3, col: 38 })
      expect((e as SpecError).issues[0]!.message).toContain('not valid JSON (Expected double-quoted property name)')
    }
  })
})

describe("LLaMA-Factory's seven example configs pass (warnings allowed)", () => {
  const lf = (name: string) => readFileSync(new URL(`../../test/fixtures/llamafactory-ds/${name}`, import.meta.url), 'utf8')
  it.each([
    ['ds_z0_config.json', []],
    ['ds_z2_config.json', []],
    ['ds_z2_offload_config.json', []],
    ['ds_z3_config.json', []],
    ['ds_z3_offload_config.json', []],
    // "_comment" and "tensor_parallel" (read by runtime/tensor_parallel): only the comment is ignored.
    ['ds_z2_autotp_config.json', [['warning', '_comment']]],
    ['ds_z3_fp8_config.json', [['warning', 'comms_config'], ['warning', 'monitor_config']]],
  ])('%s', (name, expected) => {
    const r = checkDsConfig(lf(name), name, spec.spec, spec.model.arch, eight)
    expect(verdicts(r)).toEqual(expected)
    expect(r.estimate).not.toBeNull()
  })
})

describe('ftplan check: the memory of exactly that config', () => {
  it('a config that cannot fit names the term that overflows and the changes that fit', () => {
    const r = check(fixture('too-big.json'))
    expect(r.fits).toBe(false)
    // ZeRO-1 over 8 GPUs keeps 2 B weights and 2 B grads on every GPU and shards the rest; micro-batch 8 of
    // 2048 tokens without checkpointing makes activations the largest term.
    expect(r.overflow!.largest[0]!.term).toBe('activations')
    expect(r.overflow!.overBytes).toBeGreaterThan(0)
    expect(r.overflow!.fixes.some((f) => f.startsWith('turn on gradient checkpointing'))).toBe(true)
  })
  it('missing bucket sizes are DeepSpeed\'s defaults (5e8), "auto" ones are HF\'s (hidden²)', () => {
    const plain = check('{"train_micro_batch_size_per_gpu": 1, "bf16": {"enabled": true}, "zero_optimization": {"stage": 2}}')
    expect(plain.strategy!.zero.reduceBucketSize).toBe(5e8)
    const auto = check('{"train_micro_batch_size_per_gpu": "auto", "bf16": {"enabled": "auto"}, "zero_optimization": {"stage": 2, "reduce_bucket_size": "auto"}}')
    expect(auto.strategy!.zero.reduceBucketSize).toBe(4096 * 4096)
    expect(auto.strategy!.microBatch).toBe(spec.spec.batch.micro)
    expect(auto.estimate!.perGpu.breakdown.zeroBuffers).toBeLessThan(plain.estimate!.perGpu.breakdown.zeroBuffers)
  })
  it('"auto" values come from the run it is launched with (the plan), not the spec', () => {
    const run = { microBatch: 4, accumulation: 2, precision: 'fp16' as const, gradientCheckpointing: true }
    const r = checkDsConfig(JSON.stringify({ train_batch_size: 'auto', train_micro_batch_size_per_gpu: 'auto', gradient_accumulation_steps: 'auto', fp16: { enabled: 'auto' }, bf16: { enabled: 'auto' }, zero_optimization: { stage: 3 } }), 'ds.json', spec.spec, spec.model.arch, eight, run)
    expect(r.findings).toEqual([])
    expect(r.strategy).toMatchObject({ microBatch: 4, accumulation: 2, gradientCheckpointing: true })
    expect(r.precision).toBe('fp16')
  })
  it('gradient checkpointing left to ftplan (auto) is decided as the planner does: off when it fits, else on', () => {
    const auto = loadSpec('model: meta-llama/Llama-2-7b-hf\nmethod: full\nseq_len: 2048\nbatch: { micro: 8 }\n', 'a.yaml', memorySources())
    const r = check(zero({ stage: 3 }), auto)
    // micro-batch 1 (the config's), ZeRO-3 over 8 × 80 GB: off fits
    expect(r.strategy!.gradientCheckpointing).toBe(false)
    const tight = check({ ...zero({ stage: 3 }), train_micro_batch_size_per_gpu: 16 }, auto)
    expect(tight.strategy!.gradientCheckpointing).toBe(true)
  })
})
