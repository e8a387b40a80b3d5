import type { ModelArch } from './arch.js'
import { layerLinears, type LinearModule } from './modules.js'
import { freezeTrainedLayers, type TrainableSetup } from './trainable.js'

/**
 * Elements of the model's largest single parameter tensor: the embedding (vocab × hidden), or an MoE layer's
 * expert weights, which transformers ≥ 5 stores fused as one 3-D parameter per projection (experts ×
 * 2·intermediate × hidden for gate_up_proj). Counted fused whatever the transformers version, so buffers
 * sized from it are large enough either way.
 */
export function largestParamElements(arch: ModelArch): number {
  return Math.max(arch.vocabSize * arch.hiddenSize, largestLinearIn(arch, Array.from({ length: arch.numLayers }, (_, i) => i)))
}

function linearElements(m: LinearModule): number {
  const fused = m.count > 1 && ['gate_proj', 'up_proj', 'w1', 'w3'].includes(m.name) ? 2 : 1
  return fused * m.count * m.inFeatures * m.outFeatures
}

function largestLinearIn(arch: ModelArch, layers: number[]): number {
  let largest = 0
  for (const i of layers) for (const m of layerLinears(arch, i)) largest = Math.max(largest, linearElements(m))
  return largest
}

/**
 * Elements of the largest tensor that trains: what DeepSpeed's ZeRO-1/2 sizes its GPU gradient buffer for CPU
 * offload from (largest_param_numel over the optimizer's groups). Full: the largest tensor. Freeze: the trained
 * layers' largest Linear. LoRA: an adapter matrix (rank × the wider side of its Linear), or a module trained whole
 * (modules_to_save: vocab × hidden).
 */
export function largestTrainableElements(arch: ModelArch, setup: TrainableSetup): number {
  if (setup.method === 'full') return largestParamElements(arch)
  if (setup.method === 'freeze') return largestLinearIn(arch, freezeTrainedLayers(arch.numLayers, setup.freezeTrainableLayers))
  const targets = setup.loraTargets === 'all' ? null : new Set(setup.loraTargets)
  let largest = setup.modulesToSave.length > 0 ? arch.vocabSize * arch.hiddenSize : 0
  for (let i = 0; i < arch.numLayers; i++) {
    for (const m of layerLinears(arch, i)) if (!targets || targets.has(m.name)) largest = Math.max(largest, setup.loraRank * Math.max(m.inFeatures, m.outFeatures))
  }
  if (targets?.has('lm_head')) largest = Math.max(largest, setup.loraRank * Math.max(arch.hiddenSize, arch.vocabSize))
  return largest
}
