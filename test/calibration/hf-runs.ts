import published from '../fixtures/calibration/qwen-hf-throughput.json' with { type: 'json' }
import type { ExpressedRun } from './throughput-rows.js'

/** One published HF-stack run (test/fixtures/calibration/qwen-hf-throughput.json names the source and the set-up). */
export interface HfRun {
  id: string
  model: { name: string; hidden: number; layers: number; heads: number; kv_heads: number; intermediate: number; vocab: number }
  modules_to_save: string[]
  seq_len: number
  seconds_per_step: number
  tokens_per_sec_per_gpu: number
}

export const HF_RUNS = (published as unknown as { rows: HfRun[] }).rows

/** Each run as the spec its set-up states: one A100 80GB, micro-batch 1 × accumulation 8, checkpointing, LoRA r64 on every Linear. */
export function expressHfRun(r: HfRun): Extract<ExpressedRun, { ok: true }> {
  const m = r.model
  const save = r.modules_to_save.length ? `, modules_to_save: [${r.modules_to_save.join(', ')}]` : ''
  const spec = [
    'model:', `  name: ${m.name}`, '  model_type: qwen2', `  hidden_size: ${m.hidden}`, `  num_hidden_layers: ${m.layers}`,
    `  num_attention_heads: ${m.heads}`, `  num_key_value_heads: ${m.kv_heads}`, `  intermediate_size: ${m.intermediate}`,
    `  vocab_size: ${m.vocab}`, '  tie_word_embeddings: false',
    'method: lora', 'precision: bf16', `seq_len: ${r.seq_len}`, 'batch: { micro: 1, accumulation: 8 }', 'gradient_checkpointing: true',
    'attention: flash', `lora: { rank: 64, alpha: 16, dropout: 0.05, targets: all${save} }`,
  ].join('\n') + '\n'
  return { ok: true, spec, gpu: 'A100-80GB', gpus: 1, nodes: 1, zeroStage: 0, measuredPerGpu: r.tokens_per_sec_per_gpu }
}
