import { describe, expect, it } from 'vitest'
import { archFromConfig, type ModelArch } from './arch.js'
import { MODELS } from './catalog.js'
import { countParams } from './params.js'
import { countTrainable, freezeTrainedLayers, loraTargetNames, type TrainableSetup } from './trainable.js'

function archOf(id: keyof typeof MODELS): ModelArch {
  const r = archFromConfig(MODELS[id].config as Record<string, unknown>, id)
  if (!r.ok) throw new Error('catalog model does not parse')
  return r.arch
}
const base: TrainableSetup = { method: 'lora', loraRank: 8, loraTargets: 'all', modulesToSave: [], freezeTrainableLayers: 2 }
const trainable = (id: keyof typeof MODELS, setup: Partial<TrainableSetup>) => {
  const a = archOf(id)
  return countTrainable(a, countParams(a), { ...base, ...setup })
}

describe('LoRA trainable parameters: r·(in + out) per adapted Linear', () => {
  it('rank 8 on all linear modules of Llama-2-7b: 19,988,480', () => {
    // per layer: q,k,v,o 4·8·(4096+4096); gate, up 2·8·(4096+11008); down 8·(11008+4096); × 32 layers.
    const byHand = 32 * (4 * 8 * 8192 + 2 * 8 * 15104 + 8 * 15104)
    expect(byHand).toBe(19_988_480)
    expect(trainable('meta-llama/Llama-2-7b-hf', { loraRank: 8 }).trainable).toBe(19_988_480)
  })

  it('rank 16 on q_proj, v_proj of Llama-2-7b: 8,388,608', () => {
    expect(32 * 2 * 16 * 8192).toBe(8_388_608)
    expect(trainable('meta-llama/Llama-2-7b-hf', { loraRank: 16, loraTargets: ['q_proj', 'v_proj'] }).trainable).toBe(8_388_608)
  })

  it('GQA shrinks k/v adapters: Llama-3-8B rank 16 on all = 41,943,040', () => {
    // q 16·(4096+4096), k and v 16·(4096+1024), o 16·(4096+4096), gate/up 16·(4096+14336), down 16·(14336+4096).
    const perLayer = 16 * (8192 + 2 * 5120 + 8192 + 3 * 18432)
    expect(trainable('meta-llama/Meta-Llama-3-8B', { loraRank: 16 }).trainable).toBe(32 * perLayer)
    expect(32 * perLayer).toBe(41_943_040)
  })

  it('MoE: every expert gets an adapter, the router too (Mixtral `gate`)', () => {
    const perLayer = 8 * (8192 + 2 * 5120 + 8192) + 8 * (4096 + 8) + 8 * 8 * 3 * (4096 + 14336)
    expect(trainable('mistralai/Mixtral-8x7B-v0.1', { loraRank: 8 }).trainable).toBe(32 * perLayer)
  })

  it('lm_head as a target and modules_to_save add their parameters', () => {
    const r = trainable('meta-llama/Llama-2-7b-hf', { loraRank: 8, loraTargets: ['q_proj', 'lm_head'], modulesToSave: ['embed_tokens'] })
    expect(r.adapters).toBe(32 * 8 * 8192 + 8 * (4096 + 32000))
    expect(r.fullyTrained).toBe(32000 * 4096)
    expect(r.trainable).toBe(r.adapters + r.fullyTrained)
  })

  it('Phi-3 targets are its fused modules', () => {
    expect(loraTargetNames(archOf('microsoft/Phi-3-mini-4k-instruct'))).toEqual(['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj', 'lm_head'])
  })
})

describe('freeze-tuning and full fine-tuning', () => {
  it('last 2 layers of Llama-2-7b train: 2 × 202,383,360', () => {
    expect(trainable('meta-llama/Llama-2-7b-hf', { method: 'freeze', freezeTrainableLayers: 2 }).trainable).toBe(2 * 202_383_360)
  })
  it('negative N trains the first |N| layers, as LLaMA-Factory does', () => {
    expect(freezeTrainedLayers(32, -3)).toEqual([0, 1, 2])
    expect(freezeTrainedLayers(32, 2)).toEqual([30, 31])
    // DeepSeek-V2-Lite's layer 0 is dense, so the first layer differs from the last.
    const ds = trainable('deepseek-ai/DeepSeek-V2-Lite', { method: 'freeze', freezeTrainableLayers: -1 }).trainable
    const dsLast = trainable('deepseek-ai/DeepSeek-V2-Lite', { method: 'freeze', freezeTrainableLayers: 1 }).trainable
    expect(ds).not.toBe(dsLast)
  })
  it('full trains everything', () => {
    expect(trainable('meta-llama/Llama-2-7b-hf', { method: 'full' }).trainable).toBe(6_738_415_616)
  })
})
