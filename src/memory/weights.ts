import type { FinetuneSpec } from '../spec/spec.js'
import { INT8_BYTES_PER_PARAM, NF4_DQ_BYTES_PER_PARAM } from './constants.js'
import type { ModelFacts } from './model-facts.js'
import type { Regime } from './regime.js'
import type { Strategy } from './strategy.js'

export interface WeightBytes {
  /** Resident weights on one GPU (ZeRO-3 shards them; parameter offload moves them to the CPU). */
  resident: number
  /** autocast's 16-bit copies of fp32 trainable weights, alive from forward through backward. */
  autocastCopies: number
  detail: string
}

/**
 * Weights on one GPU: trainable and frozen parameters at the regime's widths; a quantized base keeps its
 * decoder Linear weights in NF4 (with double quantization) or int8, while embeddings, lm_head and norms stay
 * 16-bit (transformers' get_keys_to_not_convert; memory-model §6.2).
 */
export function weightBytes(spec: FinetuneSpec, facts: ModelFacts, regime: Regime, strategy: Strategy, quantizedHeadParams = 0): WeightBytes {
  const quantBytes = spec.quantization === '4bit' ? NF4_DQ_BYTES_PER_PARAM : spec.quantization === '8bit' ? INT8_BYTES_PER_PARAM : 0
  // `quantizedHeadParams`: LitGPT quantizes lm_head as well (litgpt-loop.ts).
  const quantized = spec.quantization === 'none' ? 0 : facts.quantizedParams + Math.min(quantizedHeadParams, facts.frozenParams - facts.quantizedParams)
  const frozen16 = facts.frozenParams - quantized
  const whole = facts.trainableParams * regime.trainableWeightBytes + frozen16 * regime.frozenWeightBytes + quantized * quantBytes
  const shard = strategy.zeroStage === 3 ? strategy.gpus : 1
  const offloaded = strategy.zeroStage === 3 && strategy.offload === 'optimizer+params'
  const resident = offloaded ? 0 : Math.ceil(whole / shard)
  const autocastCopies = facts.trainableParams * regime.autocastCopyBytes
  const parts = [
    `${fmt(facts.trainableParams)} trainable × ${regime.trainableWeightBytes} B`,
    frozen16 > 0 ? `${fmt(frozen16)} frozen × ${regime.frozenWeightBytes} B` : '',
    quantized > 0 ? `${fmt(quantized)} ${spec.quantization === '4bit' ? 'NF4+DQ' : 'int8'} × ${quantBytes.toFixed(4)} B` : '',
    shard > 1 ? `÷ ${shard} (ZeRO-3)` : '',
    offloaded ? 'offloaded to CPU' : '',
    autocastCopies > 0 ? `+ 16-bit autocast copies of fp32 weights` : '',
  ]
  return { resident, autocastCopies, detail: parts.filter(Boolean).join(', ') }
}

function fmt(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : String(n)
}
