import { DS_DEFAULTS } from './constants.js'
import type { ModelFacts } from './model-facts.js'
import type { Regime } from './regime.js'
import type { Strategy } from './strategy.js'

export interface HostBytes {
  cpuBytes: number
  nvmeBytes: number
  detail: string
}

/**
 * CPU RAM and NVMe one node needs for offloaded state (memory-model §3.2, §3.5): per GPU, optimizer offload
 * holds the fp32 master, the optimizer state and fp32 gradients of its 1/N partition in (pinned) host
 * memory; parameter offload adds its 16-bit parameter partition. NVMe keeps the state on disk and pins
 * swap buffers in RAM (offload_optimizer.buffer_count × the sub-group, offload_param buffer_count ×
 * buffer_size). Model loading and the Python processes themselves are not counted.
 */
/**
 * offload_param.buffer_size for NVMe: DeepSpeed swaps each parameter's partition through one pinned buffer
 * and asserts `numel <= buffer_size` (runtime/swap_tensor/partitioned_param_swapper.py:357, get_buffer), where
 * numel is the partition ceil(numel / world size) (runtime/zero/partition_parameters.py:1788-1795). The
 * default 1e8 (zero/offload_config.py:38) fails for Llama-3.1-70B's embedding on 8 GPUs (131,334,144).
 */
export function nvmeParamBufferElements(largestParamElements: number, gpus: number): number {
  return Math.max(DS_DEFAULTS.offloadParamBufferSize, Math.ceil(largestParamElements / gpus))
}

/** `wholeWeightBytes`: every weight of the model at its stored width (a 4-bit base packed), unsharded. */
export function hostBytes(facts: ModelFacts, regime: Regime, s: Strategy, optimizerBytesPerParam: number, wholeWeightBytes: number): HostBytes {
  if (!regime.deepspeed || s.offload === 'none') return { cpuBytes: 0, nvmeBytes: 0, detail: 'nothing offloaded' }
  const perGpuTrainable = Math.ceil(facts.trainableParams / s.gpus)
  // Gradients on the host: ZeRO-3 keeps the partition in its accumulation dtype, the model's 16-bit by default
  // (stage3.py:742-746 grad_partitions_flat_buffer on the CPU, pinned; engine.py:1492 grad_accum_dtype = model
  // dtype), and makes one sub-group's fp32 copy at the step; ZeRO-1/2 keep an fp32 partition.
  const grads = s.zeroStage === 3 ? perGpuTrainable * regime.gradBytes + 4 * Math.min(perGpuTrainable, s.zero.subGroupSize) : perGpuTrainable * 4
  const optimizer = perGpuTrainable * optimizerBytesPerParam + grads
  const params = s.offload === 'optimizer+params' ? Math.ceil(wholeWeightBytes / s.gpus) : 0
  const n = s.gpusPerNode
  if (s.offloadDevice === 'cpu') {
    return { cpuBytes: n * (optimizer + params), nvmeBytes: 0, detail: `${n} GPUs × (optimizer ${optimizerBytesPerParam.toFixed(0)} B per parameter of the partition + its gradients${params ? ' + 16-bit parameters' : ''}), pinned` }
  }
  const optimizerBuffers = DS_DEFAULTS.offloadOptimizerBufferCount * Math.min(perGpuTrainable, s.zero.subGroupSize) * 4
  const paramBuffers = params ? DS_DEFAULTS.offloadParamBufferCount * nvmeParamBufferElements(facts.largestParamElements, s.gpus) * regime.trainableWeightBytes : 0
  return {
    cpuBytes: n * (optimizerBuffers + paramBuffers + grads),
    nvmeBytes: n * (perGpuTrainable * optimizerBytesPerParam + params),
    detail: `NVMe holds the optimizer state${params ? ' and parameters' : ''}; RAM holds pinned swap buffers and fp32 gradients`,
  }
}
