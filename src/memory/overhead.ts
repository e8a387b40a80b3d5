import { CUDA_CONTEXT_BYTES, FRAGMENTATION_FRACTION, NCCL_BYTES } from './constants.js'

/** CUDA context and cuBLAS workspaces, plus NCCL communicators when several GPUs talk (constants.ts). */
export function cudaContextBytes(gpus: number): { bytes: number; detail: string } {
  return gpus > 1
    ? { bytes: CUDA_CONTEXT_BYTES + NCCL_BYTES, detail: 'CUDA context 0.5 GiB + NCCL 1.5 GiB' }
    : { bytes: CUDA_CONTEXT_BYTES, detail: 'CUDA context and cuBLAS workspace, 0.5 GiB' }
}

/** The caching allocator's reserve above the allocated peak (constants.ts FRAGMENTATION_FRACTION). */
export function allocatorOverheadBytes(peakAllocatedBytes: number): number {
  return Math.round(FRAGMENTATION_FRACTION * peakAllocatedBytes)
}
