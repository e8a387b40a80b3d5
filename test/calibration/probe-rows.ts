import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ALLOCATOR_PEAK_FRACTION } from '../../src/memory/constants.js'
import { estimateMemory } from '../../src/memory/estimate.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import { GPU_MODELS } from '../../src/instances/gpus.js'
import { modelFacts } from '../../src/memory/model-facts.js'
import { stepTime } from '../../src/planner/job-time.js'
import { calibrationOffer } from './throughput-rows.js'

/** One `status: ok` line of shared/tools/gpu-probe/probe.py output (a HF transformers + PEFT training step). */
export interface ProbeRecord {
  model: string
  arch: Record<string, string | number | boolean>
  method: 'full' | 'lora' | 'freeze'
  /** amp_bf16: fp32 weights under autocast; pure_bf16: bf16 weights and Adam state; bf16_base: bf16 base under autocast. */
  precision: 'amp_bf16' | 'pure_bf16' | 'bf16_base'
  micro_batch: number
  seq_len: number
  grad_ckpt: boolean
  attention: 'sdpa' | 'eager'
  lora: { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[] } | null
  freeze_trainable_layers: number | null
  max_allocated: number
  /** torch.cuda.max_memory_reserved and the whole process's device memory (reserved + CUDA context); absent in older probe output. */
  max_reserved?: number
  device_used?: number
  env: { gpu: string; torch: string; transformers: string; peft?: string }
}

/** Every successful probe measurement under `dir` (*.jsonl, one JSON object a line), with the file it came from. */
export function loadProbeRecords(dir: string): { file: string; record: ProbeRecord }[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort().flatMap((f) =>
    readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['status'] === 'ok').map((r) => ({ file: f, record: r as unknown as ProbeRecord })))
}

/**
 * The ftplan spec of a probe case. The probe's facts, as probe.py sets them: the model is built from its
 * config on the GPU; `labels=ids` gives transformers' standard loss; torch AdamW with foreach=False updates
 * each tensor in place; PEFT's default autocast_adapter_dtype keeps LoRA adapters fp32 over a bf16 base
 * (ftplan's `bf16`), while freeze-tuning trains bf16 weights with bf16 Adam state (`pure_bf16`).
 */
export function probeSpec(r: ProbeRecord): string {
  const model = Object.entries(r.arch).map(([k, v]) => `  ${k}: ${v}`)
  const precision = r.precision === 'amp_bf16' ? 'bf16' : r.precision === 'pure_bf16' ? 'pure_bf16' : r.method === 'lora' ? 'bf16' : 'pure_bf16'
  const lines = ['model:', `  name: ${r.model}`, ...model, `method: ${r.method}`, `precision: ${precision}`, 'optimizer: adamw',
    `batch: { micro: ${r.micro_batch}, accumulation: 1 }`, `seq_len: ${r.seq_len}`, `gradient_checkpointing: ${r.grad_ckpt}`,
    `attention: ${r.attention}`, 'loss: standard', 'deepspeed: { zero: 0, offload: none }']
  if (r.lora) lines.push(`lora: { rank: ${r.lora.r}, alpha: ${r.lora.lora_alpha}, dropout: ${r.lora.lora_dropout}, targets: [${r.lora.target_modules.join(', ')}] }`)
  if (r.freeze_trainable_layers) lines.push(`freeze: { trainable_layers: ${r.freeze_trainable_layers} }`)
  return lines.join('\n') + '\n'
}

/**
 * What probe.py's own loop keeps beyond a HF Trainer step, as bytes per phase of ftplan's estimate:
 * - `out = model(...)` lives until the next forward returns, so the step's bf16 logits (micro × seq × vocab × 2:
 *   the lm_head runs in bf16, under autocast or not) are alive through its backward and optimizer step, and the
 *   previous step's through the next forward. HF Trainer's compute_loss returns the loss only, and drops them.
 * - torch.optim.AdamW(foreach=False) steps one tensor at a time through `exp_avg_sq.sqrt() / bias_correction2_sqrt`
 *   (torch/optim/adamw.py, _single_tensor_adam): two temporaries the size of the largest trained tensor in the state's
 *   dtype. HF Trainer's default, the fused AdamW, updates in place.
 */
export function probeLoopExtra(r: ProbeRecord): { everyPhase: number; optimizerStep: number } {
  const a = r.arch as Record<string, number>
  const logits = r.micro_batch * r.seq_len * a['vocab_size']! * 2
  const stateBytes = r.precision === 'pure_bf16' || r.method === 'freeze' ? 2 : 4
  const largest = r.method === 'full' ? a['vocab_size']! * a['hidden_size']! : r.method === 'freeze' ? a['intermediate_size']! * a['hidden_size']! : 0
  return { everyPhase: logits, optimizerStep: 2 * largest * stateBytes }
}

/** The peak allocated bytes of the probe's step: ftplan's phases plus what the probe's loop keeps (probeLoopExtra). */
export function probePeak(phases: readonly { phase: string; allocatedBytes: number }[], r: ProbeRecord): number {
  const extra = probeLoopExtra(r)
  return Math.max(...phases.map((p) => p.allocatedBytes + extra.everyPhase + (p.phase === 'optimizer step' ? extra.optimizerStep : 0)))
}

/**
 * ftplan's estimate of one probe case: allocated is the probe's peak (probePeak); the reserve's fragmentation share
 * follows that larger peak (constants.ts ALLOCATOR_PEAK_FRACTION); context is the CUDA context term.
 */
export function probeEstimate(r: ProbeRecord): { allocated: number; reserved: number; context: number } {
  const l = loadSpec(probeSpec(r), `${r.model}.yaml`, memorySources())
  const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
  const allocated = probePeak(e.phases, r)
  const reserve = e.perGpu.breakdown.allocatorOverhead + ALLOCATOR_PEAK_FRACTION * (allocated - e.perGpu.peakAllocatedBytes)
  return { allocated, reserved: allocated + reserve, context: e.perGpu.breakdown.cudaContext }
}

/**
 * Seconds the probe's torch.optim.AdamW(foreach=False) spends stepping tensor by tensor: a dozen small kernels per
 * trained tensor (torch/optim/adamw.py _single_tensor_adam), about 0.22 ms each tensor on the H200 host (fitted with
 * LAUNCH_SECONDS_PER_LAYER_PASS on the same runs). HF Trainer's fused AdamW steps all tensors in a few kernels.
 */
export const PROBE_SECONDS_PER_TRAINED_TENSOR = 0.22e-3

/** Trained tensors of a probe case: every weight, bias and norm (full), LoRA's A and B per adapted module, or the last layers (freeze). */
export function probeTrainedTensors(r: ProbeRecord): number {
  const a = r.arch as Record<string, number | string | boolean>
  const layers = Number(a['num_hidden_layers'])
  // Llama: q, k, v, o, gate, up, down and two norms; Qwen2 adds the q, k and v biases.
  const perLayer = a['model_type'] === 'qwen2' ? 12 : 9
  if (r.method === 'lora') return 2 * r.lora!.target_modules.length * layers
  if (r.method === 'freeze') return perLayer * (r.freeze_trainable_layers ?? 2)
  return layers * perLayer + 2 + (a['tie_word_embeddings'] ? 0 : 1)
}

/** ftplan's seconds for one probe step on the H200: stepTime of the HF step plus the probe's own per-tensor optimizer. */
export function probeStepSeconds(r: ProbeRecord, overlapExponent?: number): number {
  const l = loadSpec(probeSpec(r), `${r.model}.yaml`, memorySources())
  const t = stepTime(l.spec, l.model.arch, modelFacts(l.spec, l.model.arch), calibrationOffer('H200'), GPU_MODELS['H200'], 1, strategyFromSpec(l.spec, l.model.arch), overlapExponent)!
  return t.stepSeconds + probeTrainedTensors(r) * PROBE_SECONDS_PER_TRAINED_TENSOR
}
