import type { ModelArch } from './arch.js'
import { layerLinears } from './modules.js'
import type { ParamCounts } from './params.js'

export type Method = 'full' | 'lora' | 'qlora' | 'freeze'

/** What decides the trainable parameters; a slice of the spec, so this module needs no spec types. */
export interface TrainableSetup {
  method: Method
  loraRank: number
  /** `all`: every Linear in the decoder layers (not lm_head), as LLaMA-Factory's `lora_target: all`. */
  loraTargets: 'all' | readonly string[]
  /** Modules trained in full beside the adapters (PEFT `modules_to_save`): embed_tokens, lm_head. */
  modulesToSave: readonly string[]
  /** Method freeze: the last N decoder layers train (negative N: the first |N|, as LLaMA-Factory). */
  freezeTrainableLayers: number
}

export interface TrainableCount {
  trainable: number
  /** LoRA adapter parameters (A and B matrices); 0 for full and freeze. */
  adapters: number
  /** Fully trained modules under LoRA (modules_to_save), or the trained layers under freeze. */
  fullyTrained: number
}

/** Module names LoRA can target in this model: each decoder Linear's last name segment, plus lm_head. */
export function loraTargetNames(arch: ModelArch): string[] {
  const names = new Set<string>()
  for (let i = 0; i < arch.numLayers; i++) for (const m of layerLinears(arch, i)) names.add(m.name)
  names.add('lm_head')
  return [...names]
}

export const SAVABLE_MODULES = ['embed_tokens', 'lm_head'] as const

/** Layer indices that train under freeze-tuning with `n` trainable layers. */
export function freezeTrainedLayers(numLayers: number, n: number): number[] {
  const k = Math.min(Math.abs(n), numLayers)
  return Array.from({ length: k }, (_, i) => (n > 0 ? numLayers - k + i : i))
}

export function countTrainable(arch: ModelArch, counts: ParamCounts, setup: TrainableSetup): TrainableCount {
  switch (setup.method) {
    case 'full':
      return { trainable: counts.total, adapters: 0, fullyTrained: counts.total }
    case 'freeze': {
      const trained = freezeTrainedLayers(arch.numLayers, setup.freezeTrainableLayers).reduce((s, i) => s + counts.perLayer[i]!, 0)
      return { trainable: trained, adapters: 0, fullyTrained: trained }
    }
    case 'lora':
    case 'qlora': {
      const targets = setup.loraTargets === 'all' ? null : new Set(setup.loraTargets)
      const r = setup.loraRank
      let adapters = 0
      for (let i = 0; i < arch.numLayers; i++) {
        for (const m of layerLinears(arch, i)) {
          // PEFT adds A (r × in) and B (out × r) to every matched Linear, each expert included.
          if (targets ? targets.has(m.name) : true) adapters += r * (m.inFeatures + m.outFeatures) * m.count
        }
      }
      if (targets?.has('lm_head')) adapters += r * (arch.hiddenSize + arch.vocabSize)
      // modules_to_save trains a full copy of each module, even when lm_head is tied to embed_tokens.
      const fullyTrained = setup.modulesToSave.length * counts.embedding
      return { trainable: adapters + fullyTrained, adapters, fullyTrained }
    }
  }
}
