import measurements from '../fixtures/calibration/throughput-measurements.json' with { type: 'json' }
import { AWS_OFFERS } from '../../src/instances/aws.js'
import { GPU_MODELS } from '../../src/instances/gpus.js'
import type { GpuName } from '../../src/instances/names.js'
import { modelFacts } from '../../src/memory/model-facts.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { stepTime } from '../../src/planner/job-time.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import type { InstanceOffer } from '../../src/instances/types.js'

/** One published throughput (test/fixtures/calibration/throughput-measurements.json). */
export interface ThroughputRow {
  id: string
  model: { name: string; layers: number; hidden: number; heads: number; kv_heads: number; intermediate: number; vocab: number; tied_embeddings: boolean; mlp?: string }
  method: string
  lora: { rank: number; targets: string[] | string } | null
  quant_bits: number | null
  precision: string
  micro_batch: number | string
  grad_accum: number | string | null
  seq_len: number | string
  grad_ckpt: boolean | string
  fsdp: string | null
  zero_stage: string | number | null
  offload: string | null
  gpus: number
  nodes: number | string | null
  gpu_type: string
  framework: string
  notes: string
  measured: { tokens_per_sec_per_gpu: number | null; mfu: number | null }
}

export const THROUGHPUT_ROWS = (measurements as unknown as { rows: ThroughputRow[] }).rows

export type ExpressedRun =
  | { ok: true; spec: string; gpu: GpuName; gpus: number; nodes: number; zeroStage: 0 | 1 | 3; measuredPerGpu: number }
  | { ok: false; reason: string }

/**
 * The spec and hardware of a published run, or why spec v1 cannot say it. Framework facts only: an MPT
 * block (2-matrix GELU MLP of width 4h) has the parameters and FLOPs of a 3-matrix MLP of width 8h/3, so it
 * is written as one; FSDP full sharding moves the same bytes as ZeRO-3.
 */
export function expressRun(r: ThroughputRow): ExpressedRun {
  const t = r.measured.tokens_per_sec_per_gpu
  if (!t) return { ok: false, reason: 'no tokens/s per GPU' }
  if (/fp8/i.test(r.precision) || /fp8/i.test(r.id)) return { ok: false, reason: 'FP8 training is not in spec v1' }
  if (/compile/i.test(r.id) || /compile=True/.test(r.notes) || /torch compile enabled/.test(r.notes)) return { ok: false, reason: 'torch.compile is not in spec v1' }
  if (typeof r.grad_ckpt !== 'boolean') return { ok: false, reason: `activation checkpointing ${r.grad_ckpt}` }
  const gpu: GpuName | undefined = /H100 80GB/.test(r.gpu_type) ? 'H100' : /A100.*80/.test(r.gpu_type) ? 'A100-80GB' : /A100.*40/.test(r.gpu_type) ? 'A100-40GB' : undefined
  if (!gpu) return { ok: false, reason: `GPU ${r.gpu_type} is not in ftplan's table` }
  const seq = typeof r.seq_len === 'number' ? r.seq_len : /^(\d+) \(packed\)$/.exec(r.seq_len)?.[1]
  if (!seq) return { ok: false, reason: `sequence length ${r.seq_len}` }
  const micro = typeof r.micro_batch === 'number' ? r.micro_batch : /^(\d+) x \d+ packed$/.exec(String(r.micro_batch))?.[1]
  if (!micro) return { ok: false, reason: `micro-batch ${r.micro_batch}` }
  const m = r.model
  const mpt = /^gelu/.test(m.mlp ?? '')
  if (!mpt && m.mlp !== 'swiglu') return { ok: false, reason: `MLP ${m.mlp}` }
  const intermediate = mpt ? Math.round((8 * m.hidden) / 3) : m.intermediate
  const nodes = typeof r.nodes === 'number' ? r.nodes : Math.max(1, Math.ceil(r.gpus / 8))
  const zeroStage = r.fsdp ? 3 : /ZeRO-1/.test(String(r.zero_stage)) ? 1 : 0
  const lines = [
    'model:', `  name: ${m.name.split(' ')[0]}`, `  model_type: ${/qwen/i.test(m.name) ? 'qwen2' : 'llama'}`, `  hidden_size: ${m.hidden}`, `  num_hidden_layers: ${m.layers}`,
    `  num_attention_heads: ${m.heads}`, `  num_key_value_heads: ${m.kv_heads}`, `  intermediate_size: ${intermediate}`, `  vocab_size: ${m.vocab}`,
    `  tie_word_embeddings: ${m.tied_embeddings}`,
    `method: ${r.method}`, `seq_len: ${seq}`, `gradient_checkpointing: ${r.grad_ckpt}`, 'attention: flash',
    `batch: { micro: ${micro}, accumulation: ${typeof r.grad_accum === 'number' ? r.grad_accum : 1} }`,
  ]
  if (r.method !== 'full') lines.push(`lora: { rank: ${r.lora?.rank ?? 16} }`)
  return { ok: true, spec: lines.join('\n') + '\n', gpu, gpus: r.gpus, nodes, zeroStage, measuredPerGpu: t }
}

/**
 * The network a row is timed on. The sources do not state their clusters' fabric (MosaicML's platform, NVIDIA's
 * DGX clusters and InternEvo's are InfiniBand, at least as fast as these), so each row is timed on AWS's 8-GPU
 * instance of its GPU: p4d (A100-40GB, 400 Gbps EFA), p4de (A100-80GB, 400 Gbps EFA), p5 (H100, 3200 Gbps EFA),
 * the slowest fabric a buyer of these rows' GPUs gets, so a pass here does not lean on a fast network.
 */
export function calibrationOffer(gpu: GpuName): InstanceOffer {
  const offer = AWS_OFFERS.find((o) => o.gpu === gpu && o.gpuCount === 8 && o.region === 'us-east-1')
  if (!offer) throw new Error(`no 8-GPU ${gpu} instance in the AWS catalog`)
  return offer
}

/** ftplan's tokens/s per GPU of an expressed published run: the planner's own stepTime on that run's GPUs and nodes. */
export function estimatedTokensPerGpu(id: string, x: Extract<ExpressedRun, { ok: true }>, overlapExponent?: number): number {
  const l = loadSpec(x.spec, id, memorySources())
  const s = { ...strategyFromSpec(l.spec, l.model.arch, { gpus: x.gpus, zeroStage: x.zeroStage }), gpusPerNode: x.gpus / x.nodes }
  return stepTime(l.spec, l.model.arch, modelFacts(l.spec, l.model.arch), calibrationOffer(x.gpu), GPU_MODELS[x.gpu], x.nodes, s, overlapExponent)!.tokensPerSecond / x.gpus
}
