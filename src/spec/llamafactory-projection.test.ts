import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { specIssues } from '../../test/helpers/spec-issues.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { planFinetune } from '../planner/plan.js'
import { planInputOf } from '../planner/plan-loaded.js'
import { loadSpec } from './load.js'

// GaLore and APOLLO as LLaMA-Factory reads them (hiyouga/LLaMA-Factory@ff6d4d12): each refusal is LLaMA-Factory's own.
const BASE = 'model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct\nstage: sft\ndo_train: true\nfinetuning_type: full\npure_bf16: true\ncutoff_len: 2048\n'
const load = (yaml: string) => loadSpec(yaml, 'train.yaml', memorySources())
const issuesOf = (yaml: string) => specIssues(() => load(yaml))

describe('LLaMA-Factory GaLore and APOLLO keys (issue #15)', () => {
  it('defaults: rank 16, every decoder Linear, std, not layer-wise (hparams/finetuning_args.py)', () => {
    expect(load(`${BASE}use_galore: true\noptim: adamw_torch\n`).spec.projection).toEqual({ kind: 'galore', rank: 16, targets: 'all', projType: 'std', layerwise: false })
    expect(load(`${BASE}use_apollo: true\napollo_target: q_proj, v_proj\napollo_rank: 32\noptim: adamw_torch\n`).spec.projection).toEqual({ kind: 'apollo', rank: 32, targets: ['q_proj', 'v_proj'], projType: 'std', layerwise: false })
  })
  it('without optim, a note says which optim LLaMA-Factory builds a projected optimizer for', () => {
    expect(load(`${BASE}use_galore: true\n`).notes.join('\n')).toContain('use_galore without optim: LLaMA-Factory builds GaLore\'s optimizer only for optim adamw_torch, adamw_bnb_8bit, adamw_8bit, paged_adamw_8bit, adafactor')
  })
  it('refused as LLaMA-Factory refuses them: with LoRA, both at once, an optim with no projected class, layer-wise with accumulation', () => {
    expect(issuesOf(BASE.replace('finetuning_type: full', 'finetuning_type: lora') + 'use_galore: true\n')[0]!.message).toContain('LLaMA-Factory refuses LoRA with GaLore (hparams/finetuning_args.py:615)')
    expect(issuesOf(`${BASE}use_galore: true\nuse_apollo: true\n`)[0]!.message).toContain('refuses GaLore and APOLLO together')
    const sgd = issuesOf(`${BASE}use_galore: true\noptim: sgd\n`)[0]!
    expect(sgd.path).toBe('optim')
    expect(sgd.message).toContain('GaLore has no optimizer for optim sgd')
    expect(issuesOf(`${BASE}use_apollo: true\noptim: adamw_8bit\n`)[0]!.message).toContain('APOLLO has no optimizer for optim adamw_8bit')
    const acc = issuesOf(`${BASE}use_galore: true\ngalore_layerwise: true\ngradient_accumulation_steps: 4\n`)[0]!
    expect(acc.path).toBe('gradient_accumulation_steps')
    expect(acc.message).toContain('refuses gradient accumulation with it (train/trainer_utils.py:251)')
    expect(issuesOf(`${BASE}use_apollo: true\napollo_proj_type: full\n`)[0]!.message).toContain('"full" is not a projection type of APOLLO')
  })
  it('layer-wise plans one GPU at accumulation 1; not layer-wise may spread over GPUs without DeepSpeed', () => {
    const layerwise = planFinetune(planInputOf(load(`${BASE}use_galore: true\ngalore_layerwise: true\noptim: adamw_torch\nper_device_train_batch_size: 4\n`), AWS_CATALOG))
    expect(layerwise.status).toBe('fit')
    if (layerwise.status !== 'fit') return
    for (const c of [layerwise.plan, ...layerwise.alternatives]) {
      expect(c.strategy.gpus).toBe(1)
      expect(c.strategy.accumulation).toBe(1)
      expect(c.strategy.microBatch).toBe(4)
      expect(c.strategy.zeroStage).toBe(0)
    }
    expect(layerwise.rejected.some((r) => r.reason.includes('layer-wise GaLore runs on one GPU only'))).toBe(true)
  })
})
