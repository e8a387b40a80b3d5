import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { estimateMemory } from '../memory/estimate.js'
import { strategyFromSpec } from '../memory/strategy.js'
import { loadSpec } from '../spec/load.js'
import { adviceFor } from './advice.js'
import { planFinetune } from './plan.js'
import { planInputOf } from './plan-loaded.js'

const advise = (yaml: string) => {
  const input = planInputOf(loadSpec(yaml, 'spec.yaml', memorySources()), AWS_CATALOG)
  const result = planFinetune(input)
  return { result, advice: adviceFor(input, result) }
}

describe('changes that make the run cheaper, tried and offered (issue #13)', () => {
  it('a 32k-token LoRA whose logits are most of the memory: the fused loss puts it on H100s instead of H200s', () => {
    // Qwen2.5-7B, 32768 tokens, vocabulary 152064: the standard loss holds 12 B per logit in its backward (logits.ts),
    // 12 × 32768 × 152064 = 59.79 GB on every GPU whatever ZeRO does, which no H100 has room for beside the rest.
    expect(12 * 32768 * 152064 / 1e9).toBeCloseTo(59.79, 2)
    const { result, advice } = advise('model: Qwen/Qwen2.5-7B\nmethod: lora\nseq_len: 32768\ngradient_checkpointing: true\ntrain: { tokens: 1e8 }\nconstraints: { gpus: [H100, H200], regions: [us-east-1], max_nodes: 2 }\n')
    expect(result.status === 'fit' && result.plan.offer.gpu).toBe('H200')
    expect(result.status === 'fit' && result.plan.estimate.perGpu.breakdown.logits).toBeCloseTo(59.79e9, -7)
    expect(advice).toHaveLength(1)
    // With the fused loss one H100 holds the run; 1 × p5.4xlarge and 1 × p5.48xlarge (8 × H100) cost the same within the
    // time band, and the fewer GPUs rank first (plan.ts rankCandidates).
    expect(advice[0]).toMatch(/^loss: fused: 1 × p5\.4xlarge \(1 × H100\) in us-east-1, \$\d+\.\d\d\/job instead of \$\d+\.\d\d; .* \(the logits and loss are 59\.79 of \d+\.\d\d GB per GPU; Liger's fused cross-entropy/)
  })

  it('8B LoRA at 2k tokens on A10G: the fused loss fits the one-GPU g5.xlarge; an 8-bit AdamW is not offered where optimizer state is small', () => {
    const { result, advice } = advise('model: meta-llama/Llama-3.1-8B\nmethod: lora\nseq_len: 2048\ngradient_checkpointing: true\nconstraints: { gpus: [A10G], max_nodes: 1 }\n')
    expect(result.status === 'fit' && result.plan.offer.instanceType).toBe('g5.2xlarge')
    // The decision on the one-GPU g5.xlarge, as plan prints it: the calibrated total (reserved + context) against
    // what an A10G shows: EC2's 22886 MiB (below nvidia-smi's 23028) × CUDA's share 0.99573 × (1 − 0.12) = 21.03 GB.
    expect(22886 * 2 ** 20 * (150_109_880_320 / (143771 * 2 ** 20)) * 0.88 / 1e9).toBeCloseTo(21.03, 2)
    expect(result.rejected.map((x) => x.instanceType)).toContain('g5.xlarge')
    // Without DeepSpeed the run needs 23.64 GB: 16.06 GB frozen bf16 weights, the fp32 logits and loss (2048 × 128256
    // × 12 B = 3.15 GB) and the calibrated reserve; with the fused loss it would fit (the advice below).
    const l = loadSpec('model: meta-llama/Llama-3.1-8B\nmethod: lora\nseq_len: 2048\ngradient_checkpointing: true\n', 'spec.yaml', memorySources())
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    expect(e.perGpu.breakdown.logits).toBe(2048 * 128256 * 12)
    expect(e.perGpu.totalBytes / 1e9).toBeCloseTo(23.64, 2)
    expect(e.perGpu.totalBytes).toBeGreaterThan(21.03e9)
    expect(advice.map((a) => a.split(':')[0] + ':' + a.split(':')[1])).toEqual(['loss: fused'])
    expect(advice[0]).toContain('1 × g5.xlarge (1 × A10G) in us-east-1, $1.01/hour instead of $1.21')
  })

  it('nothing to offer when the spec already uses the fused loss and the plan is the cheapest', () => {
    expect(advise('model: meta-llama/Llama-3.1-8B\nmethod: lora\nseq_len: 2048\nloss: fused\ngradient_checkpointing: true\nconstraints: { gpus: [A10G], max_nodes: 1 }\n').advice).toEqual([])
  })

  it('when nothing fits, the suggestions name the fused loss and what it buys', () => {
    const input = planInputOf(loadSpec('model: meta-llama/Llama-3.1-8B\nmethod: lora\nseq_len: 2048\ngradient_checkpointing: true\ndeepspeed: { zero: 0 }\nconstraints: { gpus: [A10G], max_nodes: 1 }\n', 'spec.yaml', memorySources()), AWS_CATALOG)
    const r = planFinetune(input)
    expect(r.status).toBe('no-fit')
    if (r.status !== 'no-fit') return
    expect(r.suggestions).toContain('loss: fused (Liger\'s fused linear cross-entropy never holds the logits whole; LLaMA-Factory enable_liger_kernel, HF --use_liger_kernel): 1 × g5.xlarge (us-east-1) at $1.01/hour')
  })
})

describe('a fused loss is what the launch runs', () => {
  it('HF Trainer gets --use_liger_kernel (transformers TrainingArguments.use_liger_kernel); the cluster installs liger-kernel', async () => {
    const { dsInputForPlan } = await import('../deepspeed/for-plan.js')
    const { trainerArgs } = await import('../deepspeed/hf-args.js')
    const { clusterPlanFor } = await import('../infra/cluster-plan.js')
    const { readSettings } = await import('../infra/settings.js')
    const l = loadSpec('model: meta-llama/Llama-3.1-8B\nmethod: lora\nseq_len: 2048\nloss: fused\nconstraints: { gpus: [A10G], max_nodes: 1 }\n', 'spec.yaml', memorySources())
    const r = planFinetune(planInputOf(l, AWS_CATALOG))
    if (r.status !== 'fit') throw new Error('expected a plan')
    expect(trainerArgs(dsInputForPlan(l, r.plan, 'hf'))).toContainEqual(['use_liger_kernel', true])
    const cluster = clusterPlanFor(l, r.plan, readSettings({}, 'liger').settings, AWS_CATALOG.asOf)
    expect(cluster.userData[0]).toContain('liger-kernel')
  })
})
