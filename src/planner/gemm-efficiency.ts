import type { GpuName } from '../instances/names.js'
import type { ModelArch } from '../models/arch.js'

/**
 * Streaming multiprocessors per GPU (NVIDIA architecture whitepapers: V100 80, T4 40, A100 108, A10/A10G 72
 * and 80, L4 58, L40S 142, H100 SXM and H200 132, B200 148; B300 taken as B200, no whitepaper figure read). A GEMM's output is cut into tiles, one thread
 * block each; tiles run in waves of one per SM.
 */
export const STREAMING_MULTIPROCESSORS: Partial<Record<GpuName, number>> = {
  V100: 80, 'V100-32GB': 80, T4: 40, A10G: 80, L4: 58, L40S: 142, 'A100-40GB': 108, 'A100-80GB': 108, H100: 132, H200: 132, B200: 148, B300: 148,
}

/** Output tile of the bf16 GEMM kernels: 128×256 on Hopper and Blackwell (CUTLASS WGMMA defaults), 128×128 before. */
const HOPPER_TILE: [number, number] = [128, 256]
const AMPERE_TILE: [number, number] = [128, 128]
export function gemmTile(gpu: GpuName): [number, number] {
  return gpu === 'H100' || gpu === 'H200' || gpu === 'B200' || gpu === 'B300' ? HOPPER_TILE : AMPERE_TILE
}

/**
 * Share of an M×N GEMM's tile slots doing useful work: tile quantization (partial tiles at the edges) times
 * wave quantization (the last wave leaves SMs idle). NVIDIA "Matrix Multiplication Background User's Guide",
 * §§ "Tile quantization", "Wave quantization".
 */
export function quantizationEfficiency(m: number, n: number, sms: number, [tm, tn]: [number, number]): number {
  const tiles = Math.ceil(m / tm) * Math.ceil(n / tn)
  const waves = Math.ceil(tiles / sms)
  return (m * n) / (waves * sms * tm * tn)
}

/**
 * Share of useful tile slots when `groups` GEMMs of M×N run as one grouped GEMM (torch._grouped_mm): each group is cut
 * into its own tiles, but the tiles of every group share the waves, so only the last wave of the whole launch idles.
 */
export function groupedQuantizationEfficiency(m: number, n: number, groups: number, sms: number, [tm, tn]: [number, number]): number {
  const tiles = groups * Math.ceil(m / tm) * Math.ceil(n / tn)
  const waves = Math.ceil(tiles / sms)
  return (groups * m * n) / (waves * sms * tm * tn)
}

/**
 * FLOP-weighted efficiency of one decoder layer's token-major GEMMs (the forward, its recompute, and the input
 * gradient, whose M is the micro-step's tokens): q, k, v, o and the MLP. A routed expert sees only its share of
 * the tokens, tokens × top-k ÷ experts; transformers ≥ 5 runs a layer's experts as one grouped GEMM
 * (integrations/moe.py grouped_mm_experts_forward, `torch._grouped_mm` over the fused 3-D expert weights), so
 * their small tiles share waves and only tile quantization is lost. Weight-gradient
 * GEMMs (M = a weight's rows) are large whatever the batch, and are counted at the same efficiency, an upper
 * bound on the loss. 1 where the SM count is unknown.
 */
export function smallBatchEfficiency(arch: ModelArch, microTokens: number, gpu: GpuName): number {
  const sms = STREAMING_MULTIPROCESSORS[gpu]
  if (!sms) return 1
  const tile = gemmTile(gpu)
  const h = arch.hiddenSize
  const q = arch.numHeads * arch.headDim
  const kv = arch.numKvHeads * arch.headDim
  let flops = 0
  let time = 0
  // one GEMM of rows M, output N, inner K, `count` times; FLOPs ∝ M·N·K (no arrays: the planner calls this per candidate)
  const add = (m: number, n: number, k: number, count: number, grouped = false) => {
    flops += count * m * n * k
    time += (count * m * n * k) / (grouped ? groupedQuantizationEfficiency(m, n, count, sms, tile) : quantizationEfficiency(m, n, sms, tile))
  }
  add(microTokens, q, h, 1)
  add(microTokens, 2 * kv, h, 1)
  add(microTokens, h, q, 1)
  const moe = arch.moe && arch.moe.layers.includes(true) ? arch.moe : null
  if (moe) {
    const perExpert = Math.max(1, Math.round((microTokens * moe.expertsPerToken) / moe.numExperts))
    add(perExpert, 2 * moe.expertIntermediateSize, h, moe.numExperts, true)
    add(perExpert, h, moe.expertIntermediateSize, moe.numExperts, true)
    if (moe.sharedIntermediateSize > 0) {
      add(microTokens, 2 * moe.sharedIntermediateSize, h, 1)
      add(microTokens, h, moe.sharedIntermediateSize, 1)
    }
  } else {
    add(microTokens, 2 * arch.intermediateSize, h, 1)
    add(microTokens, h, arch.intermediateSize, 1)
  }
  return flops / time
}
