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
 * CUDA context, lazily loaded kernels and cuBLAS workspaces, per process: the device memory a process holds beyond
 * the caching allocator's reserve. Measured on one H200 with torch 2.11 + CUDA 13 (test/fixtures/measured/
 * h200-probe.jsonl: device_used − max_reserved = 0.80–0.81 GB on all 65 rows); older stacks report less (Stas
 * Bekman, ML Engineering, A100 torch 2.1.1+cu121: 0.47 GiB; PyTorch PR #86509: 287 MB with lazy loading; Unsloth on
 * RTX 6000 Ada, torch 2.10: 426 MiB), so the current stack's figure is taken for every GPU: on older GPUs it errs
 * towards less room, not an OOM.
 */
export const CUDA_CONTEXT_BYTES = 0.81e9

/**
 * torch.distributed / NCCL communicators and buffers once a process group talks to its peers:
 * Stas Bekman (same chapter, "torch.distributed memory usage"): 0.55 → 2.00 GiB after the first barrier
 * on 2 GPUs, "~1-2GiB … the more GPUs the higher". memory-model §7.
 */
export const NCCL_BYTES = Math.round(1.5 * GiB)

/**
 * The caching allocator's reserve above the allocated peak (max_memory_reserved − max_memory_allocated): blocks
 * freed and kept cached. Fitted (minimax relative error of the reserved peak) on the 65 H200 probe rows
 * (test/fixtures/measured/h200-probe.jsonl, max_reserved / max_allocated 1.003–1.353): most of the largest transient
 * block of the step, which the allocator keeps after the loss frees it (the fp32 logits of a standard loss), a
 * fragmentation share of the allocated peak, and a base of smaller cached blocks. Every row's reserved peak is then
 * within 12 % (test/calibration/probe-measured.test.ts prints the table). Of the fits within 12 %, the one with the
 * largest share of the allocated peak: runs bigger than the probe's lean on it.
 */
export const ALLOCATOR_BASE_BYTES = 0.75e9
export const ALLOCATOR_LARGEST_BLOCK_FACTOR = 0.85
export const ALLOCATOR_PEAK_FRACTION = 0.04

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

