import type { ModelFacts } from './model-facts.js'
import type { Regime } from './regime.js'
import type { Strategy } from './strategy.js'

export interface ZeroBufferBytes {
  /** Alive through forward and backward. */
  steady: number
  /** Alive at the gradient boundary only (ZeRO-0's all-reduce bucket). */
  atStep?: number
  detail: string
}

/**
 * DeepSpeed's GPU buffers (memory-model §4.1, from deepspeed/runtime/zero @38327e07):
 * - ZeRO-1/2: the contiguous-gradients bucket, reduce_bucket_size × 2 B, doubled by overlap_comm;
 * - ZeRO-3: the gathered parameters of the module being computed, whole even beyond stage3_max_live_parameters,
 *   plus the prefetched ones (up to stage3_prefetch_bucket_size while below that cap) and, in backward, their gradients:
 *   DeepSpeed's own estimator counts 4 B × the largest module (estimate_zero3_model_states_mem_needs);
 *   one reduce bucket; and the parameters below stage3_param_persistence_threshold, never partitioned.
 */
/** `partitionBytes`: one GPU's share of every weight at its stored width, what parameter offload moves to the host. */
export function zeroBufferBytes(facts: ModelFacts, regime: Regime, s: Strategy, partitionBytes: number): ZeroBufferBytes {
  if (!regime.deepspeed) return { steady: 0, detail: 'no DeepSpeed' }
  const z = s.zero
  const b = regime.gradBytes
  if (s.zeroStage === 0) {
    // engine.allreduce_gradients flattens the gradients into buckets of 5e8 elements to all-reduce them
    // (engine.py:160 MEMORY_OPT_ALLREDUCE_SIZE, buffered_allreduce_fallback): several GPUs only.
    const bucket = s.gpus > 1 ? Math.min(5e8, facts.trainableParams) * b : 0
    return { steady: 0, detail: s.gpus > 1 ? `DeepSpeed at ZeRO-0: all-reduce bucket of ${(bucket / b / 1e6).toFixed(0)}M gradients` : 'DeepSpeed at ZeRO-0 on one GPU', ...(bucket ? { atStep: bucket } : {}) }
  }
  if (s.zeroStage < 3) {
    const bucket = z.reduceBucketSize * b * (z.overlapComm ? 2 : 1)
    // CPU offload copies each gradient through a GPU buffer the size of the largest trained tensor
    // (stage_1_and_2.py:591-593 temp_grad_buffer_for_gpu_offload, largest_param_numel of :558-567).
    const staging = s.offload === 'none' ? 0 : facts.largestTrainableElements * b
    const detail = `reduce bucket ${z.reduceBucketSize.toExponential(2)} × ${b} B${z.overlapComm ? ' × 2 (overlap_comm)' : ''}`
    return { steady: bucket + staging, detail: staging ? `${detail} + offload staging buffer of the largest trained tensor (${(facts.largestTrainableElements / 1e6).toFixed(1)}M × ${b} B)` : detail }
  }
  // The running module's parameters are gathered whatever stage3_max_live_parameters says; prefetching adds up to
  // stage3_prefetch_bucket_size more while fewer than max_live_parameters are available
  // (partitioned_param_coordinator.py:452-454, max_params_to_prefetch = min(max_available − available, bucket)).
  const module = facts.largestModuleParams
  const prefetched = Math.max(0, Math.min(z.prefetchBucketSize, z.maxLiveParameters - module))
  // A parameter whose next use is within stage3_max_reuse_distance parameters of the trace is not released
  // (partitioned_param_coordinator.py:653-659). Where forward turns into backward, the last modules' next use is
  // twice their distance from the end away, so those in the last max_reuse_distance / 2 parameters stay gathered.
  const total = facts.params.total
  const retained = Math.min(Math.floor(z.maxReuseDistance / 2), Math.max(0, total - module))
  const live = module + Math.max(prefetched, retained)
  const gathered = live * b + module * b
  const persistent = facts.smallTensorParams(z.paramPersistenceThreshold) * 2 * b
  const bucket = z.reduceBucketSize * b
  // Offloaded partitions come to the GPU one copy each before the all-gather concatenates them into its own slot
  // (partition_parameters.py:1331-1333, `p.ds_tensor.to(current_device)`): 1/N of what is being gathered, and never
  // more than the partitions themselves (a 4-bit base's are packed).
  const staging = s.offload === 'optimizer+params' ? Math.min(Math.ceil(live / s.gpus) * b, partitionBytes) : 0
  return {
    steady: gathered + persistent + bucket + staging,
    detail: `gathered ${(module / 1e6).toFixed(1)}M-param largest module + ${(Math.max(prefetched, retained) / 1e6).toFixed(1)}M kept for reuse or prefetched, its grads, reduce bucket, persistent small params${staging ? ', GPU copies of the offloaded partitions being gathered' : ''}`,
  }
}
