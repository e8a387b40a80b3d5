import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec } from '../spec/load.js'
import { estimateMemory, type MemoryEstimate } from './estimate.js'
import { strategyFromSpec } from './strategy.js'

// A LLaMA-Factory YAML that names ds_z0_config.json runs DeepSpeed at ZeRO stage 0, not HF autocast. With bf16 and the
// default gradient accumulation dtype (the model's), DeepSpeed wraps the optimizer in its FP16_Optimizer
// (deepspeedai/DeepSpeed@edaa7221 runtime/engine.py:2019 DDP_BFLOAT16, 2065-2067): 16-bit weights and gradients, an
// fp32 flat master copy (runtime/fp16/fused_optimizer.py:98) with the optimizer's fp32 state, and the gradients
// converted to one fp32 flat buffer at the step (fused_optimizer.py:290-294).
const ZERO0 = readFileSync(new URL('../../test/fixtures/llamafactory-ds/ds_z0_config.json', import.meta.url), 'utf8')
const P = 6_738_415_616 // Llama-2-7B

function load(extra = '') {
  const yaml = ['model_name_or_path: meta-llama/Llama-2-7b-hf', 'stage: sft', 'do_train: true', 'finetuning_type: full', 'deepspeed: ds_z0_config.json',
    'dataset: alpaca_en_demo', 'cutoff_len: 2048', 'per_device_train_batch_size: 1', 'gradient_accumulation_steps: 1', 'bf16: true', extra].join('\n') + '\n'
  return loadSpec(yaml, 'train.yaml', memorySources({ 'ds_z0_config.json': ZERO0 }))
}
const phase = (e: MemoryEstimate, name: string) => e.phases.find((p) => p.phase === name)!

describe('DeepSpeed at ZeRO stage 0, as a LLaMA-Factory ds_z0 config runs it', () => {
  it('the spec says DeepSpeed runs at stage 0', () => {
    expect(load().spec.deepspeed).toMatchObject({ zero: 0, engine: 'deepspeed' })
  })
  it('full Llama-2-7B on one GPU: 2P bf16 weights, 2P bf16 grads, 12P fp32 master + Adam, 4P fp32 grads at the step', () => {
    const l = load()
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    const step = phase(e, 'optimizer step')
    expect(step.terms.weights).toBe(2 * P)
    expect(step.terms.optimizerStates).toBe(12 * P)
    expect(step.terms.gradients).toBe(2 * P + 4 * P)
    // HF autocast (no DeepSpeed) keeps fp32 weights and their bf16 copies instead, and fp32 grads
    const hf = loadSpec('model: meta-llama/Llama-2-7b-hf\nmethod: full\nprecision: bf16\nseq_len: 2048\n', 'spec.yaml', memorySources())
    const amp = estimateMemory(hf.spec, hf.model.arch, strategyFromSpec(hf.spec, hf.model.arch))
    expect(phase(amp, 'optimizer step').terms.optimizerStates).toBe(8 * P)
    expect(e.assumptions).toContain('DeepSpeed at ZeRO stage 0 on 1 GPU: its FP16_Optimizer (16-bit weights and grads, fp32 master and state), nothing sharded')
  })
  it('on 8 GPUs nothing is sharded, and the all-reduce flattens the gradients into 5e8-element buckets at the boundary (engine.py:160)', () => {
    const l = load()
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch, { gpus: 8 }))
    const step = phase(e, 'optimizer step')
    expect(step.terms.optimizerStates).toBe(12 * P)
    expect(step.terms.zeroBuffers).toBe(5e8 * 2)
  })
})

describe('a stage-0 plan under DeepSpeed launches with its config', () => {
  it('the LLaMA-Factory YAML keeps deepspeed (now ftplan\'s config), launch.sh passes it, and plan says DeepSpeed ZeRO-0', async () => {
    const { launchFolderFor } = await import('../deepspeed/launch-folder.js')
    const { planFinetune } = await import('../planner/plan.js')
    const { planInputOf } = await import('../planner/plan-loaded.js')
    const { AWS_CATALOG } = await import('../instances/aws.js')
    const text = ['model_name_or_path: meta-llama/Llama-3.2-1B', 'stage: sft', 'do_train: true', 'finetuning_type: full', 'deepspeed: ds_z0_config.json',
      'dataset: alpaca_en_demo', 'cutoff_len: 1024', 'per_device_train_batch_size: 2', 'gradient_accumulation_steps: 4', 'bf16: true', ''].join('\n')
    const l = loadSpec(text, 'train.yaml', memorySources({ 'ds_z0_config.json': ZERO0 }))
    const r = planFinetune(planInputOf(l, AWS_CATALOG))
    if (r.status !== 'fit') throw new Error('expected a plan')
    expect(r.plan.strategy).toMatchObject({ zeroStage: 0, deepspeedAtZero0: true })
    const folder = launchFolderFor(l, r.plan, 'hf', text)
    expect(folder.edits.find((e) => e.key === 'deepspeed')).toMatchObject({ from: 'ds_z0_config.json', to: 'ds_config.json' })
    expect(folder.files['launch.sh']).toContain('llamafactory-cli train "$HERE"/train.yaml deepspeed="$HERE"/ds_config.json')
    expect(JSON.parse(folder.files['ds_config.json']!).zero_optimization.stage).toBe(0)
  })
})
