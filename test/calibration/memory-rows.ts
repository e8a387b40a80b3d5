import type { TrainingLoop } from '../../src/memory/estimate.js'
import { LITGPT_LOOP } from './litgpt-loop.js'
import measurements from '../fixtures/calibration/memory-measurements.json' with { type: 'json' }

/** One published measurement (test/fixtures/calibration/memory-measurements.json, from measured-calibration.yaml). */
export interface MeasuredRow {
  id: string
  source: string
  model: { name: string; layers: number; hidden: number; heads: number; kv_heads: number; intermediate: number; vocab: number; tied_embeddings: boolean; mlp?: string | null; arch_source?: string }
  method: string
  lora: { rank: number; alpha: number; targets: string[] | string } | null
  quant_bits: number | null
  precision: string
  optimizer: string
  micro_batch: number
  seq_len: number | string
  grad_ckpt: boolean | string
  flash_attn: string
  fsdp: string | null
  gpus: number
  gpu_type: string
  grad_accum: number | string | null
  framework: string
  confidence: string
  notes: string
  measured: { kind: string; gpu_peak_gb: number | null; gpu_peak_gib: number | null }
}

export const ROWS = (measurements as unknown as { rows: MeasuredRow[] }).rows

/** Which estimate figure a measurement is compared with (issue #3): allocator peaks, or what the GPU shows. */
export type Metric = 'peakAllocatedBytes' | 'peakReservedBytes' | 'totalBytes'

export type Expressed =
  /** `loop`: LitGPT's finetune loop keeps more than a HF Trainer step (litgpt-loop.ts); undefined: the HF step. */
  | { ok: true; spec: string; metric: Metric; measuredBytes: number; loop: TrainingLoop | undefined }
  | { ok: false; reason: string }

const MODEL_TYPE: Record<string, string> = {
  'meta-llama': 'llama', TinyLlama: 'llama', mistralai: 'mistral', 'google/gemma-2-': 'gemma2', 'google/gemma-': 'gemma', 'microsoft/Phi-3': 'phi3',
}

/** LitGPT's and torchtune's LoRA module names → transformers' names. */
const TARGETS: Record<string, string[]> = {
  query: ['q_proj'], key: ['k_proj'], value: ['v_proj'], projection: ['o_proj'], mlp: ['gate_proj', 'up_proj', 'down_proj'], head: ['lm_head'],
  q_proj: ['q_proj'], k_proj: ['k_proj'], v_proj: ['v_proj'], output_proj: ['o_proj'], MLP: ['gate_proj', 'up_proj', 'down_proj'],
  'MLP w1/w2/w3': ['gate_proj', 'up_proj', 'down_proj'], 'output (lm head)': ['lm_head'],
}

/**
 * Rows whose quote does not name the metric but whose source does, in the same commit. torchtune's tutorial reports
 * Llama-3-8B LoRA at "a peak memory usage of 18.5 GB"; its README at that commit (pytorch/torchtune README.md:93
 * @20747cd8) calls the same run "a peak allocated memory of ~19GB", and memory_stats_log (torchtune/utils/memory.py:186-188
 * @20747cd8) logs only torch allocator stats, never the CUDA context.
 */
const METRIC_NAMED_ELSEWHERE: Record<string, Metric> = { 'torchtune-tut-llama3-8b-lora-1gpu': 'peakAllocatedBytes' }

/**
 * The ftplan spec for a published set-up, or why spec v1 cannot say it. Nothing here is fitted per row:
 * each rule is a fact of the framework the row ran (LitGPT: true bf16 and chunked cross-entropy; torchtune:
 * bf16 weights and optimizer state; the loss, checkpointing and sequence length each row states).
 */
export function expressRow(r: MeasuredRow, includeOom = false): Expressed {
  if (r.measured.kind === 'oom' && !includeOom) return { ok: false, reason: 'an out-of-memory report, checked separately' }
  if (r.gpus > 1 || r.fsdp) return { ok: false, reason: 'FSDP: spec v1 describes DeepSpeed ZeRO, whose fp32 master weights FSDP with bf16 does not keep' }
  if (r.model.mlp?.startsWith('gelu') || /falcon|stablelm|phi-1_5|phi-2|bert/i.test(r.model.name)) return { ok: false, reason: `architecture of ${r.model.name} is not a family ftplan counts` }
  const flags = r.notes
  if (/compile=True|torch compile|torch\.compile on/.test(flags)) return { ok: false, reason: 'torch.compile changes what is saved; spec v1 has no compile flag' }
  if (/optimizer_in_bwd=True|optimizer_in_bwd=True/.test(flags) || /optimizer_in_bwd=True/.test(r.optimizer)) return { ok: false, reason: 'optimizer step fused into backward (torchtune optimizer_in_bwd)' }
  if (/activation_offloading=True/.test(flags)) return { ok: false, reason: 'activation offloading to CPU (torchtune)' }
  if (typeof r.grad_ckpt !== 'boolean') return { ok: false, reason: 'gradient checkpointing not stated' }
  if (/bf16-mixed/.test(r.precision) && /lit-?gpt/i.test(r.framework)) {
    return { ok: false, reason: 'LitGPT bf16-mixed keeps the frozen base in fp32; spec v1 bf16 means a 16-bit frozen base' }
  }
  if (/torchtune/.test(r.framework) && r.quant_bits) {
    return { ok: false, reason: 'torchtune QLoRA peaks at model init (9.13 GB reserved at init, 9.29 GB in training, tutorial table): loading, not the training step' }
  }
  const seq = typeof r.seq_len === 'number' ? r.seq_len : /^(?:s)?<=\s*(\d+)|^(\d+)/.exec(String(r.seq_len))
  let seqLen: number
  if (typeof seq === 'number') seqLen = seq
  else if (seq && /truncated at 512|<=512/.test(String(r.seq_len) + flags) && !/unpacked/.test(String(r.seq_len))) seqLen = Number(seq[1] ?? seq[2])
  else if (seq && /packed/.test(String(r.seq_len)) && !/unpacked/.test(String(r.seq_len))) seqLen = Number(seq[2] ?? seq[1])
  else return { ok: false, reason: `sequence length not known (${r.seq_len})` }

  const litgpt = /lit-?gpt/i.test(r.framework)
  const type = Object.entries(MODEL_TYPE).find(([prefix]) => r.model.name.startsWith(prefix))?.[1]
  if (!type) return { ok: false, reason: `no family for ${r.model.name}` }
  const headDim = /head_dim (\d+)/.exec(r.model.arch_source ?? '')?.[1]
  const model = [
    `  name: ${r.model.name}`, `  model_type: ${type}`, `  hidden_size: ${r.model.hidden}`, `  num_hidden_layers: ${r.model.layers}`,
    `  num_attention_heads: ${r.model.heads}`, `  num_key_value_heads: ${r.model.kv_heads}`, `  intermediate_size: ${r.model.intermediate}`,
    // LitGPT's GPT keeps lm_head as its own Linear: converting a tied checkpoint copies the embedding into it.
    `  vocab_size: ${r.model.vocab}`, `  tie_word_embeddings: ${r.model.tied_embeddings && !litgpt}`, ...(headDim ? [`  head_dim: ${headDim}`] : []),
  ]
  const precision = /bf16-true|torchtune dtype=bf16|bf16 \(torchtune|^bf16 \(see/.test(r.precision) ? 'pure_bf16' : /bf16-mixed/.test(r.precision) ? 'bf16' : /fp16/.test(r.precision) ? 'fp16' : /fp32/.test(r.precision) ? 'fp32' : 'pure_bf16'
  const optimizer = /PagedAdamW8bit|paged_adamw_8bit/i.test(r.optimizer) ? 'paged_adamw_8bit' : /PagedAdamW/.test(r.optimizer) ? 'paged_adamw' : /8-?bit/i.test(r.optimizer) ? 'adamw_8bit' : 'adamw'
  // LitGPT always uses its chunked cross-entropy; torchtune rows name their loss.
  const loss = litgpt || /chunked_cross_entropy=True|CEWithChunkedOutputLoss/.test(flags) ? 'chunked' : 'standard'
  const lines = ['model:', ...model, `method: ${r.method}`, `precision: ${precision}`, `optimizer: ${optimizer}`, `batch: { micro: ${r.micro_batch}, accumulation: ${accumulation(r)} }`,
    // LitGPT's Gemma 2 attention soft-caps its scores, which SDPA cannot: it computes them explicitly (eager).
    `seq_len: ${seqLen}`, `gradient_checkpointing: ${r.grad_ckpt}`, `attention: ${litgpt && type === 'gemma2' ? 'eager' : 'sdpa'}`, `loss: ${loss}`, 'deepspeed: { zero: 0, offload: none }']
  if (r.method !== 'full') {
    if (!r.lora || typeof r.lora.targets === 'string') return { ok: false, reason: 'LoRA targets not stated' }
    const fused: Record<string, string> = { q_proj: 'qkv_proj', k_proj: 'qkv_proj', v_proj: 'qkv_proj', gate_proj: 'gate_up_proj', up_proj: 'gate_up_proj' }
    const names = r.lora.targets.flatMap((t) => TARGETS[t] ?? []).map((t) => (type === 'phi3' ? fused[t] ?? t : t))
    const targets = [...new Set(names)]
    if (targets.length === 0) return { ok: false, reason: `LoRA targets ${r.lora.targets.join(', ')} not mapped` }
    // LitGPT's LoRA configs and finetune/lora.py use lora_dropout 0.05; torchtune's 2024 builders default to 0.0.
    const dropout = litgpt ? 0.05 : 0
    lines.push(`lora: { rank: ${r.lora.rank}, alpha: ${r.lora.alpha}, dropout: ${dropout}, targets: [${targets.join(', ')}] }`)
    if (r.quant_bits) lines.push(`quantization: ${r.quant_bits}bit`)
  }
  const metric: Metric = METRIC_NAMED_ELSEWHERE[r.id] ?? (r.measured.kind === 'max_allocated' ? 'peakAllocatedBytes' : r.measured.kind === 'max_reserved' ? 'peakReservedBytes' : 'totalBytes')
  const measuredBytes = r.measured.gpu_peak_gib ? r.measured.gpu_peak_gib * 2 ** 30 : (r.measured.gpu_peak_gb ?? 0) * 1e9
  return { ok: true, spec: lines.join('\n') + '\n', metric, measuredBytes, loop: litgpt ? LITGPT_LOOP : undefined }
}

/** Gradient accumulation as the row states it, or global batch ÷ micro-batch from its config notes. */
function accumulation(r: MeasuredRow): number {
  if (typeof r.grad_accum === 'number') return r.grad_accum
  const global = /global_batch_size (\d+)/.exec(r.notes)?.[1]
  return global ? Math.max(1, Math.round(Number(global) / r.micro_batch)) : 1
}

/** GPU memory of the card a row ran on, physical GiB (an out-of-memory row must not fit even that). */
export function gpuMemoryBytes(r: MeasuredRow): number | null {
  const gb = /(\d+)\s*GB/.exec(r.gpu_type)?.[1]
  return gb ? Number(gb) * 2 ** 30 : null
}
