import type { ModelFacts } from './model-facts.js'
import type { Regime } from './regime.js'
import type { Strategy } from './strategy.js'

export interface ZeroBufferBytes {
  /** Alive through forward and backward. */
  steady: number
  detail: string
}

/**
 * DeepSpeed's GPU buffers (memory-model §4.1, from deepspeed/runtime/zero @38327e07):
 * - ZeRO-1/2: the contiguous-gradients bucket, reduce_bucket_size × 2 B, doubled by overlap_comm;
 * - ZeRO-3: the gathered parameters of the module being computed plus the prefetched ones (up to
 *   stage3_prefetch_bucket_size, capped by stage3_max_live_parameters) and, in backward, their gradients:
 *   DeepSpeed's own estimator counts 4 B × the largest module (estimate_zero3_model_states_mem_needs);
 *   one reduce bucket; and the parameters below stage3_param_persistence_threshold, never partitioned.
 */
export function zeroBufferBytes(facts: ModelFacts, regime: Regime, s: Strategy): ZeroBufferBytes {
  if (!regime.deepspeed) return { steady: 0, detail: 'no DeepSpeed' }
  const z = s.zero
  const b = regime.gradBytes
  if (s.zeroStage < 3) {
    const bucket = z.reduceBucketSize * b * (z.overlapComm ? 2 : 1)
    return { steady: bucket, detail: `reduce bucket ${z.reduceBucketSize.toExponential(2)} × ${b} B${z.overlapComm ? ' × 2 (overlap_comm)' : ''}` }
  }
  const live = Math.min(facts.largestModuleParams + z.prefetchBucketSize, z.maxLiveParameters)
  const gathered = live * b + facts.largestModuleParams * b
  const persistent = facts.smallTensorParams(z.paramPersistenceThreshold) * 2 * b
  const bucket = z.reduceBucketSize * b
  return {
    steady: gathered + persistent + bucket,
    detail: `gathered ${(facts.largestModuleParams / 1e6).toFixed(1)}M-param largest module + ${(z.prefetchBucketSize / 1e6).toFixed(1)}M prefetch, its grads, reduce bucket, persistent small params`,
  }
}
