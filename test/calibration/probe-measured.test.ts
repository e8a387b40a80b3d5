import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { estimateMemory } from '../../src/memory/estimate.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import { loadProbeRecords, probeSpec, type ProbeRecord } from './probe-rows.js'

// GPU measurements from shared/tools/gpu-probe/probe.py, committed under test/fixtures/measured/ by a task
// that had a GPU (issue #3: each estimate's peakAllocatedBytes within 10% of the measured max_allocated).
const DIR = fileURLToPath(new URL('../fixtures/measured/', import.meta.url))
const measured = loadProbeRecords(DIR)

function estimateOf(r: ProbeRecord): number {
  const l = loadSpec(probeSpec(r), `${r.model}.yaml`, memorySources())
  return estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch)).perGpu.peakAllocatedBytes
}

describe('GPU probe measurements (test/fixtures/measured/)', () => {
  it('every measured peak is estimated within 10% by peakAllocatedBytes', () => {
    const rows = measured.map(({ file, record }) => ({ file, record, estimated: estimateOf(record) }))
    for (const { file, record, estimated } of rows) {
      const error = (estimated - record.max_allocated) / record.max_allocated
      console.log(`${file} ${record.env.gpu} ${record.model} ${record.method} ${record.precision} b=${record.micro_batch} s=${record.seq_len} ckpt=${record.grad_ckpt} ${record.attention}: measured ${(record.max_allocated / 1e9).toFixed(2)} GB, estimated ${(estimated / 1e9).toFixed(2)} GB, ${(error * 100).toFixed(1)}%`)
      expect(Math.abs(error), `${file}: ${record.model} ${record.method} ${record.precision}`).toBeLessThanOrEqual(0.1)
    }
    if (rows.length === 0) console.log('no GPU probe measurements committed yet (no task with a GPU has run probe.py)')
  })

  it('a probe case becomes the spec probe.py ran: PEFT LoRA over a bf16 base is fp32 adapters under autocast', () => {
    // A record shaped as probe.py writes it (not a measurement): Llama-2-7b LoRA r8 on all seven projections.
    const record: ProbeRecord = {
      model: 'Llama-2-7b',
      arch: { model_type: 'llama', hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, intermediate_size: 11008, vocab_size: 32000, tie_word_embeddings: false, max_position_embeddings: 4096 },
      method: 'lora', precision: 'bf16_base', micro_batch: 1, seq_len: 1024, grad_ckpt: true, attention: 'sdpa',
      lora: { r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
      freeze_trainable_layers: null, max_allocated: 0, env: { gpu: 'none', torch: '', transformers: '' },
    }
    const l = loadSpec(probeSpec(record), 'probe.yaml', memorySources())
    expect(l.params.total).toBe(6_738_415_616)
    expect(l.spec).toMatchObject({ method: 'lora', precision: 'bf16', optimizer: 'adamw', loss: 'standard', attention: 'sdpa', seqLenTokens: 1024 })
    expect(l.spec.lora).toMatchObject({ rank: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] })
    const freeze = loadSpec(probeSpec({ ...record, method: 'freeze', lora: null, freeze_trainable_layers: 2 }), 'probe.yaml', memorySources())
    expect(freeze.spec).toMatchObject({ method: 'freeze', precision: 'pure_bf16', freeze: { trainableLayers: 2 } })
  })

  it('reads every ok line of every .jsonl file and leaves out oom and error lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-probe-'))
    try {
      // Shaped as probe.py writes: Qwen2.5-0.5B full fine-tuning under AMP, then an out-of-memory case.
      const ok = { model: 'Qwen2.5-0.5B', arch: { model_type: 'qwen2', hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936, tie_word_embeddings: true, max_position_embeddings: 32768 }, method: 'full', precision: 'amp_bf16', micro_batch: 1, seq_len: 512, grad_ckpt: false, attention: 'sdpa', lora: null, freeze_trainable_layers: null, max_allocated: 1, status: 'ok', env: { gpu: 'x' } }
      writeFileSync(join(dir, 'h100.jsonl'), `${JSON.stringify(ok)}\n${JSON.stringify({ case: ['Qwen2.5-7B'], status: 'oom' })}\n`)
      writeFileSync(join(dir, 'notes.txt'), 'not a measurement')
      const records = loadProbeRecords(dir)
      expect(records.map((r) => [r.file, r.record.model])).toEqual([['h100.jsonl', 'Qwen2.5-0.5B']])
      const l = loadSpec(probeSpec(records[0]!.record), 'probe.yaml', memorySources())
      expect(l.spec).toMatchObject({ method: 'full', precision: 'bf16' })
      expect(l.model.arch).toMatchObject({ family: 'qwen2', tieWordEmbeddings: true, attentionBias: 'qkv' })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
