import type { Optimizer } from '../spec/spec.js'
import { dsScheduler, type DsConfigInput } from './config.js'

/** HF TrainingArguments `optim` names (transformers OptimizerNames) for ftplan's optimizers. */
export const HF_OPTIM: Record<Optimizer, string> = {
  adamw: 'adamw_torch_fused', adamw_8bit: 'adamw_bnb_8bit', paged_adamw: 'paged_adamw_32bit', paged_adamw_8bit: 'paged_adamw_8bit',
  adafactor: 'adafactor', sgd: 'sgd', lion: 'lion_32bit',
}

/**
 * Which TrainingArguments fill each DeepSpeed "auto" value, as HF's HfTrainerDeepSpeedConfig does
 * (transformers integrations/deepspeed.py, trainer_config_process and trainer_config_finalize @02348331).
 * `null`: filled from the model config (hidden_size), no argument needed. An explicit value must equal the
 * argument or HF raises "Please correct the following DeepSpeed config values that mismatch".
 */
export const HF_FILLS: Record<string, readonly string[] | null> = {
  train_micro_batch_size_per_gpu: ['per_device_train_batch_size'],
  gradient_accumulation_steps: ['gradient_accumulation_steps'],
  // world_size × per_device_train_batch_size × gradient_accumulation_steps: the launcher sets the world size.
  train_batch_size: ['per_device_train_batch_size', 'gradient_accumulation_steps'],
  gradient_clipping: ['max_grad_norm'],
  'optimizer.params.lr': ['learning_rate'],
  'optimizer.params.betas': ['adam_beta1', 'adam_beta2'],
  'optimizer.params.eps': ['adam_epsilon'],
  'optimizer.params.weight_decay': ['weight_decay'],
  'scheduler.params.warmup_max_lr': ['learning_rate'],
  'scheduler.params.total_num_steps': ['max_steps'],
  'scheduler.params.warmup_num_steps': ['warmup_steps'],
  'fp16.enabled': ['fp16'],
  'bf16.enabled': ['bf16'],
  'zero_optimization.reduce_bucket_size': null,
  'zero_optimization.stage3_prefetch_bucket_size': null,
  'zero_optimization.stage3_param_persistence_threshold': null,
}

export type ArgValue = string | number | boolean

/**
 * The TrainingArguments a run needs so that HF Trainer (and LLaMA-Factory, which passes them through) runs what
 * ftplan planned and agrees with the DeepSpeed config of either style: every value HF fills into an "auto", and
 * every value an explicit config states. Ordered as a user reads them.
 */
export function trainerArgs(input: DsConfigInput): [string, ArgValue][] {
  const s = input.strategy
  const o = input.optim
  const out: [string, ArgValue][] = [
    ['per_device_train_batch_size', s.microBatch],
    ['gradient_accumulation_steps', s.accumulation],
  ]
  if (input.precision === 'bf16') out.push(['bf16', true])
  if (input.precision === 'fp16') out.push(['fp16', true])
  out.push(
    ['learning_rate', o.lr], ['weight_decay', o.weightDecay], ['adam_beta1', o.betas[0]], ['adam_beta2', o.betas[1]], ['adam_epsilon', o.eps],
    ['max_grad_norm', o.maxGradNorm], ['optim', HF_OPTIM[input.optimizer]], ['lr_scheduler_type', input.scheduler.type],
  )
  // An explicit config's DeepSpeed scheduler has its step counts written in: HF must count the same.
  const sched = input.style === 'deepspeed' ? dsScheduler(input.scheduler, o.lr, input.totalSteps) : null
  if (sched) {
    if (sched.totalSteps !== null) out.push(['max_steps', sched.totalSteps])
    out.push(['warmup_steps', sched.warmupSteps])
  } else if (input.scheduler.warmupSteps > 0) out.push(['warmup_steps', input.scheduler.warmupSteps])
  // transformers ≥ 5 reads a warmup_steps below 1 as a ratio and has dropped warmup_ratio (PR #41326).
  else if (input.scheduler.warmupRatio > 0) out.push(['warmup_steps', input.scheduler.warmupRatio])
  if (s.gradientCheckpointing) out.push(['gradient_checkpointing', true])
  // transformers TrainingArguments.use_liger_kernel: Liger's kernels, its fused linear cross-entropy among them.
  if (input.loss === 'fused') out.push(['use_liger_kernel', true])
  return out
}

/** `--name value` for the command line (a true flag stands alone; HfArgumentParser reads a bare flag as True). */
export function argvOf(args: readonly [string, ArgValue][]): string {
  return args.filter(([, v]) => v !== false).map(([k, v]) => (v === true ? `--${k}` : `--${k} ${String(v)}`)).join(' ')
}
