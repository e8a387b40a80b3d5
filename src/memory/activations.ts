import type { Attention } from '../spec/spec.js'
import type { ActBytes, LayerGroup, ModelFacts } from './model-facts.js'
import type { Regime } from './regime.js'

export interface ActivationBytes {
  /** Saved for backward when the forward pass ends (without checkpointing: every layer's activations). */
  retained: number
  /** Extra while the first layer (the last in forward) runs backward: its gradient buffers, plus its recompute under checkpointing. */
  layerBackward: number
  /** Alive while the last layer runs backward, when every gradient exists: that layer's tensors and its gradient buffers. */
  lastLayer: number
  detail: string
}

function bytesPerToken(b: ActBytes, regime: Regime): number {
  return b.act * regime.actBytes + b.residual * regime.residualBytes + b.fp32
}

/** Bytes one token of one layer keeps for backward (memory-model §5.2), for the attention implementation. */
export function layerBytesPerToken(g: LayerGroup, attention: Attention, seqLen: number, regime: Regime): number {
  const base = bytesPerToken(g[attention], regime)
  return attention === 'eager' ? base + g.eagerPerSeqToken * seqLen : base
}

/**
 * Activations per GPU for micro-batch × sequence tokens. Without checkpointing every backward layer keeps
 * its tensors until its backward; with checkpointing (one checkpoint per decoder layer, as HF's
 * gradient_checkpointing_enable) only each layer's input survives the forward, and backward recomputes one
 * layer at a time. Frozen layers below the lowest trained one keep nothing (memory-model §5.3, §6.1).
 */
export function activationBytes(facts: ModelFacts, attention: Attention, seqLen: number, microBatch: number, checkpointing: boolean, regime: Regime): ActivationBytes {
  const tokens = seqLen * microBatch
  const head = bytesPerToken(facts.headBytesPerToken, regime) * tokens
  let all = 0
  let largestLayer = 0
  let transient = 0
  for (const g of facts.layerGroups) {
    const layer = layerBytesPerToken(g, attention, seqLen, regime) * tokens
    all += g.count * layer
    largestLayer = Math.max(largestLayer, layer)
    transient = Math.max(transient, g.backwardTransient * regime.actBytes * tokens)
  }
  if (!checkpointing) {
    return { retained: all + head, layerBackward: transient, lastLayer: largestLayer + transient, detail: `${facts.backwardLayers} layers × ${attention} attention, s=${seqLen}, b=${microBatch}` }
  }
  const hidden = facts.layerGroups[0]?.hidden ?? 0
  const checkpoints = facts.backwardLayers * hidden * regime.residualBytes * tokens
  return {
    retained: checkpoints + head,
    layerBackward: largestLayer + transient,
    lastLayer: largestLayer + transient,
    detail: `checkpointed: ${facts.backwardLayers} layer inputs + 1 layer recomputed (${attention}), s=${seqLen}, b=${microBatch}`,
  }
}
