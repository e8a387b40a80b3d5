import type { FinetuneSpec } from '../spec/spec.js'
import type { Strategy } from './strategy.js'

/**
 * Bytes per element of each kind of model state, for the framework that runs the strategy (memory-model §2):
 * - no DeepSpeed (ZeRO 0), mixed bf16/fp16: trainable weights fp32 with autocast's 16-bit copies alive
 *   through forward and backward, fp32 grads and optimizer state: 18 B per full-FT parameter (HF
 *   model_memory_anatomy.md; LLaMA-Factory upcasts trainable parameters to fp32, adapter.py); frozen
 *   weights stay 16-bit;
 * - pure_bf16 without DeepSpeed: weights, grads and torch optimizer state all bf16 (8 B per Adam parameter);
 * - DeepSpeed ZeRO 1–3 with bf16/fp16 (pure_bf16 too): 16-bit weights and grads, an fp32 master copy and fp32
 *   optimizer state per trainable parameter (bf16_optimizer.py, stage_1_and_2.py, stage3.py);
 * - fp32: everything 4 bytes.
 */
export interface Regime {
  deepspeed: boolean
  trainableWeightBytes: number
  frozenWeightBytes: number
  /** autocast's cached 16-bit copy of each trainable fp32 weight, saved for backward. */
  autocastCopyBytes: number
  gradBytes: number
  masterBytes: number
  /** Bytes of one element of optimizer state (torch optimizers keep state in the parameter's dtype). */
  stateBytes: number
  /** Bytes of one activation element. */
  actBytes: number
  /** Bytes of one element of the residual stream between layers. */
  residualBytes: number
  /** Whether LoRA adapters run in fp32 under autocast (and so re-cast their inputs). */
  adaptersInAutocast: boolean
  describe: string
}

export function precisionRegime(spec: FinetuneSpec, strategy: Strategy): Regime {
  const fp32 = spec.precision === 'fp32'
  // DeepSpeed at ZeRO 0 in bf16 or fp16 wraps the optimizer in its FP16_Optimizer (engine.py:2019, 2065-2067: a 16-bit
  // model with 16-bit gradient accumulation): 16-bit weights and grads, an fp32 master copy and fp32 optimizer state.
  if (strategy.zeroStage > 0 || strategy.deepspeedAtZero0) {
    const b = fp32 ? 4 : 2
    return {
      deepspeed: true, trainableWeightBytes: b, frozenWeightBytes: b, autocastCopyBytes: 0, gradBytes: b,
      masterBytes: fp32 ? 0 : 4, stateBytes: 4, actBytes: b, residualBytes: b, adaptersInAutocast: false,
      describe: fp32 ? 'DeepSpeed fp32' : `DeepSpeed ${spec.precision === 'fp16' ? 'fp16' : 'bf16'} with fp32 master weights${spec.precision === 'pure_bf16' ? ' (DeepSpeed keeps an fp32 master even for pure_bf16)' : ''}`,
    }
  }
  if (fp32) {
    return { deepspeed: false, trainableWeightBytes: 4, frozenWeightBytes: 4, autocastCopyBytes: 0, gradBytes: 4, masterBytes: 0, stateBytes: 4, actBytes: 4, residualBytes: 4, adaptersInAutocast: false, describe: 'fp32' }
  }
  if (spec.precision === 'pure_bf16') {
    return { deepspeed: false, trainableWeightBytes: 2, frozenWeightBytes: 2, autocastCopyBytes: 0, gradBytes: 2, masterBytes: 0, stateBytes: 2, actBytes: 2, residualBytes: 2, adaptersInAutocast: false, describe: 'pure bf16 (weights, grads and optimizer state bf16)' }
  }
  const full = spec.method === 'full'
  return {
    deepspeed: false, trainableWeightBytes: 4, frozenWeightBytes: 2, autocastCopyBytes: 2, gradBytes: 4, masterBytes: 0,
    stateBytes: 4, actBytes: 2, residualBytes: full ? 4 : 2, adaptersInAutocast: spec.method === 'lora' || spec.method === 'qlora',
    describe: `${spec.precision} autocast over fp32 trainable weights (HF Trainer / PyTorch AMP)`,
  }
}
