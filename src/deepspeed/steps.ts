import type { TrainData } from '../spec/spec.js'

/**
 * Optimizer steps of the whole run, as HF Trainer counts them when it is given the data (trainer.py
 * _inner_training_loop): batches per rank = ceil(rows / (micro × world)), updates per epoch =
 * max(batches // accumulation, 1), steps = ceil(epochs × updates). Rows are the samples, or for a token count
 * the packed rows of seq_len tokens. Null without a train section.
 */
export function optimizerSteps(train: TrainData | null, seqLen: number, micro: number, accumulation: number, world: number): number | null {
  if (!train) return null
  const rows = 'tokens' in train ? Math.ceil(train.tokens / seqLen) : train.samples
  const batches = Math.ceil(rows / (micro * world))
  const perEpoch = Math.max(Math.floor(batches / accumulation), 1)
  return Math.ceil(train.epochs * perEpoch)
}

/** HF TrainingArguments.get_warmup_steps: warmup_steps when set, else ceil(steps × warmup_ratio). */
export function warmupSteps(steps: number, ratio: number, fixed: number): number {
  return fixed > 0 ? fixed : Math.ceil(steps * ratio)
}
