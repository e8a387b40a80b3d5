// Every constant of the memory model, with its source. memory-model.md is ftplan's reference note
// (shared/reference/memory-model.md, read 2026-11-28); section numbers below refer to it.

export const GiB = 2 ** 30
export const MiB = 2 ** 20

/**
 * bitsandbytes NF4 with double quantization: 4 bits per weight, one 8-bit absmax per 64-weight block,
 * one fp32 absmax per 256 blocks: 0.5 + 1/64 + 4/(64·256) bytes (bitsandbytes functional.quantize_4bit,
 * blocksize 64; QLoRA paper §2: 0.127 bits per weight of constants). memory-model §6.2.
 */
export const NF4_DQ_BYTES_PER_PARAM = 0.5 + 1 / 64 + 4 / (64 * 256)

/** LLM.int8 (bitsandbytes Int8Params): one int8 per weight plus one fp32 scale per output row. */
export const INT8_BYTES_PER_PARAM = 1

/**
 * bitsandbytes 8-bit optimizer state: uint8 per state plus one fp32 absmax per 256-element block
 * (optim/optimizer.py Optimizer2State.init_state, blocksize 256): 1 + 4/256 bytes per state.
 */
export const BNB_8BIT_STATE_BYTES = 1 + 4 / 256

/**
 * CUDA context, lazily loaded kernels and cuBLAS workspaces, per process. Stas Bekman, ML Engineering
 * (stas00/ml-engineering@744d01e, training/performance): A100, torch 2.1.1+cu121, lazy loading 0.47 GiB;
 * PyTorch PR #86509: 287 MB lazy; Unsloth on RTX 6000 Ada, torch 2.10: 426 MiB. memory-model §7.
 */
export const CUDA_CONTEXT_BYTES = Math.round(0.5 * GiB)

/**
 * torch.distributed / NCCL communicators and buffers once a process group talks to its peers:
 * Stas Bekman (same chapter, "torch.distributed memory usage"): 0.55 → 2.00 GiB after the first barrier
 * on 2 GPUs, "~1-2GiB … the more GPUs the higher". memory-model §7.
 */
export const NCCL_BYTES = Math.round(1.5 * GiB)

/**
 * The caching allocator's reserve above the allocated peak (fragmentation and cached free blocks), as a
 * fraction of the allocated peak: memory-model §7 gives 5–15 % [HEUR]; torchtune's Llama-2-7B LoRA
 * tutorial (peak reserved 15.57 GB for about 14.2 GB allocated) sits at the middle, 10 %.
 */
export const FRAGMENTATION_FRACTION = 0.1

/** Tensors below this many elements keep 32-bit state in bitsandbytes 8-bit optimizers (min_8bit_size). */
export const BNB_MIN_8BIT_SIZE = 4096

/**
 * DeepSpeed's defaults for the knobs whose buffers land on the GPU (deepspeed/runtime/zero/config.py
 * @38327e07) and HF Trainer's "auto" values for them (transformers integrations/deepspeed.py):
 * reduce_bucket_size h², stage3_prefetch_bucket_size 0.9·h², stage3_param_persistence_threshold 10·h.
 */
export const DS_DEFAULTS = {
  reduceBucketSize: 5e8,
  allgatherBucketSize: 5e8,
  prefetchBucketSize: 5e7,
  paramPersistenceThreshold: 1e5,
  maxLiveParameters: 1e9,
  maxReuseDistance: 1e9,
  subGroupSize: 1e9,
  offloadParamBufferCount: 5,
  offloadParamBufferSize: 1e8,
  offloadOptimizerBufferCount: 4,
} as const

/** Sizes people buy GPUs by, in GB (10^9 bytes) as marketed: what `estimate` checks a fit against. */
export const COMMON_GPU_SIZES_GB = [16, 24, 40, 48, 80, 141, 180] as const
