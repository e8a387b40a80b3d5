import type { FinetuneSpec } from '../spec/spec.js'
import { planFinetune, type Candidate, type PlanInput, type PlanResult } from './plan.js'

/** A change to the spec that the planner tried, and the plan it gives. */
export interface Change {
  /** The spec change, as the user writes it. */
  change: string
  /** Why it was tried: the term it shrinks, with its share of the GPU memory. */
  because: string
  spec: Partial<FinetuneSpec>
}

/**
 * The share of a GPU's memory a term must hold before a change to it is worth suggesting: a fifth for one term, two
 * fifths for a full fine-tune's weights, gradients and state together. A choice, not a measurement: below a fifth the
 * change rarely moves the plan to a smaller instance, and each suggestion costs the user a read.
 */
const TERM_SHARE = 0.2
const MODEL_STATE_SHARE = 0.4

const gb = (b: number) => (b / 1e9).toFixed(2)
const usd = (x: number) => `$${x.toFixed(2)}`

/**
 * The changes worth trying for a plan's largest memory terms (issue #13): the fused linear cross-entropy when the logits
 * are large (Liger's kernel, which LLaMA-Factory turns on with `enable_liger_kernel: true` and HF Trainer with
 * `--use_liger_kernel`), gradient checkpointing when activations are, an 8-bit AdamW when optimizer state is, LoRA
 * when a full fine-tune's weights and states are. `open`: the spec fields the user left to their defaults.
 */
export function changesFor(spec: FinetuneSpec, c: Candidate): Change[] {
  const t = c.estimate.perGpu.breakdown
  const total = c.estimate.perGpu.totalBytes
  const share = (x: number) => `${gb(x)} of ${gb(total)} GB per GPU`
  const out: Change[] = []
  if (spec.loss !== 'fused' && t.logits >= TERM_SHARE * total) {
    out.push({ change: 'loss: fused', because: `the logits and loss are ${share(t.logits)}; Liger's fused cross-entropy never holds them whole (LLaMA-Factory enable_liger_kernel, HF --use_liger_kernel)`, spec: { loss: 'fused' } })
  }
  // With `auto` the planner has already tried checkpointing both ways; only a spec that turned it off can gain.
  if (spec.gradientCheckpointing === false && t.activations >= TERM_SHARE * total) {
    out.push({ change: 'gradient_checkpointing: true', because: `activations are ${share(t.activations)}`, spec: { gradientCheckpointing: true } })
  }
  // APOLLO has no 8-bit optimizer in LLaMA-Factory (train/trainer_utils.py:330-333).
  if (spec.optimizer === 'adamw' && spec.projection?.kind !== 'apollo' && t.optimizerStates >= TERM_SHARE * total) {
    out.push({ change: 'optimizer: adamw_8bit', because: `optimizer state is ${share(t.optimizerStates)}`, spec: { optimizer: 'adamw_8bit' } })
  }
  if (spec.method === 'full' && t.weights + t.gradients + t.optimizerStates >= MODEL_STATE_SHARE * total) {
    // LLaMA-Factory refuses LoRA with GaLore or APOLLO (hparams/finetuning_args.py:615): the change drops the projection.
    const drop = spec.projection ? ` without use_${spec.projection.kind}` : ''
    out.push({ change: `method: lora${drop}`, because: `weights, gradients and optimizer state are ${share(t.weights + t.gradients + t.optimizerStates)}`, spec: { method: 'lora', projection: undefined } })
  }
  return out
}

const costOf = (c: Candidate) => c.jobCostUsd ?? c.priceUsdPerHour

/**
 * For a plan that fits: each change that makes the run cheaper, with the plan it gives and what it saves. The changes
 * alter what is trained or how (a kernel, an optimizer), so they are offered, never applied.
 */
export function adviceFor(input: PlanInput, result: PlanResult): string[] {
  if (result.status !== 'fit') return []
  const chosen = result.plan
  const unit = chosen.jobCostUsd !== null ? '/job' : '/hour'
  const out: string[] = []
  for (const ch of changesFor(input.spec, chosen)) {
    const r = planFinetune({ ...input, spec: { ...input.spec, ...ch.spec } }, { noSuggestions: true })
    if (r.status !== 'fit' || costOf(r.plan) >= costOf(chosen) - 0.005) continue
    const p = r.plan
    out.push(`${ch.change}: ${p.nodes} × ${p.offer.instanceType} (${p.nodes * p.offer.gpuCount} × ${p.offer.gpu}) in ${p.offer.region}, ${usd(costOf(p))}${unit} instead of ${usd(costOf(chosen))}; ${gb(p.estimate.perGpu.totalBytes)} GB per GPU instead of ${gb(chosen.estimate.perGpu.totalBytes)} (${ch.because})`)
  }
  return out
}
