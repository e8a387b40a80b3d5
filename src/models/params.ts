import type { ModelArch } from './arch.js'
import { layerLinears, layerOtherParams, linearParams } from './modules.js'

/** Exact parameter counts of a model, from its architecture alone. */
export interface ParamCounts {
  total: number
  /** Parameters one token passes through (equal to total for dense models; embeddings included). */
  active: number
  /** Input embedding matrix, vocab × hidden. */
  embedding: number
  /** Untied output head (lm_head), vocab × hidden; 0 when tied to the embedding. */
  head: number
  /** The final RMSNorm before the head. */
  finalNorm: number
  perLayer: readonly number[]
  perLayerActive: readonly number[]
}

export function countParams(arch: ModelArch): ParamCounts {
  const embedding = arch.vocabSize * arch.hiddenSize
  const head = arch.tieWordEmbeddings ? 0 : embedding
  const finalNorm = arch.hiddenSize
  const perLayer: number[] = []
  const perLayerActive: number[] = []
  for (let i = 0; i < arch.numLayers; i++) {
    const linears = layerLinears(arch, i)
    const other = layerOtherParams(arch, i)
    perLayer.push(other + linears.reduce((s, m) => s + linearParams(m), 0))
    perLayerActive.push(other + linears.reduce((s, m) => s + linearParams(m, m.activeCount), 0))
  }
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)
  const outer = embedding + head + finalNorm
  return { total: outer + sum(perLayer), active: outer + sum(perLayerActive), embedding, head, finalNorm, perLayer, perLayerActive }
}
