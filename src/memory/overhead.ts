import { ALLOCATOR_BASE_BYTES, ALLOCATOR_LARGEST_BLOCK_FACTOR, ALLOCATOR_PEAK_FRACTION, CUDA_CONTEXT_BYTES, NCCL_BYTES } from './constants.js'

/** CUDA context and cuBLAS workspaces, plus NCCL communicators when several GPUs talk (constants.ts). */
export function cudaContextBytes(gpus: number): { bytes: number; detail: string } {
  return gpus > 1
    ? { bytes: CUDA_CONTEXT_BYTES + NCCL_BYTES, detail: 'CUDA context 0.81 GB (measured, H200, torch 2.11) + NCCL 1.5 GiB' }
    : { bytes: CUDA_CONTEXT_BYTES, detail: 'CUDA context and cuBLAS workspace, 0.81 GB (measured, H200, torch 2.11)' }
}

/**
 * The caching allocator's reserve above the allocated peak: 0.85 × the largest transient block (kept cached), 4 % of
 * the allocated peak (fragmentation) and 0.75 GB of smaller cached blocks (constants.ts, fitted on the H200 probe).
 */
export function allocatorOverheadBytes(largestTransientBytes: number, peakAllocatedBytes: number): { bytes: number; detail: string } {
  const bytes = Math.round(ALLOCATOR_BASE_BYTES + ALLOCATOR_LARGEST_BLOCK_FACTOR * largestTransientBytes + ALLOCATOR_PEAK_FRACTION * peakAllocatedBytes)
  return { bytes, detail: `caching-allocator reserve: 0.85 × the largest transient block (${(largestTransientBytes / 1e9).toFixed(2)} GB) + 4% of the allocated peak + 0.75 GB (fitted on 65 H200 runs)` }
}
