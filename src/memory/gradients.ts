import type { LowRankProjection } from '../spec/spec.js'
import type { ModelFacts } from './model-facts.js'
import { svdTransientBytes } from './projection.js'
import type { Regime } from './regime.js'
import type { Strategy } from './strategy.js'

export interface GradientBytes {
  /** Gradients held when backward has finished (and through the optimizer step). */
  full: number
  /** Gradients that exist before backward starts: the previous micro-steps' sums under accumulation. */
  carried: number
  /** fp32 gradient copies DeepSpeed makes for the optimizer step only. */
  stepExtra: number
  detail: string
}

/**
 * Gradients of the trainable parameters on one GPU (memory-model §2.2, §3.5): ZeRO-1 keeps full 16-bit
 * grads, ZeRO-2 and 3 keep a 1/N partition; DeepSpeed converts the partition to fp32 for the step
 * (ZeRO-3: one fp32 buffer of the largest sub-group, sub_group_size). Optimizer offload moves the
 * partition (and the fp32 copy) to the CPU. Without DeepSpeed grads take the trainable weights' dtype.
 */
export function gradientBytes(facts: ModelFacts, regime: Regime, s: Strategy, spec?: LowRankProjection): GradientBytes {
  const T = facts.trainableParams
  const carry = s.accumulation > 1
  if (!regime.deepspeed) {
    const p = facts.projection
    const svd = p && spec ? svdTransientBytes(spec, p, regime.gradBytes) : 0
    if (spec?.layerwise) {
      // Layer-wise GaLore/APOLLO steps and frees each gradient in its post-accumulate-grad hook (LLaMA-Factory
      // train/trainer_utils.py:264-270), so one parameter's gradient exists at a time, with the SVD of its projection.
      const one = facts.largestTrainableElements * regime.gradBytes + svd
      return { full: one, carried: 0, stepExtra: 0, detail: `layer-wise: one parameter's ${regime.gradBytes}-byte gradient at a time (the largest)${svd ? ' + its projection\'s SVD' : ''}` }
    }
    const full = T * regime.gradBytes
    return { full, carried: carry ? full : 0, stepExtra: svd, detail: `${regime.gradBytes} B per trainable parameter${svd ? ', + the SVD refreshing the largest projection at the step' : ''}` }
  }
  const offload = s.offload !== 'none'
  if (s.zeroStage === 0) {
    // FP16_Optimizer: 16-bit grads on the parameters, converted to one fp32 flat buffer at the step
    // (runtime/fp16/fused_optimizer.py:290-294).
    const full = T * regime.gradBytes
    return { full, carried: carry ? full : 0, stepExtra: 4 * T, detail: `DeepSpeed at ZeRO-0: full ${regime.gradBytes}-byte grads, fp32 copy at the step` }
  }
  const partition = Math.ceil(T / s.gpus)
  if (s.zeroStage === 1) {
    const full = T * regime.gradBytes
    return { full, carried: carry ? full : 0, stepExtra: offload ? 0 : 4 * partition, detail: `ZeRO-1: full ${regime.gradBytes}-byte grads on every GPU${offload ? '' : ', fp32 partition at the step'}` }
  }
  if (offload) {
    return { full: 0, carried: 0, stepExtra: 0, detail: `ZeRO-${s.zeroStage}: reduced into pinned CPU buffers (optimizer offload)` }
  }
  const full = partition * regime.gradBytes
  const stepExtra = s.zeroStage === 3 ? 4 * Math.min(partition, s.zero.subGroupSize) : 4 * partition
  // ZeRO-3 allocates the partition's gradient buffer when the optimizer is built (stage3.py:742-744,
  // grad_partitions_flat_buffer = torch.zeros(Σ partition_numel, gradient_accumulation_dtype) on the GPU without
  // optimizer offload), so it is there through every forward, accumulation or not.
  const carried = s.zeroStage === 3 || carry ? full : 0
  return { full, carried, stepExtra, detail: `ZeRO-${s.zeroStage}: 1/${s.gpus} partition, ${regime.gradBytes} B${s.zeroStage === 3 ? ' (a buffer from the start)' : ''}, + fp32 copy at the step` }
}
