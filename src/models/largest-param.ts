import type { ModelArch } from './arch.js'
import { layerLinears } from './modules.js'

/**
 * Elements of the model's largest single parameter tensor: the embedding (vocab × hidden), or an MoE layer's
 * expert weights, which transformers ≥ 5 stores fused as one 3-D parameter per projection (experts ×
 * 2·intermediate × hidden for gate_up_proj). Counted fused whatever the transformers version, so buffers
 * sized from it are large enough either way.
 */
export function largestParamElements(arch: ModelArch): number {
  let largest = arch.vocabSize * arch.hiddenSize
  for (let i = 0; i < arch.numLayers; i++) {
    for (const m of layerLinears(arch, i)) {
      const fused = m.count > 1 && ['gate_proj', 'up_proj', 'w1', 'w3'].includes(m.name) ? 2 : 1
      largest = Math.max(largest, fused * m.count * m.inFeatures * m.outFeatures)
    }
  }
  return largest
}
