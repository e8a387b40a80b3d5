import type { FinetuneSpec } from '../spec/spec.js'

/**
 * The seed article's rule of thumb, kept to show how far it is from the real estimate: total = base ×
 * method × precision × 1.2, base = 10 GB per billion parameters (full fine-tuning), method full 1.0,
 * LoRA 0.4, QLoRA 0.2, precision fp32 1.0, bf16/fp16 0.5. Its worked example: 32B, full, bf16 →
 * 320 × 1.0 × 0.5 × 1.2 = 192 GB. Freeze-tuning is not in the rule; it is treated as LoRA.
 */
export interface SeedRuleEstimate {
  baseGb: number
  methodFactor: number
  precisionFactor: number
  margin: number
  totalGb: number
}

export const SEED_RULE = { gbPerBillion: 10, margin: 0.2, method: { full: 1.0, lora: 0.4, qlora: 0.2, freeze: 0.4 }, precision: { fp32: 1.0, bf16: 0.5, fp16: 0.5, pure_bf16: 0.5 } } as const

export function seedRuleEstimate(spec: Pick<FinetuneSpec, 'method' | 'precision'>, params: number): SeedRuleEstimate {
  const baseGb = (params / 1e9) * SEED_RULE.gbPerBillion
  const methodFactor = SEED_RULE.method[spec.method]
  const precisionFactor = SEED_RULE.precision[spec.precision]
  return { baseGb, methodFactor, precisionFactor, margin: SEED_RULE.margin, totalGb: baseGb * methodFactor * precisionFactor * (1 + SEED_RULE.margin) }
}
