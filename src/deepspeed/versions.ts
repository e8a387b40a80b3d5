/**
 * The releases whose rules ftplan's DeepSpeed artifacts are written and checked against: one place, quoted in
 * the README. DeepSpeed is read at deepspeedai/DeepSpeed@edaa7221 (v0.19.5 + 27 commits, 2026-08-22); every
 * "file:line" in src/deepspeed cites that tree. transformers' integrations/deepspeed.py at
 * huggingface/transformers@02348331; accelerate's accelerator.py (_prepare_deepspeed); LLaMA-Factory at
 * hiyouga/LLaMA-Factory@ff6d4d12 (2026-08-18).
 */
export const TARGET_VERSIONS = {
  deepspeed: '0.19.5',
  /** warmup_steps below 1 is a ratio from 5.0 on, and warmup_ratio is gone (transformers PR #41326). */
  transformers: '5.0',
} as const

/** What a launch needs installed: `pip install` lines the launch script prints. */
export const PIP_REQUIREMENT = `deepspeed>=${TARGET_VERSIONS.deepspeed}`
export const TRANSFORMERS_REQUIREMENT = `transformers>=${TARGET_VERSIONS.transformers}`
