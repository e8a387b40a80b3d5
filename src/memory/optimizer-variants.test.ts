import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec } from '../spec/load.js'
import { stageRefusal } from '../spec/runtime-rules.js'
import { estimateMemory } from './estimate.js'
import { strategyFromSpec } from './strategy.js'

// Llama-2-7B (config.json): hidden 4096, 32 layers, 32 heads of 128 (no GQA), intermediate 11008, vocabulary 32000,
// untied head, no biases, two RMSNorms per layer and a final one.
const T = 6_738_415_616
const YAML = 'model_name_or_path: meta-llama/Llama-2-7b-hf\nstage: sft\ndo_train: true\nfinetuning_type: full\nbf16: true\ncutoff_len: 1024\n'
const stepStates = (extra: string) => {
  const l = loadSpec(YAML + extra, 'train.yaml', memorySources())
  const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
  return { l, states: e.phases.find((p) => p.phase === 'optimizer step')!.terms.optimizerStates }
}

describe('LLaMA-Factory use_adam_mini and use_muon replace the optimizer (issue #15)', () => {
  it('Adam-mini: the first moment whole, one second moment per head (q, k), per row (v, o, MLP, embedding, head), one per norm', () => {
    // head_numel = 4096² / 32 = 524,288, so q and k have 32 blocks each; v, o, down 4096 rows; gate, up 11008
    const perLayer = 32 + 32 + 4096 + 4096 + 11008 + 11008 + 4096 + 2
    const v = 32 * perLayer + 32_000 + 32_000 + 1
    expect(v).toBe(1_163_841)
    // HF autocast over fp32 trainable weights: fp32 state (regime.ts)
    expect(stepStates('use_adam_mini: true\n').states).toBe(4 * (T + v))
  })
  it('Muon: one momentum for the 2-D decoder weights, AdamW for the embedding, head and norms', () => {
    const muon = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    expect(T - muon).toBe(2 * 32_000 * 4096 + 32 * 2 * 4096 + 4096)
    expect(stepStates('use_muon: true\n').states).toBe(4 * (muon + 2 * (T - muon)))
  })
  it('the optimizer line leads with the optimizer that steps, not the spec\'s optim name', () => {
    const detail = (extra: string) => {
      const l = loadSpec(YAML + extra, 'train.yaml', memorySources())
      return estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch)).details.optimizerStates
    }
    // 4 × (T + v) / T bytes per parameter, with v from the Adam-mini test above
    expect(detail('use_adam_mini: true\n')).toMatch(new RegExp(`^Adam-mini \\(one second moment per head or row\\): ${(4 * (T + 1_163_841) / T).toFixed(2)} B per trainable parameter`))
    expect(detail('use_muon: true\n')).toMatch(/^Muon \(one momentum for 2-D weights, AdamW for the rest\): \d+\.\d\d B per trainable parameter/)
    expect(detail('')).toMatch(/^adamw: 8\.00 B per trainable parameter/)
  })
  it('plain AdamW for comparison: two moments of everything', () => {
    expect(stepStates('').states).toBe(8 * T)
  })
  it('LLaMA-Factory builds the first of GaLore, APOLLO, LoRA+, BAdam, Adam-mini, Muon: a later flag is noted as unused', () => {
    const { l, states } = stepStates('use_adam_mini: true\nuse_muon: true\n')
    expect(l.spec.trainerFeatures).toEqual(['adam_mini'])
    expect(l.notes).toContain('use_muon is not used: LLaMA-Factory builds Adam-mini first (train/trainer_utils.py:545-549)')
    expect(states).toBe(4 * (T + 1_163_841))
  })
  it('both plan without DeepSpeed', () => {
    for (const [flag, name] of [['use_adam_mini', 'Adam-mini'], ['use_muon', 'Muon']] as const) {
      const l = loadSpec(`${YAML}${flag}: true\n`, 'train.yaml', memorySources())
      for (const stage of [1, 2, 3] as const) expect(stageRefusal(l.spec, stage)).toContain(name)
      expect(stageRefusal(l.spec, 0)).toBeNull()
    }
    expect(() => loadSpec(`${YAML}use_muon: true\ndeepspeed: ds_z2_config.json\n`, 'train.yaml', memorySources({ 'ds_z2_config.json': '{"zero_optimization": {"stage": 2}}' }))).toThrow(/Muon steps the model's own 2-D parameters/)
  })
})
