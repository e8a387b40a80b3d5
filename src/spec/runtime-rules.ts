import type { FinetuneSpec, ZeroStage } from './spec.js'

type RuleInput = Pick<FinetuneSpec, 'precision' | 'quantization' | 'trainerFeatures'>

/**
 * Why the trainer ftplan launches refuses to start this spec under ZeRO stage `stage`, or null when it starts.
 * Each rule is LLaMA-Factory's own check (hiyouga/LLaMA-Factory@ff6d4d12), applied to every spec because
 * `llamafactory-cli` is one of the launch commands ftplan writes; stage 0 means no DeepSpeed at all.
 */
export function stageRefusal(spec: RuleInput, stage: ZeroStage): string | null {
  const galore = spec.trainerFeatures.find((f) => f === 'galore' || f === 'apollo')
  if (galore && stage > 0) return `${galore === 'galore' ? 'GaLore' : 'APOLLO'} runs only without DeepSpeed (LLaMA-Factory hparams/parser.py:518)`
  // Both key their per-parameter choices to the model's own tensors, which DeepSpeed ZeRO replaces in the optimizer's
  // param_groups by flat fp32 partitions (stage_1_and_2.py, stage3.py): Muon's state[p]["use_muon"] is set for the model's
  // parameters only (LLaMA-Factory third_party/muon/muon.py:129-135), Adam-mini's blocks are modelled on whole parameters (adam_mini.py).
  if (stage > 0 && spec.trainerFeatures.includes('muon')) return 'Muon steps the model\'s own 2-D parameters, not the flat partitions DeepSpeed ZeRO hands the optimizer (LLaMA-Factory third_party/muon/muon.py:129-135); ftplan plans it without DeepSpeed'
  if (stage > 0 && spec.trainerFeatures.includes('adam_mini')) return 'Adam-mini is modelled on whole parameters (one second moment per head or row, zyushun/Adam-mini adam_mini.py:241-300), not on the flat partitions DeepSpeed ZeRO hands the optimizer; ftplan plans it without DeepSpeed'
  if (stage !== 3) return null
  if (spec.precision === 'pure_bf16') return 'pure_bf16 is incompatible with DeepSpeed ZeRO-3 (LLaMA-Factory hparams/parser.py:502)'
  if (spec.quantization === '8bit') return 'an 8-bit quantized model cannot be sharded by ZeRO-3; only 4-bit can (LLaMA-Factory model/model_utils/quantization.py:197-199)'
  if (spec.trainerFeatures.includes('pissa_init')) return 'PiSSA initialisation is refused under ZeRO-3 (LLaMA-Factory hparams/parser.py:495)'
  if (spec.trainerFeatures.includes('prequantized')) return 'a checkpoint stored quantized cannot be sharded by ZeRO-3 (LLaMA-Factory model/model_utils/quantization.py:101-106: "DeepSpeed ZeRO-3 or FSDP is incompatible with PTQ-quantized models")'
  return null
}

/** The refusals that narrow the stages a spec can plan over, one line each, for the plan's assumptions. */
export function stageRefusals(spec: RuleInput): string[] {
  const out = new Set<string>()
  for (const stage of [1, 3] as const) {
    const r = stageRefusal(spec, stage)
    if (r) out.add(`${stage === 3 && !stageRefusal(spec, 1) ? 'no ZeRO-3' : 'no DeepSpeed'}: ${r}`)
  }
  return [...out]
}
