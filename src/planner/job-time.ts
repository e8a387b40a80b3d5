import type { GpuModel, InstanceOffer } from '../instances/types.js'
import type { ModelArch } from '../models/arch.js'
import type { ModelFacts } from '../memory/model-facts.js'
import type { Strategy } from '../memory/strategy.js'
import type { FinetuneSpec } from '../spec/spec.js'

/**
 * Hardware FLOPs utilisation assumed when the spec gives none: memory-model §9.2 [HEUR] for single-node
 * HF/LLaMA-Factory fine-tuning with flash attention, 25–45 %; 35 %. A first-order model; the calibrated
 * time model is issue #7.
 */
export const DEFAULT_HFU = 0.35
/** PCIe 4.0 x16, one direction: 16 GT/s × 16 lanes × 128/130 encoding = 31.5 GB/s (PCI-SIG). An upper bound. */
export const PCIE_BYTES_PER_SECOND = 31.5e9
/**
 * Host memory bandwidth one node gives CPU Adam [HEUR]: half the 204.8 GB/s peak of an 8-channel DDR4-3200
 * socket. CPU Adam is bandwidth-bound: per parameter it reads the fp32 gradient, master, m and v and writes
 * the last three back, 28 bytes.
 */
export const HOST_MEMORY_BYTES_PER_SECOND = 100e9
export const CPU_ADAM_BYTES_PER_PARAM = 28
/** NCCL over TCP sockets (no EFA) reaches about half the line rate [HEUR]; EFA is taken at line rate. */
export const TCP_EFFICIENCY = 0.5

export interface JobTime {
  /** Model FLOPs per trained token: 6N (full) or 4N (frozen base) plus attention, N without the input embedding. */
  modelFlopsPerToken: number
  /** Executed FLOPs per token: model FLOPs plus the forward recompute of gradient checkpointing. */
  hardwareFlopsPerToken: number
  tokens: number
  tokensPerSecond: number
  /** Seconds of inter-node gradient (and ZeRO-3 parameter) traffic per optimizer step, not overlapped. */
  commSecondsPerStep: number
  /** Seconds per optimizer step of the CPU optimizer and the PCIe copies offload adds, not overlapped. */
  offloadSecondsPerStep: number
  hours: number
  hfu: number
}

/** Tokens the run trains on: tokens × epochs, or samples × mean length (capped at seq_len) × epochs. */
export function trainTokens(spec: FinetuneSpec): number | null {
  const t = spec.train
  if (!t) return null
  return 'tokens' in t ? t.tokens * t.epochs : t.samples * Math.min(t.avgTokens, spec.seqLenTokens) * t.epochs
}

/** Model FLOPs per token (memory-model §9.1; PaLM App. B for the 12·L·q_dim·s attention term). */
export function flopsPerToken(spec: FinetuneSpec, arch: ModelArch, facts: ModelFacts, checkpointing: boolean): { model: number; hardware: number } {
  const N = facts.params.active - facts.params.embedding
  const qDim = arch.mla ? arch.numHeads * (arch.mla.qkNopeHeadDim + arch.mla.qkRopeHeadDim) : arch.numHeads * arch.headDim
  const attention = 12 * arch.numLayers * qDim * spec.seqLenTokens
  const full = spec.method === 'full'
  const model = (full ? 6 : 4) * N + attention
  // Checkpointing repeats each layer's forward: 2N plus the forward third of the attention term.
  const hardware = model + (checkpointing ? 2 * N + attention / 3 : 0)
  return { model, hardware }
}

/** Throughput of one optimizer step on given hardware, whether or not the spec says how much to train. */
export interface StepTime {
  modelFlopsPerToken: number
  hardwareFlopsPerToken: number
  /** Seconds of one optimizer step: micro-batch × accumulation × GPUs × seq_len tokens. */
  stepSeconds: number
  tokensPerSecond: number
  commSecondsPerStep: number
  offloadSecondsPerStep: number
  hfu: number
  /** Model FLOPs per second over the GPUs' peak (no recompute counted, as DESIGN.md defines it). */
  mfu: number
}

export function stepTime(spec: FinetuneSpec, arch: ModelArch, facts: ModelFacts, offer: InstanceOffer, gpu: GpuModel, nodes: number, s: Strategy): StepTime | null {
  if (gpu.denseTflops === null) return null
  const gpus = s.gpus
  const hfu = spec.train?.mfu ?? DEFAULT_HFU
  const flops = flopsPerToken(spec, arch, facts, s.gradientCheckpointing)
  const computeTokensPerSecond = (gpus * gpu.denseTflops * 1e12 * hfu) / flops.hardware
  // Between nodes, each step all-reduces the 16-bit gradients (ring: 2·(n−1)/n of them per GPU); ZeRO-3 also
  // gathers the 16-bit parameters twice (ZeRO paper §7: 1.5× the data-parallel volume). A node's network is
  // shared by its GPUs. Within a node NVLink/PCIe is assumed not to bind.
  let commSecondsPerStep = 0
  if (nodes > 1) {
    const gradBytes = 2 * facts.trainableParams
    const paramBytes = s.zeroStage === 3 ? 2 * (facts.trainableParams + facts.frozenParams) : 0
    const perGpuBytes = (2 * (nodes - 1)) / nodes * gradBytes + (s.zeroStage === 3 ? 2 * paramBytes * (nodes - 1) / nodes : 0)
    const gbps = (offer.networkGbps ?? 10) * (offer.efaInterfaces ? 1 : TCP_EFFICIENCY)
    commSecondsPerStep = (perGpuBytes * s.gpusPerNode) / ((gbps * 1e9) / 8)
  }
  // Offload: each step copies the GPU's gradient partition to the host and the updated 16-bit parameters back
  // over PCIe, and the node's CPUs run Adam over every GPU's partition (bandwidth-bound).
  let offloadSecondsPerStep = 0
  if (s.offload !== 'none') {
    const partition = facts.trainableParams / gpus
    const pcie = (2 * partition * 2) / PCIE_BYTES_PER_SECOND
    const cpuAdam = (partition * s.gpusPerNode * CPU_ADAM_BYTES_PER_PARAM) / HOST_MEMORY_BYTES_PER_SECOND
    // Parameter offload also streams the GPU's 16-bit parameter partition in for every forward, backward and
    // recompute of every micro-step.
    const passes = (s.gradientCheckpointing ? 3 : 2) * s.accumulation
    const params = s.offload === 'optimizer+params' ? (passes * 2 * (facts.trainableParams + facts.frozenParams) / gpus) / PCIE_BYTES_PER_SECOND : 0
    offloadSecondsPerStep = pcie + cpuAdam + params
  }
  const tokensPerStep = s.microBatch * s.accumulation * gpus * spec.seqLenTokens
  const stepSeconds = tokensPerStep / computeTokensPerSecond + commSecondsPerStep + offloadSecondsPerStep
  const tokensPerSecond = tokensPerStep / stepSeconds
  return {
    modelFlopsPerToken: flops.model, hardwareFlopsPerToken: flops.hardware, stepSeconds, tokensPerSecond,
    commSecondsPerStep, offloadSecondsPerStep, hfu, mfu: (tokensPerSecond * flops.model) / (gpus * gpu.denseTflops * 1e12),
  }
}

export function jobTime(spec: FinetuneSpec, arch: ModelArch, facts: ModelFacts, offer: InstanceOffer, gpu: GpuModel, nodes: number, s: Strategy): JobTime | null {
  const tokens = trainTokens(spec)
  const step = stepTime(spec, arch, facts, offer, gpu, nodes, s)
  if (tokens === null || step === null) return null
  const seconds = tokens / step.tokensPerSecond
  return {
    modelFlopsPerToken: step.modelFlopsPerToken, hardwareFlopsPerToken: step.hardwareFlopsPerToken, tokens,
    tokensPerSecond: step.tokensPerSecond, commSecondsPerStep: step.commSecondsPerStep, offloadSecondsPerStep: step.offloadSecondsPerStep,
    hours: seconds / 3600, hfu: step.hfu,
  }
}
