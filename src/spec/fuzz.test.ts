import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { SpecError } from '../errors.js'
import { loadSpec } from './load.js'

// Every input must end as a normalized spec or a SpecError listing its problems, never another exception.
const sources = memorySources({
  'ds.json': JSON.stringify({ zero_optimization: { stage: 3, offload_param: { device: 'cpu' }, offload_optimizer: { device: 'cpu' } } }),
  'tiny/config.json': JSON.stringify({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 }),
})

function outcome(text: string, file: string): 'spec' | 'error' {
  try {
    const loaded = loadSpec(text, file, sources)
    const s = loaded.spec
    expect(Number.isInteger(s.batch.micro) && s.batch.micro >= 1).toBe(true)
    expect(Number.isSafeInteger(loaded.params.total) && loaded.params.total > 0).toBe(true)
    // LoRA adapters can outnumber a tiny model's own weights (rank above the hidden size), so only sanity here.
    expect(Number.isSafeInteger(loaded.trainable.trainable) && loaded.trainable.trainable >= 0).toBe(true)
    return 'spec'
  } catch (e) {
    if (!(e instanceof SpecError)) throw e
    expect(e.issues.length).toBeGreaterThan(0)
    for (const issue of e.issues) {
      expect(typeof issue.message).toBe('string')
      expect(issue.message.length).toBeGreaterThan(0)
    }
    return 'error'
  }
}

const BASES: { file: string; doc: Record<string, unknown> }[] = [
  {
    file: 'spec.yaml',
    doc: {
      model: 'meta-llama/Llama-3.1-8B', method: 'lora', lora: { rank: 16, alpha: 32, dropout: 0.05, targets: ['q_proj', 'v_proj'], modules_to_save: ['lm_head'] },
      precision: 'bf16', optimizer: 'adamw', batch: { micro: 2, accumulation: 8 }, seq_len: 4096, gradient_checkpointing: true,
      attention: 'flash', loss: 'chunked', deepspeed: { zero: 3, offload: 'optimizer+params', offload_device: 'nvme' }, gpus: 8,
      train: { tokens: 2e9, epochs: 1 }, constraints: { provider: 'aws', regions: ['us-east-1'], spot: true, max_nodes: 4, gpus: ['H100'], max_hourly_usd: 150, budget_usd: 5000 },
      margin: 0.1,
    },
  },
  { file: 'full.yaml', doc: { model: 'mistralai/Mixtral-8x7B-v0.1', method: 'full', precision: 'pure_bf16', optimizer: 'adafactor', train: { samples: 100, avg_tokens: 900 } } },
  { file: 'freeze.yaml', doc: { model: { name: 'tiny', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 }, method: 'freeze', freeze: { trainable_layers: -1 } } },
  { file: 'stacks/Pulumi.dev.yaml', doc: { config: { 'aws:region': 'us-east-1', 'ftplan:spec': { model: './tiny', method: 'qlora', quantization: '8bit' } } } },
  {
    file: 'lf.yaml',
    doc: {
      model_name_or_path: 'Qwen/Qwen2.5-7B-Instruct', stage: 'sft', finetuning_type: 'lora', lora_rank: 8, lora_target: 'all',
      quantization_bit: 4, cutoff_len: 2048, per_device_train_batch_size: 2, bf16: true, flash_attn: 'fa2', deepspeed: 'ds.json', dataset: 'alpaca',
    },
  },
]

const nasty = fc.oneof(
  fc.constantFrom(0, -1, 1.5, -1e308, 1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 1e-300, '', 'auto', 'all', true, false, null, [], {}, '__proto__', 'constructor'),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.double(),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 300 }).map((depth) => {
    let v: unknown = 1
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v }
    return v
  }),
)

type Mutation = { kind: 'set' | 'delete' | 'add'; pathPick: number[]; value: unknown; key: string }
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set', 'set', 'delete', 'add'),
  pathPick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  value: nasty,
  key: fc.oneof(fc.constantFrom('model', 'lora', 'rank', 'micro', 'ftplan:spec', 'x'), fc.string({ unit: 'grapheme', maxLength: 12 })),
})

function mutate(doc: unknown, m: Mutation): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>
  let node: Record<string, unknown> = copy
  for (let depth = 0; depth < m.pathPick.length; depth++) {
    const keys = Object.keys(node)
    if (keys.length === 0) break
    const key = keys[m.pathPick[depth]! % keys.length]!
    const last = depth === m.pathPick.length - 1
    const child = node[key]
    if (last || typeof child !== 'object' || child === null) {
      if (m.kind === 'delete') delete node[key]
      else if (m.kind === 'add') Object.defineProperty(node, m.key, { value: m.value, enumerable: true, writable: true, configurable: true })
      else node[key] = m.value
      break
    }
    node = child as Record<string, unknown>
  }
  return copy
}

describe('fuzz: random and mutated specs never escape as anything but SpecError', () => {
  it('mutated valid specs in all three forms (4,000 runs)', () => {
    const seen = { spec: 0, error: 0 }
    fc.assert(
      fc.property(fc.nat({ max: BASES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (b, ms) => {
        const base = BASES[b]!
        const doc = ms.reduce<unknown>((d, m) => mutate(d, m), base.doc)
        seen[outcome(stringify(doc, { aliasDuplicateObjects: false }), base.file)]++
      }),
      { numRuns: 4000 },
    )
    expect(seen.spec).toBeGreaterThan(100) // mutations that keep a spec valid still load
    expect(seen.error).toBeGreaterThan(1000)
  })

  it('arbitrary YAML documents (3,000 runs)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('spec.yaml', 'lf.yaml', 'stacks/Pulumi.x.yaml'), (value, file) => {
        outcome(stringify(value), file)
      }),
      { numRuns: 3000 },
    )
  })

  it('text edits: duplicated lines (duplicate keys), deleted and inserted characters, unicode (2,500 runs)', () => {
    const texts = BASES.map((b) => ({ file: b.file, text: stringify(b.doc) }))
    fc.assert(
      fc.property(
        fc.nat({ max: texts.length - 1 }),
        fc.array(fc.record({ op: fc.constantFrom('dup', 'del', 'ins', 'cut'), at: fc.nat(), s: fc.string({ unit: 'grapheme', maxLength: 4 }) }), { minLength: 1, maxLength: 3 }),
        (t, edits) => {
          let { text } = texts[t]!
          for (const e of edits) {
            const lines = text.split('\n')
            const i = e.at % Math.max(1, text.length)
            if (e.op === 'dup') lines.splice(e.at % lines.length, 0, lines[e.at % lines.length]!)
            text = e.op === 'dup' ? lines.join('\n') : e.op === 'del' ? text.slice(0, i) + text.slice(i + 1) : e.op === 'ins' ? text.slice(0, i) + e.s + text.slice(i) : text.slice(0, i)
          }
          outcome(text, texts[t]!.file)
        },
      ),
      { numRuns: 2500 },
    )
  })

  it('raw strings, deep nesting and huge scalars (500 runs)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 200 }),
          fc.integer({ min: 1, max: 5000 }).map((n) => `model: ${'['.repeat(n)}${']'.repeat(n)}\n`),
          fc.integer({ min: 1, max: 2000 }).map((n) => `model: meta-llama/Llama-2-7b-hf\nlora: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`),
          fc.integer({ min: 1, max: 400 }).map((n) => `model: Llama-2-7b-hf\nseq_len: ${'9'.repeat(n)}\n`),
          fc.constant('a: &x [*x]\n'),
          fc.constant(`a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nmodel: x\n`),
        ),
        (text) => {
          outcome(text, 'spec.yaml')
        },
      ),
      { numRuns: 500 },
    )
  })
})
