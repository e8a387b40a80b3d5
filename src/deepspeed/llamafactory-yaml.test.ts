import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { SpecError } from '../errors.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { defaultZeroSettings, type Strategy } from '../memory/strategy.js'
import { planLoaded } from '../planner/plan-loaded.js'
import { loadSpec, type LoadedSpec } from '../spec/load.js'
import type { ZeroStage } from '../spec/spec.js'
import type { DsConfigInput } from './config.js'
import { editLlamaFactoryYaml, yaml11Floats } from './llamafactory-yaml.js'

const lfDs = (stage: number) => JSON.stringify({ train_batch_size: 'auto', train_micro_batch_size_per_gpu: 'auto', gradient_accumulation_steps: 'auto', bf16: { enabled: 'auto' }, zero_optimization: { stage } })
const files = {
  'ds_z3_config.json': lfDs(3), 'ds_z2_config.json': lfDs(2),
  'legacy.json': JSON.stringify({ train_micro_batch_size_per_gpu: 'auto', zero_optimization: { stage: 2, cpu_offload: true } }),
  'param2.json': JSON.stringify({ train_micro_batch_size_per_gpu: 'auto', zero_optimization: { stage: 2, offload_optimizer: { device: 'cpu' }, offload_param: { device: 'cpu' } } }),
}
const load = (yaml: string): LoadedSpec => loadSpec(yaml, 'train.yaml', memorySources(files))
const YAML = readFileSync(new URL('../../test/fixtures/specs/llamafactory-qlora.yaml', import.meta.url), 'utf8')

const inputFor = (l: LoadedSpec, s: Partial<Strategy> & { zeroStage: ZeroStage }, precision: DsConfigInput['precision']): DsConfigInput => ({
  strategy: { gpus: 8, gpusPerNode: 8, offload: 'none', offloadDevice: 'cpu', gradientCheckpointing: true, microBatch: 1, accumulation: 1, zero: defaultZeroSettings(l.model.arch, s.zeroStage), ...s },
  arch: l.model.arch, precision, optimizer: l.spec.optimizer, optim: l.spec.optim, scheduler: l.spec.scheduler, totalSteps: null, style: 'hf',
})

describe('LLaMA-Factory round trip: the user\'s YAML, edited where the plan differs', () => {
  it('only the plan\'s keys change, in place; comments, order and `1.0e-4` stay as written', () => {
    const l = load(YAML)
    const { text, edits } = editLlamaFactoryYaml(YAML, l.spec, inputFor(l, { zeroStage: 2, microBatch: 2, accumulation: 4 }, 'fp16'))
    expect(edits).toEqual([
      { key: 'per_device_train_batch_size', from: 1, to: 2, why: 'the micro-batch the plan fits' },
      { key: 'gradient_accumulation_steps', from: 8, to: 4, why: 'the accumulation the plan splits each GPU\'s batch with' },
      { key: 'bf16', from: true, to: false, why: 'the precision the GPU runs' },
      { key: 'fp16', from: null, to: true, why: 'the GPU has no bf16: fp16 with loss scaling' },
      { key: 'deepspeed', from: null, to: 'ds_config.json', why: 'the config ftplan wrote for the plan' },
    ])
    const expected = YAML.replace('per_device_train_batch_size: 1', 'per_device_train_batch_size: 2').replace('gradient_accumulation_steps: 8', 'gradient_accumulation_steps: 4')
      .replace('bf16: true', 'bf16: false') + 'fp16: true\ndeepspeed: ds_config.json\n'
    expect(text).toBe(expected)
    expect(text).toContain('learning_rate: 1.0e-4')
  })
  it('a plan without ZeRO removes the YAML\'s deepspeed line (the estimate is the run without DeepSpeed)', () => {
    const yaml = 'model_name_or_path: meta-llama/Llama-2-7b-hf\nbf16: true\ndeepspeed: ds_z2_config.json  # ZeRO-2\nper_device_train_batch_size: 1\n'
    const l = load(yaml)
    const { text, edits } = editLlamaFactoryYaml(yaml, l.spec, inputFor(l, { zeroStage: 0 }, 'bf16'))
    expect(edits.map((e) => [e.key, e.from, e.to])).toEqual([['deepspeed', 'ds_z2_config.json', null]])
    expect(text).toBe('model_name_or_path: meta-llama/Llama-2-7b-hf\nbf16: true\nper_device_train_batch_size: 1\n')
  })
  it('checkpointing off in the plan: disable_gradient_checkpointing: true', () => {
    const yaml = 'model_name_or_path: meta-llama/Llama-2-7b-hf\nbf16: true\nper_device_train_batch_size: 1\n'
    const l = load(yaml)
    const { edits } = editLlamaFactoryYaml(yaml, l.spec, inputFor(l, { zeroStage: 0, gradientCheckpointing: false }, 'bf16'))
    expect(edits.map((e) => [e.key, e.to])).toEqual([['disable_gradient_checkpointing', true]])
  })
  it('floats LLaMA-Factory\'s PyYAML reads as floats: 1e-8 → 1.0e-8, 5e+3 kept signed', () => {
    expect(yaml11Floats('adam_epsilon: 1e-8\nlr: 0.00002\nx: 5e3\nname: 1e-8x\n')).toBe('adam_epsilon: 1.0e-8\nlr: 0.00002\nx: 5.0e+3\nname: 1e-8x\n')
  })
})

describe('the DeepSpeed JSON a LLaMA-Factory YAML names is read as DeepSpeed reads it', () => {
  it('cpu_offload: true is optimizer offload (zero/config.py:202-213); offload_param at stage 2 is ignored (engine.py:2382-2425)', () => {
    expect(load('model_name_or_path: meta-llama/Llama-2-7b-hf\nbf16: true\ndeepspeed: legacy.json\n').spec.deepspeed).toMatchObject({ zero: 2, offload: 'optimizer' })
    const p2 = load('model_name_or_path: meta-llama/Llama-2-7b-hf\nbf16: true\ndeepspeed: param2.json\n')
    expect(p2.spec.deepspeed).toMatchObject({ zero: 2, offload: 'optimizer' })
    expect(p2.notes.some((n) => n.includes('offload_param is ignored by DeepSpeed at ZeRO stage 2'))).toBe(true)
  })
})

describe("LLaMA-Factory's own refusals, enforced when planning", () => {
  const refused = (yaml: string): string => {
    try {
      load(yaml)
    } catch (e) {
      if (e instanceof SpecError) return e.issues.map((i) => `${i.path}: ${i.message}`).join('\n')
      throw e
    }
    return 'accepted'
  }
  it.each([
    ['pure_bf16 with ZeRO-3', 'model_name_or_path: meta-llama/Llama-2-7b-hf\npure_bf16: true\ndeepspeed: ds_z3_config.json\n', 'hparams/parser.py:502'],
    ['8-bit QLoRA sharded by ZeRO-3', 'model_name_or_path: meta-llama/Llama-2-7b-hf\nquantization_bit: 8\nbf16: true\ndeepspeed: ds_z3_config.json\n', 'quantization.py:197-199'],
    ['PiSSA init under ZeRO-3', 'model_name_or_path: meta-llama/Llama-2-7b-hf\npissa_init: true\nbf16: true\ndeepspeed: ds_z3_config.json\n', 'hparams/parser.py:495'],
    ['GaLore with DeepSpeed', 'model_name_or_path: meta-llama/Llama-2-7b-hf\nfinetuning_type: full\nuse_galore: true\nbf16: true\ndeepspeed: ds_z2_config.json\n', 'hparams/parser.py:518'],
    ['PiSSA on a quantized model', 'model_name_or_path: meta-llama/Llama-2-7b-hf\npissa_init: true\nquantization_bit: 4\nbf16: true\n', '_verify_model_args'],
  ])('%s', (_name, yaml, source) => {
    expect(refused(yaml)).toContain(source)
  })
  it('left to ftplan, the planner keeps out of what LLaMA-Factory refuses, and says so', () => {
    const galore = planLoaded(load('model_name_or_path: Qwen/Qwen2.5-0.5B\nfinetuning_type: full\nuse_galore: true\nbf16: true\n'), AWS_CATALOG)
    expect(galore.status).toBe('fit')
    if (galore.status === 'fit') expect(galore.plan.strategy.zeroStage).toBe(0)
    expect(galore.assumptions.some((a) => a.startsWith('no DeepSpeed: GaLore runs only without DeepSpeed'))).toBe(true)
    const pure = planLoaded(load('model_name_or_path: meta-llama/Llama-2-70b-hf\nfinetuning_type: full\npure_bf16: true\n'), AWS_CATALOG)
    expect(pure.status).toBe('fit')
    if (pure.status === 'fit') expect(pure.plan.strategy.zeroStage).not.toBe(3)
    expect(pure.assumptions.some((a) => a.startsWith('no ZeRO-3: pure_bf16'))).toBe(true)
  })
})
