import type { ModelArch } from '../models/arch.js'
import { layerLinears } from '../models/modules.js'
import type { TrainedParts } from './model-facts.js'

/** LLaMA-Factory optimizers chosen by a flag rather than `optim` (train/trainer_utils.py create_custom_optimizer). */
export type OptimizerVariant = 'adam_mini' | 'muon'

export interface VariantFacts {
  kind: OptimizerVariant
  /** Adam-mini: second-moment elements (one per block); Muon: elements of the 2-D weights Muon steps (one momentum each). */
  elements: number
}


/**
 * Adam-mini (zyushun/Adam-mini adam_mini/adam_mini.py:104-118, 216-330) keeps the first moment of every parameter whole
 * and one second moment per block: per head for q_proj and k_proj (head_numel = hidden² / heads), per output row for
 * v_proj, o_proj, the MLP, the embedding and lm_head, the whole tensor for biases, one for anything else (norms).
 * Muon (LLaMA-Factory third_party/muon/muon.py, trainer_utils.py:498-511) keeps one momentum buffer for each trained
 * 2-D parameter outside the embedding and lm_head, AdamW's two moments for the rest; routed experts fused into 3-D
 * parameters (transformers ≥ 5) are not 2-D, so AdamW steps them. LoRA adapters count as 2-D Muon weights, and as
 * per-row blocks for Adam-mini (their names hold the base module's).
 */
export function variantFacts(kind: OptimizerVariant, arch: ModelArch, t: TrainedParts, loraRank: number): VariantFacts {
  const h = arch.hiddenSize
  const headNumel = (h * h) / arch.numHeads
  let elements = 0
  const normBlocks = (trained: boolean, n: number) => (kind === 'adam_mini' && trained ? n : 0)
  for (let i = 0; i < arch.numLayers; i++) {
    for (const m of layerLinears(arch, i)) {
      const weight = m.inFeatures * m.outFeatures
      if (t.trained(i, m.name)) {
        if (kind === 'muon') elements += m.count === 1 ? weight : 0
        else {
          elements += (m.name === 'q_proj' || m.name === 'k_proj' ? weight / headNumel : m.outFeatures) * m.count
          if (m.bias) elements += m.outFeatures * m.count
        }
      }
      if (t.adapted(i, m.name)) {
        const a = loraRank * m.inFeatures
        const b = m.outFeatures * loraRank
        elements += (kind === 'muon' ? a + b : loraRank + m.outFeatures) * m.count
      }
    }
    elements += normBlocks(t.normsTrained(i), arch.normsPerLayer + (arch.qkNorm ? 2 : 0))
  }
  if (kind === 'adam_mini') {
    if (t.embedTrained) elements += arch.vocabSize
    if (t.headTrained && !arch.tieWordEmbeddings) elements += arch.vocabSize
    elements += normBlocks(t.finalNormTrained, 1)
  }
  // lm_head's adapters are named lm_head.lora_A/B: AdamW under Muon, per-row blocks under Adam-mini.
  if (t.headAdapted && kind === 'adam_mini') elements += loraRank + arch.vocabSize
  return { kind, elements }
}
