import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { SpecError, type Issue } from '../errors.js'
import { specToDocument } from './document.js'
import { loadSpec } from './load.js'

function issuesOf(text: string, files: Record<string, string> = {}, file = 'spec.yaml'): Issue[] {
  try {
    loadSpec(text, file, memorySources(files))
  } catch (e) {
    if (e instanceof SpecError) return [...e.issues]
    throw e
  }
  throw new Error('expected a SpecError')
}
const load = (text: string, files: Record<string, string> = {}, file = 'spec.yaml') => loadSpec(text, file, memorySources(files))

describe('malformed specs: one located message per problem', () => {
  it('wrong type', () => {
    expect(issuesOf('model: meta-llama/Llama-2-7b-hf\nseq_len: "long"\n')).toEqual([
      { file: 'spec.yaml', line: 2, col: 10, path: 'seq_len', message: 'expected an integer, got "long"', allowed: 'an integer 1..1048576' },
    ])
  })
  it('unknown key, with the nearest known key', () => {
    const [i] = issuesOf('model: meta-llama/Llama-2-7b-hf\noptimiser: adamw\n')
    expect(i).toMatchObject({ line: 2, col: 1, path: 'optimiser', message: 'unknown key', didYouMean: 'optimizer' })
  })
  it('bad enum value, with the nearest allowed value', () => {
    const [i] = issuesOf('model: meta-llama/Llama-2-7b-hf\nprecision: bf61\n')
    expect(i).toMatchObject({ line: 2, col: 12, path: 'precision', allowed: 'bf16 | fp16 | pure_bf16 | fp32', didYouMean: 'bf16' })
  })
  it('negative batch', () => {
    const [i] = issuesOf('model: meta-llama/Llama-2-7b-hf\nbatch:\n  micro: -4\n')
    expect(i).toMatchObject({ line: 3, col: 10, path: 'batch.micro', message: '-4 is out of range' })
  })
  it('YAML syntax error', () => {
    const [i] = issuesOf('model: meta-llama/Llama-2-7b-hf\nbatch: { micro: 2\n')
    expect(i!.message).toMatch(/^YAML syntax error/)
    expect(i!.line).toBeGreaterThanOrEqual(2)
  })
  it('duplicate keys', () => {
    const [i] = issuesOf('model: meta-llama/Llama-2-7b-hf\nmethod: lora\nmethod: full\n')
    expect(i).toMatchObject({ line: 3, col: 1 })
    expect(i!.message).toMatch(/unique/)
  })
  it('unknown model, with the three nearest ids', () => {
    const [i] = issuesOf('model: meta-llama/Llama-2-8b-hf\n')
    expect(i).toMatchObject({
      line: 1, col: 8, path: 'model', message: 'unknown model "meta-llama/Llama-2-8b-hf"',
      didYouMean: '"meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf" or "meta-llama/Llama-2-70b-hf"',
    })
  })
  it('missing model, empty file, a list instead of a mapping', () => {
    expect(issuesOf('method: lora\n')[0]).toMatchObject({ path: 'model', message: 'is required' })
    expect(issuesOf('')[0]!.message).toMatch(/empty/)
    expect(issuesOf('- model: x\n')[0]!.message).toMatch(/expected a mapping/)
  })
  it('collects every problem, in file order', () => {
    const issues = issuesOf([
      'model: meta-llama/Llama-2-7b-hf', 'method: lroa', 'lora: { rank: 0, targets: [q_prj] }', 'batch: { micro: 1.5 }',
      'train: { samples: 10 }', 'constraints: { gpus: [H10], regions: [us-east1] }', 'margin: 2',
    ].join('\n'))
    expect(issues.map((i) => i.path)).toEqual(['method', 'lora.rank', 'lora.targets[0]', 'batch.micro', 'train', 'constraints.gpus[0]', 'constraints.regions[0]', 'margin'])
    expect(issues.map((i) => i.line)).toEqual([2, 3, 3, 4, 5, 6, 6, 7])
  })
  it('contradictions: qlora without quantization, full with quantization, param offload below ZeRO-3', () => {
    expect(issuesOf('model: Llama-2-7b-hf\nmethod: qlora\nquantization: none\n')[0]).toMatchObject({ line: 3, path: 'quantization' })
    expect(issuesOf('model: Llama-2-7b-hf\nmethod: full\nquantization: 4bit\n')[0]).toMatchObject({ line: 3, path: 'quantization' })
    expect(issuesOf('model: Llama-2-7b-hf\ndeepspeed: { zero: 2, offload: optimizer+params }\n')[0]).toMatchObject({ path: 'deepspeed.offload' })
  })
  it('LoRA targets the model does not have, and too many freeze layers', () => {
    expect(issuesOf('model: Llama-2-7b-hf\nlora: { targets: [q_proj, gate_prj] }\n')[0]).toMatchObject({ path: 'lora.targets[1]', didYouMean: 'gate_proj', line: 2, col: 27 })
    expect(issuesOf('model: Llama-2-7b-hf\nmethod: freeze\nfreeze: { trainable_layers: 33 }\n')[0]).toMatchObject({ path: 'freeze.trainable_layers', allowed: '1..32 (or -1..-32)' })
  })
})

describe('normalization', () => {
  it('fills and lists the documented defaults', () => {
    const r = load('model: meta-llama/Llama-2-7b-hf\n')
    expect(r.spec).toMatchObject({
      method: 'lora', lora: { rank: 16, alpha: 32, dropout: 0, targets: 'all', modulesToSave: [] }, quantization: 'none',
      precision: 'bf16', optimizer: 'adamw', batch: { micro: 1, accumulation: 1 }, seqLenTokens: 2048, gradientCheckpointing: 'auto',
      attention: 'flash', loss: 'standard', deepspeed: { zero: 'auto', offload: 'auto', offloadDevice: 'cpu' }, gpus: 1, train: null,
      constraints: { provider: 'aws', regions: [], spot: false, maxNodes: 4, gpus: [], maxHourlyUsd: null, budgetUsd: null }, margin: 0.12,
    })
    expect(r.defaults.map((d) => d.path)).toContain('seq_len')
    expect(r.defaults.find((d) => d.path === 'lora.alpha')).toEqual({ path: 'lora.alpha', value: 32, from: 'ftplan' })
  })
  it('lora with quantization is qlora; qlora defaults to 4bit', () => {
    expect(load('model: Llama-2-7b-hf\nquantization: 4bit\n').spec.method).toBe('qlora')
    expect(load('model: Llama-2-7b-hf\nmethod: qlora\n').spec.quantization).toBe('4bit')
  })
  it('a GPU family name suggests each of its sizes', () => {
    expect(issuesOf('model: Llama-2-7b-hf\nconstraints: { gpus: [A100] }\n')[0]).toMatchObject({ path: 'constraints.gpus[0]', didYouMean: 'A100-40GB or A100-80GB' })
  })
  it('enum values are case-insensitive and come back canonical', () => {
    expect(load('model: Llama-2-7b-hf\nmethod: LoRA\nconstraints: { gpus: [h100, a100-80gb] }\n').spec).toMatchObject({ method: 'lora', constraints: { gpus: ['H100', 'A100-80GB'] } })
  })
  it('train as samples × avg_tokens', () => {
    expect(load('model: Llama-2-7b-hf\ntrain: { samples: 1000, avg_tokens: 512 }\n').spec.train).toEqual({ samples: 1000, avgTokens: 512, epochs: 1, mfu: null })
  })
  it('an inline model, with unused config keys listed as ignored', () => {
    const r = load('model:\n  name: tiny\n  hidden_size: 64\n  num_hidden_layers: 2\n  num_attention_heads: 4\n  intermediate_size: 128\n  vocab_size: 100\n  rope_theta: 10000\n')
    expect(r.model.arch.name).toBe('tiny')
    expect(r.ignored).toContainEqual({ path: 'model.rope_theta', reason: 'config.json key ftplan does not use' })
  })
  it('an inline model error points at the key', () => {
    const issues = issuesOf('model:\n  hidden_size: 64\n  num_hidden_layers: two\n')
    expect(issues.find((i) => i.path === 'model.num_hidden_layers')).toMatchObject({ line: 3, col: 22, message: 'expected an integer 1..4096, got "two"' })
    expect(issues.find((i) => i.path === 'model.vocab_size')).toMatchObject({ line: 2, col: 3, message: 'is required (key absent)' })
  })
  it('a config.json path; its problems are located in the config file', () => {
    const config = JSON.stringify({ model_type: 'llama', hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, intermediate_size: 11008, vocab_size: 32000 })
    expect(load('model: ./llama/config.json\n', { 'llama/config.json': config }).params.total).toBe(6_738_415_616)
    expect(load('model: ./llama\n', { 'llama/config.json': config }).spec.model).toMatchObject({ kind: 'config-file', path: './llama' })
    const bad = '{\n  "model_type": "llama",\n  "hidden_size": "big"\n}'
    expect(issuesOf('model: ./bad.json\n', { 'bad.json': bad }).find((i) => i.path === 'hidden_size')).toMatchObject({ file: 'bad.json', line: 3, col: 18 })
    expect(issuesOf('model: ./missing.json\n')[0]).toMatchObject({ line: 1, col: 8, message: 'no config.json at "./missing.json"' })
  })
  it('round-trips: the printed spec reads back to the same spec', () => {
    const r = load('model: Qwen/Qwen2.5-7B\nmethod: freeze\nfreeze: { trainable_layers: -3 }\ntrain: { tokens: 2e9 }\nconstraints: { max_hourly_usd: 40 }\n')
    expect(load(stringify(specToDocument(r.spec))).spec).toEqual(r.spec)
  })
})

describe('three input forms of one set-up normalize to equal specs', () => {
  const dsConfig = JSON.stringify({ train_batch_size: 'auto', zero_optimization: { stage: 2, offload_optimizer: { device: 'cpu', pin_memory: true } } })
  const plain = `
model: meta-llama/Llama-2-7b-hf
method: lora
lora: { rank: 16, alpha: 32, dropout: 0.05, targets: [q_proj, v_proj] }
precision: bf16
optimizer: { type: adamw, lr: 1.0e-4 }
batch: { micro: 4, accumulation: 4 }
seq_len: 1024
gradient_checkpointing: true
attention: flash
loss: fused
deepspeed: { zero: 2, offload: optimizer }
`
  const stack = `
config:
  aws:region: us-east-1
  ftplan:spec:
${plain.trim().split('\n').map((l) => `    ${l}`).join('\n')}
`
  const llamafactory = `
### model
model_name_or_path: meta-llama/Llama-2-7b-hf
### method
stage: sft
do_train: true
finetuning_type: lora
lora_rank: 16
lora_alpha: 32
lora_dropout: 0.05
lora_target: q_proj,v_proj
deepspeed: examples/deepspeed/ds_z2_offload_config.json
### dataset
dataset: identity,alpaca_en_demo
template: llama2
cutoff_len: 1024
### train
per_device_train_batch_size: 4
gradient_accumulation_steps: 4
learning_rate: 1.0e-4
num_train_epochs: 3.0
bf16: true
flash_attn: fa2
enable_liger_kernel: true
optim: adamw_torch
`
  const files = { 'examples/deepspeed/ds_z2_offload_config.json': dsConfig }

  it('plain, Pulumi stack and LLaMA-Factory', () => {
    const a = load(plain)
    const b = load(stack, {}, 'stacks/Pulumi.dev.yaml')
    const c = load(llamafactory, files, 'train_lora.yaml')
    expect([a.source, b.source, c.source]).toEqual(['spec', 'pulumi-stack', 'llamafactory'])
    // the stack deploys to its aws:region, so its plan stays there
    expect(b.spec).toEqual({ ...a.spec, constraints: { ...a.spec.constraints, regions: ['us-east-1'] } })
    expect(b.notes).toContain('aws:region us-east-1: the stack deploys there, so the plan stays in it')
    expect(c.spec).toEqual(a.spec)
    expect(c.ignored.map((i) => i.path)).toEqual(['dataset', 'template', 'num_train_epochs'])
  })

  it('LLaMA-Factory defaults fill what the YAML leaves out, as LLaMA-Factory would run it', () => {
    const r = load('model_name_or_path: meta-llama/Llama-2-7b-hf\nstage: sft\nbf16: true\n', {}, 'lf.yaml')
    expect(r.spec).toMatchObject({
      method: 'lora', lora: { rank: 8, alpha: 16, dropout: 0, targets: 'all' }, seqLenTokens: 2048, batch: { micro: 8, accumulation: 1 },
      gradientCheckpointing: true, attention: 'sdpa', optimizer: 'adamw', loss: 'standard', precision: 'bf16',
    })
    expect(r.defaults.filter((d) => d.from === 'llamafactory').map((d) => d.path)).toEqual([
      'method', 'lora.rank', 'lora.alpha', 'lora.dropout', 'lora.targets', 'seq_len', 'batch.micro', 'batch.accumulation',
      'attention', 'gradient_checkpointing', 'optimizer.type', 'optimizer.lr', 'optimizer.weight_decay', 'optimizer.eps', 'optimizer.max_grad_norm',
      'scheduler.type', 'scheduler.warmup_ratio', 'scheduler.warmup_steps', 'loss',
    ])
  })

  it('LLaMA-Factory QLoRA, freeze and its errors', () => {
    expect(load('model_name_or_path: Llama-2-7b-hf\nquantization_bit: 4\nbf16: true\n', {}, 'lf.yaml').spec).toMatchObject({ method: 'qlora', quantization: '4bit' })
    expect(load('model_name_or_path: Llama-2-7b-hf\nfinetuning_type: freeze\nfreeze_trainable_layers: 4\n', {}, 'lf.yaml').spec).toMatchObject({ method: 'freeze', freeze: { trainableLayers: 4 }, precision: 'fp32' })
    const issues = issuesOf('model_name_or_path: Llama-2-7b-hf\nstage: dpo\nlora_rank: eight\noptim: adamw_9bit\ndeepspeed: ds.json\n', {}, 'lf.yaml')
    expect(issues.map((i) => i.path)).toEqual(['stage', 'lora_rank (→ lora.rank)', 'optim', 'deepspeed'])
  })

  it('a misspelt LLaMA-Factory key is ignored with a note', () => {
    expect(load('model_name_or_path: Llama-2-7b-hf\nlora_rnak: 64\nbf16: true\n', {}, 'lf.yaml').notes).toContain('lora_rnak is ignored: did you mean lora_rank?')
  })

  it('a Pulumi stack without ftplan:spec', () => {
    expect(issuesOf('config:\n  aws:region: us-east-1\n', {}, 'stacks/Pulumi.dev.yaml')[0]).toMatchObject({ path: 'config', message: 'no ftplan:spec key in the stack config' })
    expect(issuesOf('config:\n  aws:region: eu-west-1\n  ftplan:spec:\n    model: meta-llama/Llama-2-7b-hf\n    constraints: { regions: [us-east-1] }\n', {}, 'stacks/Pulumi.dev.yaml')[0])
      .toMatchObject({ line: 2, path: 'config.aws:region', message: 'the stack deploys to aws:region eu-west-1, which constraints.regions (us-east-1) leaves out' })
  })
})

describe('software: what the provisioned nodes install', () => {
  it('defaults, a release pin, none, and what is refused', async () => {
    const { llamafactoryRef, requirementsTxt } = await import('./software.js')
    const d = load('model: meta-llama/Llama-2-7b-hf\n').spec.software
    expect(requirementsTxt(d)).toBe('deepspeed==0.19.5\nllamafactory @ git+https://github.com/hiyouga/LLaMA-Factory.git@ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30\n')
    expect(llamafactoryRef(d)).toBe('ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30')
    const pinned = load("model: meta-llama/Llama-2-7b-hf\nsoftware: { deepspeed: '0.18.2', llamafactory: '0.9.4', packages: [flash-attn==2.8.3] }\n").spec.software
    expect(requirementsTxt(pinned)).toBe('deepspeed==0.18.2\nllamafactory==0.9.4\nflash-attn==2.8.3\n')
    expect(llamafactoryRef(pinned)).toBe('v0.9.4')
    expect(requirementsTxt(load('model: meta-llama/Llama-2-7b-hf\nsoftware: { llamafactory: none }\n').spec.software)).toBe('deepspeed==0.19.5\n')
    expect(issuesOf('model: meta-llama/Llama-2-7b-hf\nsoftware: { deepspeed: 0.19, packages: [--index-url=http://evil] }\n').map((i) => i.path)).toEqual(['software.deepspeed', 'software.packages[0]'])
  })
})

describe('a YAML that is not a spec at all', () => {
  it('gets one line saying so, naming its keys and the three forms ftplan reads, instead of a line per key', () => {
    const issues = issuesOf('foo: 1\nbar: 2\nbaz: { a: 1 }\nqux: 4\nquux: 5\n')
    expect(issues).toHaveLength(1)
    expect(issues[0]!.message).toBe("this is not an ftplan spec: none of its keys (foo, bar, baz, qux, …) is a spec key, a Pulumi stack's `config` or a LLaMA-Factory training key")
    expect(issues[0]!.allowed).toContain('a LLaMA-Factory training YAML')
  })
  it('one spec key is enough to read it as a spec and name each unknown key', () => {
    const issues = issuesOf('model: meta-llama/Llama-3.1-8B\nmethd: lora\n')
    expect(issues.map((i) => i.message)).toEqual(['unknown key'])
  })
})

describe('LLaMA-Factory keys that change a step in ways spec v1 cannot say are refused, each naming the key and why (issue #15)', () => {
  const LF = 'model_name_or_path: meta-llama/Llama-3.1-8B\nstage: sft\ndo_train: true\nfinetuning_type: full\nbf16: true\n'
  it.each([
    ['use_badam: true', 'use_badam', /BAdam updates one block of layers at a time/],
    ['mixture_of_depths: convert', 'mixture_of_depths', /mixture-of-depths routes tokens around layers/],
    ['fp8: true', 'fp8', /FP8 training/],
    ['fsdp: full_shard auto_wrap', 'fsdp', /FSDP shards without the fp32 master copy/],
    ['use_asft_loss: true', 'use_asft_loss', /loads a reference model beside the trained one/],
    ['use_dora: true', 'use_dora', /DoRA forms each adapted weight W \+ BA/],
    ['use_unsloth: true', 'use_unsloth', /Unsloth replaces the model's attention/],
    ['use_unsloth_gc: true', 'use_unsloth_gc', /moves the checkpoints to CPU memory/],
    ['shift_attn: true', 'shift_attn', /shifted sparse attention/],
    ['upcast_lmhead_output: true', 'upcast_lmhead_output', /keeps the logits in fp32/],
    ['use_llama_pro: true', 'use_llama_pro', /LLaMA Pro trains expanded blocks/],
    ['use_mca: true', 'use_mca', /Megatron-Core/],
    ['use_megatron_bridge: true', 'use_megatron_bridge', /Megatron-Core parallelism/],
    ['use_hyper_parallel: true', 'use_hyper_parallel', /shards sequences and tensors/],
    ['use_kt: true', 'use_kt', /KTransformers/],
  ])('%s', (line, key, why) => {
    const issues = issuesOf(`${LF}${line}\n`)
    expect(issues.map((i) => i.path)).toEqual([key])
    expect(issues[0]!.message).toMatch(new RegExp(`^${key} is not modelled: `))
    expect(issues[0]!.message).toMatch(why)
  })
  it('the same keys switched off change nothing', () => {
    expect(() => load(`${LF}use_badam: false\nfp8: false\nfsdp: ''\nuse_dora: false\nuse_unsloth: false\nshift_attn: false\nfreeze_trainable_modules: all\n`)).not.toThrow()
  })
  it('freeze-tuning part of the layers, or modules beside them, is refused; LLaMA-Factory reads those keys only for freeze', () => {
    const FREEZE = LF.replace('finetuning_type: full', 'finetuning_type: freeze')
    expect(issuesOf(`${FREEZE}freeze_trainable_modules: mlp\n`)[0]!.message).toContain('freeze_trainable_modules is not modelled: freeze-tuning only some modules')
    expect(issuesOf(`${FREEZE}freeze_extra_modules: embed_tokens\n`)[0]!.message).toContain('freeze_extra_modules is not modelled: modules trained beside the layers')
    expect(() => load(`${LF}freeze_trainable_modules: mlp\n`)).not.toThrow()
  })
  it('DFT and EAFT losses cost what the standard loss does, and say so', () => {
    expect(load(`${LF}use_dft_loss: true\n`).notes.join('\n')).toContain('use_dft_loss: estimated as the standard loss')
  })
  it('a predict-only YAML trains nothing and is refused', () => {
    const issues = issuesOf('model_name_or_path: meta-llama/Llama-3.1-8B\nstage: sft\ndo_predict: true\nfinetuning_type: lora\n')
    expect(issues.map((i) => [i.path, i.message.split(':')[0]])).toEqual([['do_predict', 'a predict-only YAML (do_predict']])
  })
  it('galore_target is GaLore\'s own key, not a misspelt lora_target; lora_targt is', () => {
    expect(load(`${LF}galore_target: all\n`).notes.join('\n')).not.toContain('did you mean lora_target')
    expect(load(`${LF.replace('full', 'lora')}lora_targt: all\n`).notes).toContain('lora_targt is ignored: did you mean lora_target?')
  })
})

describe('a checkpoint stored quantized sets the weight bytes (config.json quantization_config, issue #15)', () => {
  // Meta-Llama-3-8B's shape stored as AWQ 4-bit: an 8B whose Linears take 4 bits, not the 16 GB of bf16 weights
  const config = { model_type: 'llama', hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 128256, quantization_config: { quant_method: 'awq', bits: 4, group_size: 128, zero_point: true } }
  const files = { 'awq/config.json': JSON.stringify(config) }
  it('LoRA on it is QLoRA at 4 bits, said in the notes; its frozen Linears count as 4-bit weights', async () => {
    const l = load('model: ./awq\nmethod: lora\n', files)
    expect(l.spec.quantization).toBe('4bit')
    expect(l.spec.method).toBe('qlora')
    expect(l.notes.join('\n')).toContain('the checkpoint is stored quantized (config.json quantization_config: awq, 4-bit): its Linears count 4 bits')
    const { estimateMemory } = await import('../memory/estimate.js')
    const { strategyFromSpec } = await import('../memory/strategy.js')
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    // 32 layers × 218,103,808 Linear weights at 0.5159 B, the embedding and lm_head (2 × 525,336,576) at 2 B, plus adapters
    const linears = 32 * (4096 * 4096 * 2 + 4096 * 1024 * 2 + 3 * 4096 * 14336)
    expect(e.perGpu.breakdown.weights / 1e9).toBeGreaterThan((linears * 0.5159 + 2 * 525_336_576 * 2) / 1e9)
    expect(e.perGpu.breakdown.weights / 1e9).toBeLessThan(6.5)
  })
  it('full or freeze fine-tuning of it is refused, and so is another quantization than the stored one', () => {
    expect(issuesOf('model: ./awq\nmethod: full\n', files).map((i) => [i.path, i.message])).toEqual([['method', 'the checkpoint is stored quantized (config.json quantization_config: awq, 4-bit): its weights are frozen integers, so method full cannot train them']])
    expect(issuesOf('model: ./awq\nmethod: qlora\nquantization: 8bit\n', files).map((i) => i.path)).toEqual(['quantization'])
  })
  it('LLaMA-Factory keeps it off ZeRO-3 (quantization.py:101-106), so an explicit zero: 3 is refused and plan leaves ZeRO-3 out', () => {
    expect(issuesOf('model: ./awq\nmethod: lora\ndeepspeed: { zero: 3 }\n', files).map((i) => i.path)).toEqual(['deepspeed.zero'])
    expect(load('model: ./awq\nmethod: lora\n', files).spec.trainerFeatures).toEqual(['prequantized'])
  })
})
