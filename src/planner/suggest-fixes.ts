import type { FinetuneSpec } from '../spec/spec.js'
import { planFinetune, type PlanInput, type PlanResult, type SearchOptions } from './plan.js'

/** What would make a spec fit, each computed by searching again with one thing changed. */
export function suggestFixes(input: PlanInput, options: SearchOptions): string[] {
  const out: string[] = []
  const c = input.spec.constraints
  const describe = (r: PlanResult) => (r.status === 'fit' ? `${r.plan.nodes} × ${r.plan.offer.instanceType} (${r.plan.offer.region}) at $${r.plan.priceUsdPerHour.toFixed(2)}/hour` : '')
  const unconstrained = planFinetune(input, { ...options, ignoreConstraints: true, noSuggestions: true })
  if (unconstrained.status === 'fit' && (c.regions.length || c.gpus.length || c.spot || c.maxHourlyUsd !== null || c.budgetUsd !== null)) {
    out.push(`the constraints (regions, GPUs, spot, price caps) exclude what fits: without them, ${describe(unconstrained)}`)
  }
  const maxNodes = options.maxNodes ?? c.maxNodes
  const nodeSteps = [maxNodes * 2, maxNodes * 4, 16, 32].filter((n, i, all) => n > maxNodes && all.indexOf(n) === i)
  const moreNodes = (ignoreConstraints: boolean) => {
    for (const n of nodeSteps) {
      const more = planFinetune(input, { ...options, maxNodes: n, ignoreConstraints, noSuggestions: true })
      if (more.status === 'fit') return more
    }
    return null
  }
  const more = moreNodes(false)
  if (more?.status === 'fit') out.push(`allow constraints.max_nodes ≥ ${more.plan.nodes}: ${describe(more)}`)
  else if (unconstrained.status !== 'fit') {
    const anyMore = moreNodes(true)
    if (anyMore?.status === 'fit') out.push(`lift the constraints and allow max_nodes ≥ ${anyMore.plan.nodes}: ${describe(anyMore)}`)
  }
  const spec = input.spec
  const tryWith = (label: string, change: Partial<FinetuneSpec>) => {
    const r = planFinetune({ ...input, spec: { ...spec, ...change } }, { ...options, maxNodes, noSuggestions: true })
    if (r.status === 'fit') out.push(`${label}: ${describe(r)}`)
    return r.status === 'fit'
  }
  if (spec.deepspeed.zero !== 'auto' || spec.deepspeed.offload !== 'auto') tryWith('let ftplan choose ZeRO and offload (deepspeed: { zero: auto, offload: auto })', { deepspeed: { ...spec.deepspeed, zero: 'auto', offload: 'auto' } })
  if (spec.gradientCheckpointing === false) tryWith('turn gradient checkpointing on', { gradientCheckpointing: true })
  // Each names the term it shrinks: the logits (Liger's fused cross-entropy), optimizer state (8-bit AdamW), a full
  // fine-tune's weights and states (LoRA, then QLoRA).
  if (spec.loss !== 'fused') tryWith('loss: fused (Liger\'s fused linear cross-entropy never holds the logits whole; LLaMA-Factory enable_liger_kernel, HF --use_liger_kernel)', { loss: 'fused' })
  // LLaMA-Factory has no 8-bit APOLLO and refuses LoRA with GaLore or APOLLO (train/trainer_utils.py:330-333,
  // hparams/finetuning_args.py:615): an adapter method drops the projection, and says so.
  if (spec.optimizer === 'adamw' && spec.projection?.kind !== 'apollo') tryWith('optimizer: adamw_8bit (optimizer state in 8 bits)', { optimizer: 'adamw_8bit' })
  const drop = spec.projection ? ` without use_${spec.projection.kind}` : ''
  if (spec.method === 'full') tryWith(`method: lora${drop} (adapters instead of every weight, its gradient and optimizer state)`, { method: 'lora', projection: undefined })
  if (spec.method === 'full' || spec.method === 'lora' || spec.method === 'freeze') tryWith(`QLoRA (method: qlora, 4-bit base)${drop}`, { method: 'qlora', quantization: '4bit', projection: undefined })
  for (let s = Math.floor(spec.seqLenTokens / 2); s >= 256; s = Math.floor(s / 2)) {
    if (tryWith(`shorter sequences (seq_len: ${s})`, { seqLenTokens: s })) break
  }
  if (out.length === 0) out.push('nothing tried fits: a larger GPU than the catalog holds, or a smaller model')
  return out
}
