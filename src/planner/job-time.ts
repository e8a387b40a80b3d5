import type { GpuModel, InstanceOffer } from '../instances/types.js'
import type { ModelArch } from '../models/arch.js'
import type { ModelFacts } from '../memory/model-facts.js'
import type { Strategy } from '../memory/strategy.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { smallBatchEfficiency } from './gemm-efficiency.js'
import { collectiveBytes, PCIE_BYTES_PER_SECOND, ringBandwidth, ringSeconds } from './collectives.js'
import { UTILISATION } from './utilisation.js'

/**
 * Host memory bandwidth one node gives CPU Adam [HEUR]: half the 204.8 GB/s peak of an 8-channel DDR4-3200
 * socket. CPU Adam is bandwidth-bound: per parameter it reads the fp32 gradient, master, m and v and writes
 * the last three back, 28 bytes.
 */
export const HOST_MEMORY_BYTES_PER_SECOND = 100e9
export const ADAM_BYTES_PER_PARAM = 28
/**
 * QLoRA dequantizes each 4-bit weight to 16 bits before every matmul (bitsandbytes dequantize_4bit): it reads
 * 0.5 B of NF4 plus the absmax share and writes 2 B, memory-bound at the GPU's HBM bandwidth; the forward, the
 * backward's input gradient, and the recompute each do it once. 8-bit (LLM.int8) reads 1 B and writes 2 B.
 */
export const DEQUANT_BYTES_PER_PARAM = { '4bit': 2.5625, '8bit': 3 } as const

export interface JobTime {
  /** Model FLOPs per trained token: 6N (full) or 4N (frozen base) plus attention, N without the input embedding. */
  modelFlopsPerToken: number
  /** Executed FLOPs per token: model FLOPs plus the forward recompute of gradient checkpointing. */
  hardwareFlopsPerToken: number
  tokens: number
  tokensPerSecond: number
  /** Seconds per step the GPUs wait on data-parallel traffic that compute could not hide. */
  commSecondsPerStep: number
  /** Seconds per optimizer step of the CPU optimizer and the PCIe copies offload adds, not overlapped. */
  offloadSecondsPerStep: number
  hours: number
  /**
   * The hours without the per-step work that shrinks as GPUs are added (the optimizer sweep and offload over each
   * GPU's partition): what remains only grows with more nodes, so nodes × floorHours bounds the cost of every larger
   * node count of the same strategy (the planner's pruning, plan.ts).
   */
  floorHours: number
  hfu: number
  /** Model FLOPs per second over the GPUs' peak, everything counted: waits on traffic and offload included. */
  mfu: number
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
/**
 * Host time per pass of one decoder layer (forward, or half a backward), seconds: HF transformers runs in PyTorch eager
 * mode, where every op is dispatched from Python and launched one by one, so a layer whose kernels are short is bound
 * by issuing them. Fitted on our 65 H200 runs (test/fixtures/measured/h200-probe.jsonl, torch 2.11, transformers 5.17:
 * step time against tokens is flat for small models, about 0.14 s for Qwen2.5-0.5B from 512 to 8192 tokens), with the
 * probe's per-tensor optimizer counted apart (test/calibration/probe-rows.ts probeOptimizerSeconds).
 */
export const LAUNCH_SECONDS_PER_LAYER_PASS = 1.6e-3

/**
 * How GPU work and the host's kernel issue combine: as the p-norm (g^p + f^p)^(1/p) of the GEMM time g and the launch
 * floor f. p → ∞ would be max(g, f), as if either hid the other entirely; p = 1 their sum. Where the two are close
 * (mid-size steps of HF runs) the GPU idles between short kernels and the host waits on long ones, so neither hides
 * the other. Chosen on the 153 calibration runs (65 H200 probe, 52 published, 36 Qwen HF-stack): p = 1.5 gives a median
 * |error| of tokens/s of 11.0 %, against 13.0 % for max() and 11.8 % for p = 2 (test/calibration/time-band.test.ts).
 */
export const LAUNCH_OVERLAP_EXPONENT = 1.5

export function gpuOrHostSeconds(gemmSeconds: number, floorSeconds: number, p: number = LAUNCH_OVERLAP_EXPONENT): number {
  return p === Infinity ? Math.max(gemmSeconds, floorSeconds) : (gemmSeconds ** p + floorSeconds ** p) ** (1 / p)
}

/**
 * Kernels one decoder layer's forward launches in transformers 5 eager mode, counted from its code: a dense layer about
 * 40 (two RMSNorms of 7: fp32 cast, pow, mean, add, rsqrt, mul, cast back, × weight; q, k, v; rotary on q and k, 5
 * each: × cos, neg, cat, × sin, add; SDPA with its K/V repeat, about 4; the transpose copy; o_proj; two residual adds;
 * the MLP's gate, up, act, × and down). A routed-expert block replaces the MLP's 5 with about 25: the router (linear,
 * fp32 softmax, top-k, sum and divide, cast) and integrations/moe.py grouped_mm_experts_forward (token index and its
 * expand, gather, argsort, inverse permutation, three permuted gathers, int cast, histc, cumsum, two grouped GEMMs,
 * act and ×, × routing weights, un-permute, sum). A layer pass costs launch time in proportion.
 */
export const DENSE_LAYER_KERNELS = 40
export const MOE_BLOCK_EXTRA_KERNELS = 20

/** The launch-bound floor of one micro-step: every layer forward, the trained ones backward (twice a forward), and their recompute. */
export function launchFloorSeconds(arch: ModelArch, facts: ModelFacts, checkpointing: boolean): number {
  const b = facts.backwardLayers
  const moeLayers = arch.moe ? arch.moe.layers.filter(Boolean).length : 0
  const perLayer = 1 + (moeLayers / arch.numLayers) * (MOE_BLOCK_EXTRA_KERNELS / DENSE_LAYER_KERNELS)
  return LAUNCH_SECONDS_PER_LAYER_PASS * perLayer * (arch.numLayers + 2 * b + (checkpointing ? b : 0))
}

/**
 * Bytes eager attention moves through HBM for its b × heads × s × s score matrix, per micro-step. Per score element,
 * from transformers' eager_attention_forward: forward 29 B (QKᵀ written 2; × scaling 2 + 2; + causal mask 2 + 2;
 * softmax in fp32 2 + 4; back to bf16 4 + 2; dropout, which runs even at p = 0, 2 + 2 + a 1-byte mask; read by the
 * product with V 2), backward 33 B (the same chain's gradients); Gemma 2's soft-capping adds ÷ cap, tanh and × cap:
 * 12 B forward, 14 B backward. Flash and SDPA kernels keep the scores on chip and move none of this.
 */
export function eagerScoreBytes(arch: ModelArch, facts: ModelFacts, microBatch: number, seqLen: number, checkpointing: boolean): number {
  const elements = microBatch * arch.numHeads * seqLen * seqLen
  const forward = 29 + (arch.attnSoftcapping ? 12 : 0)
  const backward = 33 + (arch.attnSoftcapping ? 14 : 0)
  const b = facts.backwardLayers
  return elements * (forward * arch.numLayers + backward * b + (checkpointing ? forward * b : 0))
}

export interface StepTime {
  modelFlopsPerToken: number
  hardwareFlopsPerToken: number
  /** Seconds of one optimizer step: micro-batch × accumulation × GPUs × seq_len tokens. */
  stepSeconds: number
  tokensPerSecond: number
  /** Seconds of GPU work per step: matmuls at the utilisation, QLoRA dequantization, the optimizer step. */
  computeSecondsPerStep: number
  /** Seconds per step the GPUs wait on data-parallel traffic that compute could not hide. */
  commSecondsPerStep: number
  offloadSecondsPerStep: number
  /** Compute and traffic alone: stepSeconds less the optimizer sweep and offload, which shrink with more GPUs. */
  floorSecondsPerStep: number
  hfu: number
  /** Model FLOPs per second over the GPUs' peak (no recompute counted, as DESIGN.md defines it). */
  mfu: number
}

export function stepTime(spec: FinetuneSpec, arch: ModelArch, facts: ModelFacts, offer: InstanceOffer, gpu: GpuModel, nodes: number, s: Strategy, overlapExponent = LAUNCH_OVERLAP_EXPONENT): StepTime | null {
  if (gpu.denseTflops === null) return null
  const hfu = spec.train?.mfu ?? UTILISATION[gpu.name].hfu
  const flops = flopsPerToken(spec, arch, facts, s.gradientCheckpointing)
  const microTokens = s.microBatch * spec.seqLenTokens
  const gemm = smallBatchEfficiency(arch, microTokens, gpu.name)
  // A micro-step is never faster than the host can issue its kernels (launchFloorSeconds), and near it, slower than either.
  let compute = gpuOrHostSeconds((microTokens * flops.hardware) / (gpu.denseTflops * 1e12 * hfu * gemm), launchFloorSeconds(arch, facts, s.gradientCheckpointing), overlapExponent)
  if (spec.attention === 'eager' && gpu.memoryBandwidthGBps !== null) {
    compute += eagerScoreBytes(arch, facts, s.microBatch, spec.seqLenTokens, s.gradientCheckpointing) / (gpu.memoryBandwidthGBps * 1e9)
  }
  if (spec.quantization !== 'none' && gpu.memoryBandwidthGBps !== null) {
    const passes = s.gradientCheckpointing ? 3 : 2
    compute += (passes * facts.quantizedParams * DEQUANT_BYTES_PER_PARAM[spec.quantization]) / (gpu.memoryBandwidthGBps * 1e9)
  }
  const bytes = collectiveBytes(s, facts.trainableParams, facts.trainableParams + facts.frozenParams)
  const bandwidth = ringBandwidth(offer, nodes)
  const micro = ringSeconds(bytes.perMicroStep, s.gpus, bandwidth)
  const boundary = ringSeconds(bytes.atBoundary, s.gpus, bandwidth)
  const exposed = ringSeconds(bytes.exposed, s.gpus, bandwidth)
  // Traffic hides behind compute until it is the longer of the two; boundary traffic can start once the last
  // micro-step's backward does, taken as its second half. DeepSpeed overlaps only with overlap_comm, which it
  // defaults to true for stage 3 alone; PyTorch DDP (stage 0) always overlaps its gradient buckets.
  const overlap = s.zeroStage === 0 || s.zero.overlapComm
  const microSeconds = overlap ? Math.max(compute, micro) : compute + micro
  const lastMicroSeconds = overlap ? Math.max(compute, micro, compute / 2 + boundary) : compute + micro + boundary
  const computeSeconds = compute * s.accumulation
  const stepComputeAndComm = (s.accumulation - 1) * microSeconds + lastMicroSeconds + exposed
  // Offload: each step copies the GPU's gradient partition to the host and the updated 16-bit parameters back
  // over PCIe, and the node's CPUs run Adam over every GPU's partition (bandwidth-bound).
  let offloadSecondsPerStep = 0
  if (s.offload !== 'none') {
    const partition = facts.trainableParams / s.gpus
    const pcie = (2 * partition * 2) / PCIE_BYTES_PER_SECOND
    const cpuAdam = (partition * s.gpusPerNode * ADAM_BYTES_PER_PARAM) / HOST_MEMORY_BYTES_PER_SECOND
    // Parameter offload also streams the GPU's 16-bit parameter partition in for every forward, backward and
    // recompute of every micro-step.
    const passes = (s.gradientCheckpointing ? 3 : 2) * s.accumulation
    const params = s.offload === 'optimizer+params' ? (passes * 2 * (facts.trainableParams + facts.frozenParams) / s.gpus) / PCIE_BYTES_PER_SECOND : 0
    offloadSecondsPerStep = pcie + cpuAdam + params
  }
  // On the GPU the optimizer step is the same bandwidth-bound sweep over the GPU's partition, after the last
  // backward; it is what makes small steps (few tokens per step) inefficient. 8-bit and factored states read
  // less; 28 B is their upper bound.
  const partition = facts.trainableParams / (s.zeroStage >= 1 ? s.gpus : 1)
  const optimizerSeconds = s.offload === 'none' && gpu.memoryBandwidthGBps !== null ? (partition * ADAM_BYTES_PER_PARAM) / (gpu.memoryBandwidthGBps * 1e9) : 0
  const stepSeconds = stepComputeAndComm + optimizerSeconds + offloadSecondsPerStep
  const tokensPerSecond = (microTokens * s.accumulation * s.gpus) / stepSeconds
  return {
    modelFlopsPerToken: flops.model, hardwareFlopsPerToken: flops.hardware, stepSeconds, tokensPerSecond,
    computeSecondsPerStep: computeSeconds + optimizerSeconds, commSecondsPerStep: stepComputeAndComm - computeSeconds, offloadSecondsPerStep,
    floorSecondsPerStep: stepComputeAndComm, hfu,
    mfu: (tokensPerSecond * flops.model) / (s.gpus * gpu.denseTflops * 1e12),
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
    hours: seconds / 3600, floorHours: (seconds * step.floorSecondsPerStep) / step.stepSeconds / 3600, hfu: step.hfu, mfu: step.mfu,
  }
}
