import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { SpecError, type Issue } from '../errors.js'
import { loadSpec } from '../spec/load.js'
import { checkDsConfig, type CheckHardware } from './check.js'

const spec = loadSpec(readFileSync(new URL('../../test/fixtures/specs/llama2-7b-full.yaml', import.meta.url), 'utf8'), 'spec.yaml', memorySources())
const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/ds/${name}`, import.meta.url), 'utf8')
const eight: CheckHardware = { gpus: 8, gpusPerNode: 8, gpuMemoryBytes: 80e9, hostMemoryBytes: null }
function issues(name: string, hw = eight): Issue[] {
  try {
    checkDsConfig(fixture(name), name, spec.spec, spec.model.arch, hw)
  } catch (e) {
    if (e instanceof SpecError) return [...e.issues]
    throw e
  }
  throw new Error('expected a SpecError')
}

describe('ftplan check: DeepSpeed\'s rules', () => {
  it('a train_batch_size that is not micro × accumulation × GPUs, with the three numbers', () => {
    expect(issues('batch-mismatch.json')).toEqual([{
      file: 'batch-mismatch.json', line: 2, col: 23, path: 'train_batch_size',
      message: 'train_batch_size 64 is not train_micro_batch_size_per_gpu 2 × gradient_accumulation_steps 2 × world size 8 = 32',
      allowed: '32, or change the micro-batch or accumulation',
    }])
  })
  it('malformed JSON: file:line:col', () => {
    const [i] = issues('malformed.json')
    expect(i).toMatchObject({ file: 'malformed.json', line: 4, col: 3 }) // where the missing comma is found
    expect(i!.message).toMatch(/^JSON syntax error/)
  })
  it('fp16 and bf16 together, param offload below stage 3, NVMe without a path, wrong types, unknown keys with the JSON path', () => {
    const found = issues('rules.json').map((i) => [i.path, i.message, i.didYouMean])
    expect(found).toEqual([
      ['fp16.enabled', 'fp16 and bf16 are both enabled; DeepSpeed allows one', undefined],
      ['zero_optimization.offload_param', 'parameter offload needs ZeRO stage 3, but the stage is 2', undefined],
      ['zero_optimization.offload_optimizer.device', 'NVMe offload needs nvme_path', undefined],
      ['zero_optimization.reduce_bucket_size', 'expected a non-negative number or "auto", got "big"', undefined],
      ['zero_optimization.stage3_prefetch_bucket', 'unknown key', 'stage3_prefetch_bucket_size'],
      ['gradient_clip', 'unknown key', 'gradient_clipping'],
    ])
  })
})

describe('ftplan check: the memory of exactly that config', () => {
  it('a config that cannot fit names the term that overflows and the changes that fit', () => {
    const r = checkDsConfig(fixture('too-big.json'), 'too-big.json', spec.spec, spec.model.arch, eight)
    expect(r.fits).toBe(false)
    // ZeRO-1 over 8 GPUs keeps 2 B weights and 2 B grads on every GPU and shards the rest; micro-batch 8 of
    // 2048 tokens without checkpointing makes activations the largest term.
    expect(r.overflow!.largest[0]!.term).toBe('activations')
    expect(r.overflow!.overBytes).toBeGreaterThan(0)
    expect(r.overflow!.fixes.some((f) => f.startsWith('turn on gradient checkpointing'))).toBe(true)
  })
  it('missing bucket sizes are DeepSpeed\'s defaults (5e8), "auto" ones are HF\'s (hidden²)', () => {
    const plain = checkDsConfig('{"train_micro_batch_size_per_gpu": 1, "bf16": {"enabled": true}, "zero_optimization": {"stage": 2}}', 'a.json', spec.spec, spec.model.arch, eight)
    expect(plain.strategy.zero.reduceBucketSize).toBe(5e8)
    const auto = checkDsConfig('{"train_micro_batch_size_per_gpu": "auto", "bf16": {"enabled": "auto"}, "zero_optimization": {"stage": 2, "reduce_bucket_size": "auto"}}', 'b.json', spec.spec, spec.model.arch, eight)
    expect(auto.strategy.zero.reduceBucketSize).toBe(4096 * 4096)
    expect(auto.strategy.microBatch).toBe(spec.spec.batch.micro)
    expect(auto.estimate.perGpu.breakdown.zeroBuffers).toBeLessThan(plain.estimate.perGpu.breakdown.zeroBuffers)
  })
})
