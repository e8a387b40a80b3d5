import type { InstanceOffer } from '../instances/types.js'
import type { Strategy } from '../memory/strategy.js'

/** PCIe 4.0 x16, one direction: 16 GT/s × 16 lanes × 128/130 encoding = 31.5 GB/s (PCI-SIG). */
export const PCIE_BYTES_PER_SECOND = 31.5e9
/**
 * Share of the line rate NCCL's ring reaches [HEUR]: over PCIe the ring crosses the host bridge (nccl-tests
 * bus bandwidth on PCIe 4.0 boxes is about half of 31.5 GB/s); over TCP sockets without EFA, about half too.
 * NVLink and EFA are taken at line rate.
 */
export const PCIE_RING_EFFICIENCY = 0.5
export const TCP_EFFICIENCY = 0.5

/**
 * One direction of one GPU's NVLink, bytes/s (NVIDIA: V100 NVLink2 300 GB/s and A100 NVLink3 600 GB/s and
 * H100 NVLink4 900 GB/s and B200 NVLink5 1.8 TB/s, all bidirectional; halved; the catalog's p3 rows that say
 * "200 GB/s aggregate" get 100), or the PCIe ring share.
 */
export function gpuLinkBytesPerSecond(offer: InstanceOffer): number {
  const i = offer.interconnect
  if (/NVLink5/.test(i)) return 900e9
  if (/NVLink4/.test(i)) return 450e9
  if (/NVLink3/.test(i)) return 300e9
  if (/NVLink 2\.0 200/.test(i)) return 100e9
  if (/NVLink 2\.0/.test(i)) return 150e9
  return PCIE_BYTES_PER_SECOND * PCIE_RING_EFFICIENCY
}

/**
 * A node's inter-node bandwidth, bytes/s: the instance's network, EFA at line rate, TCP at half. A catalog row
 * without a figure (user catalogs) is taken at 10 Gbps [HEUR], the "up to 10 Gigabit" tier of the smaller GPU
 * instances.
 */
export function nodeNetworkBytesPerSecond(offer: InstanceOffer): number {
  return ((offer.networkGbps ?? 10) * 1e9 * (offer.efaInterfaces ? 1 : TCP_EFFICIENCY)) / 8
}

/**
 * Data-parallel traffic of one optimizer step, as the bytes D each ring collective is given (NCCL's algorithm
 * size; an all-reduce is a reduce-scatter plus an all-gather, 2D), split by what the traffic can hide behind.
 * - ZeRO 0: one all-reduce of the 16-bit trainable gradients per step, bucketed behind the last micro-step's
 *   backward (DDP no_sync within accumulation; ZeRO paper §7.1: 2Ψ per step).
 * - ZeRO 1: the same gradients reduce-scattered behind that backward, then the updated 16-bit parameters
 *   all-gathered after the optimizer step, with nothing to hide behind.
 * - ZeRO 2: a reduce-scatter of the gradients every micro-step (DeepSpeed reduces each backward into the
 *   partitioned accumulator, overlap_comm) and the same exposed all-gather.
 * - ZeRO 3: every micro-step gathers the 16-bit parameters for the forward and again for the backward, and
 *   reduce-scatters the gradients (ZeRO paper §7.2: 3Ψ, 1.5× data parallel), prefetched behind compute.
 *   Frozen parameters are partitioned too, so a LoRA model is still gathered whole.
 */
export interface Collectives {
  /** Bytes each micro-step moves, overlapped with that micro-step's compute. */
  perMicroStep: number
  /** Bytes moved once per step behind the last micro-step's backward. */
  atBoundary: number
  /** Bytes moved once per step after the optimizer step. */
  exposed: number
}

export function collectiveBytes(s: Strategy, trainable: number, total: number): Collectives {
  const grads = 2 * trainable
  switch (s.zeroStage) {
    case 0: return { perMicroStep: 0, atBoundary: 2 * grads, exposed: 0 }
    case 1: return { perMicroStep: 0, atBoundary: grads, exposed: grads }
    case 2: return { perMicroStep: grads, atBoundary: 0, exposed: grads }
    case 3: return { perMicroStep: 2 * (2 * total) + grads, atBoundary: 0, exposed: 0 }
  }
}

/**
 * The ring's slowest link, bytes/s: each GPU's NVLink/PCIe within a node, or, with more than one node, the node's
 * network if slower (shared by its GPUs: a ring crosses each node boundary once per channel, so a node's NICs
 * carry D·(n−1)/n in all, as each GPU's link does).
 */
export function ringBandwidth(offer: InstanceOffer, nodes: number): number {
  const link = gpuLinkBytesPerSecond(offer)
  return nodes > 1 ? Math.min(link, nodeNetworkBytesPerSecond(offer)) : link
}

/** Seconds to move D bytes through a ring of `gpus` GPUs: D·(n−1)/n over the slowest link. */
export function ringSeconds(bytes: number, gpus: number, bandwidth: number): number {
  if (gpus <= 1 || bytes === 0) return 0
  return (bytes * (gpus - 1)) / gpus / bandwidth
}
