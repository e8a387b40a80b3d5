import type { ModelArch } from '../models/arch.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { activationBytes } from './activations.js'
import { gradientBytes } from './gradients.js'
import { logitsBytes, type LogitsBytes } from './logits.js'
import { adapterInputCopyBytes, modelFacts, type ModelFacts } from './model-facts.js'
import { hostBytes } from './offload.js'
import { optimizerBytes, optimizerThatRuns } from './optimizer.js'
import { allocatorOverheadBytes, cudaContextBytes } from './overhead.js'
import { precisionRegime, type Regime } from './regime.js'
import type { Strategy } from './strategy.js'
import { weightBytes } from './weights.js'
import { zeroBufferBytes } from './zero-buffers.js'

export const TERMS = ['weights', 'gradients', 'optimizerStates', 'activations', 'logits', 'zeroBuffers', 'cudaContext', 'allocatorOverhead'] as const
export type Term = (typeof TERMS)[number]
export type Breakdown = Record<Term, number>
export type Phase = 'model load' | 'forward' | 'backward' | 'optimizer step'

/** The allocated bytes of each allocator-visible term at one point of a training step. */
export interface PhaseMemory {
  phase: Phase
  terms: Omit<Breakdown, 'cudaContext' | 'allocatorOverhead'>
  allocatedBytes: number
}

/** The estimate contract of DESIGN.md ("The estimate contract"), plus what the human view explains. */
export interface MemoryEstimate {
  version: 1
  model: { name: string; params: number; trainableParams: number }
  gpus: number
  zeroStage: number
  offload: string
  gradientCheckpointing: boolean
  perGpu: { breakdown: Breakdown; peakAllocatedBytes: number; peakReservedBytes: number; totalBytes: number }
  perNode: { cpuBytes: number; nvmeBytes: number }
  assumptions: string[]
  /** Beyond the JSON contract: the phase that peaks, every phase, and a line per term. */
  peakPhase: Phase
  phases: PhaseMemory[]
  details: Record<Term, string>
}

/** What a training loop keeps beyond a HF Trainer step, for calibration against runs of other frameworks. */
export interface LoopExtras {
  /** lm_head parameters the loop quantizes as well as the decoder Linears. */
  quantizedHeadParams: number
  /** The previous step's tensors still alive through the next forward. */
  forwardCarry: number
  /** The loop's own logits and loss. */
  logits: LogitsBytes
}

/**
 * Another framework's training loop (test/calibration/litgpt-loop.ts describes LitGPT's): whether its 4-bit Linears
 * keep their inputs, and what else it keeps. ftplan plans the HF Trainer step, which needs none of this.
 */
export interface TrainingLoop {
  nf4KeepsInputs: boolean
  extras(spec: FinetuneSpec, arch: ModelArch, facts: ModelFacts, microBatch: number, regime: Regime): LoopExtras
}

/**
 * Per-GPU memory of one training step: every term from its formula (memory-model.md), the peak taken over
 * the phases of a step (end of forward, backward, optimizer step), not a sum of each term's maximum.
 * `facts` can be computed once per spec and model and reused across strategies (the planner does); facts
 * made for the other adapter regime (LoRA under autocast or not) are recomputed.
 */
export function estimateMemory(spec: FinetuneSpec, arch: ModelArch, strategy: Strategy, facts?: ModelFacts, loop?: TrainingLoop): MemoryEstimate {
  const regime = precisionRegime(spec, strategy)
  const castBytes = adapterInputCopyBytes(spec, regime.adaptersInAutocast)
  // Current bitsandbytes releases free a 4-bit Linear's input after backward; older ones (a loop's own pin) keep it.
  const nf4KeepsInputs = loop?.nf4KeepsInputs ?? false
  // Facts computed for another adapter regime (autocast or not) or bitsandbytes behaviour cannot be reused.
  const f = facts && facts.adapterCastBytes === castBytes && facts.nf4KeepsInputs === nf4KeepsInputs ? facts : modelFacts(spec, arch, castBytes, nf4KeepsInputs)
  const tokens = strategy.microBatch * spec.seqLenTokens
  const lit = loop ? loop.extras(spec, arch, f, strategy.microBatch, regime) : null
  const w = weightBytes(spec, f, regime, strategy, lit?.quantizedHeadParams)
  const g = gradientBytes(f, regime, strategy, spec.projection)
  const o = optimizerBytes(spec.optimizer, f, regime, strategy)
  const a = activationBytes(f, spec.attention, spec.seqLenTokens, strategy.microBatch, strategy.gradientCheckpointing, regime)
  const l = lit?.logits ?? logitsBytes(arch, spec.loss, tokens, regime)
  const carried = lit?.forwardCarry ?? 0
  const wholeWeights = weightBytes(spec, f, regime, { ...strategy, zeroStage: 0, gpus: 1, offload: 'none' }, lit?.quantizedHeadParams).resident
  const z = zeroBufferBytes(f, regime, strategy, Math.ceil(wholeWeights / strategy.gpus))
  const host = hostBytes(f, regime, strategy, o.bytesPerParam, wholeWeights)
  // adamw is torch's fused AdamW, transformers' default since PyTorch 2.8 (transformers PR #37358) and
  // torchtune's: it updates in place. (The older foreach path adds one state-sized temporary; not modelled.)

  const weights = w.resident + w.autocastCopies
  const phase = (p: Phase, terms: PhaseMemory['terms']): PhaseMemory => ({
    phase: p, terms,
    allocatedBytes: terms.weights + terms.gradients + terms.optimizerStates - o.paged + terms.activations + terms.logits + terms.zeroBuffers,
  })
  const forward = phase('forward', { weights, gradients: g.carried, optimizerStates: o.gpu, activations: a.retained + carried, logits: l.forwardPeak, zeroBuffers: z.steady })
  // Backward: the loss's backward with every activation alive, then layer by layer (activations freed as
  // gradients appear, so the layer-wise peak is at the first layer or at the last).
  const lossBackward = phase('backward', { weights, gradients: g.carried, optimizerStates: o.gpu, activations: a.retained, logits: l.backwardPeak, zeroBuffers: z.steady })
  const firstLayer = phase('backward', { weights, gradients: g.carried, optimizerStates: o.gpu, activations: a.retained + a.layerBackward, logits: 0, zeroBuffers: z.steady })
  const lastLayer = phase('backward', { weights, gradients: Math.max(g.full, g.carried), optimizerStates: o.gpu, activations: a.lastLayer, logits: 0, zeroBuffers: z.steady })
  const step = phase('optimizer step', {
    weights: w.resident, gradients: g.full + g.stepExtra, optimizerStates: o.gpu, activations: 0, logits: 0,
    zeroBuffers: regime.deepspeed ? (strategy.zeroStage === 0 ? z.atStep ?? 0 : strategy.zero.reduceBucketSize * regime.gradBytes) : 0,
  })
  const backward = [lossBackward, firstLayer, lastLayer].reduce((x, y) => (y.allocatedBytes > x.allocatedBytes ? y : x))
  const load = quantizedLoadPhase(spec, f, regime, strategy, lit?.quantizedHeadParams)
  const training = [forward, backward, step].reduce((x, y) => (y.allocatedBytes > x.allocatedBytes ? y : x))
  const trainingReserve = allocatorOverheadBytes(l.largestBlock, training.allocatedBytes)
  // What decides an OOM is the reserved peak: the load phase wins only where its reserved memory is the larger.
  const loadWins = load !== null && load.phase.allocatedBytes + load.reserve.bytes > training.allocatedBytes + trainingReserve.bytes
  const peak = loadWins ? load.phase : training
  const phases = [...(load ? [load.phase] : []), forward, backward, step]

  const context = cudaContextBytes(strategy.gpus)
  const reserve = loadWins ? load.reserve : trainingReserve
  const allocatorOverhead = reserve.bytes
  const peakAllocatedBytes = peak.allocatedBytes
  const peakReservedBytes = peakAllocatedBytes + allocatorOverhead
  const totalBytes = peakReservedBytes + context.bytes + o.paged

  return {
    version: 1,
    model: { name: arch.name, params: f.params.total, trainableParams: f.trainableParams },
    gpus: strategy.gpus,
    zeroStage: strategy.zeroStage,
    offload: strategy.offload,
    gradientCheckpointing: strategy.gradientCheckpointing,
    perGpu: { breakdown: { ...peak.terms, cudaContext: context.bytes, allocatorOverhead }, peakAllocatedBytes, peakReservedBytes, totalBytes },
    perNode: { cpuBytes: host.cpuBytes, nvmeBytes: host.nvmeBytes },
    assumptions: assumptionsFor(spec, strategy, regime.describe, peak.phase),
    peakPhase: peak.phase,
    phases,
    details: {
      weights: loadWins ? load.detail : w.detail,
      gradients: g.detail,
      optimizerStates: o.detail,
      activations: carried > 0 ? `${a.detail}; + the previous step's tensors (the calibrated run's own loop)` : a.detail,
      logits: l.detail,
      zeroBuffers: z.detail,
      cudaContext: context.detail,
      allocatorOverhead: reserve.detail,
    },
  }
}

/**
 * A quantized base under ZeRO-3 is whole on every GPU before DeepSpeed shards it. transformers builds a quantized
 * model without deepspeed.zero.Init (modeling_utils.py get_init_context: `elif is_quantized: init_empty_weights()`),
 * and bitsandbytes' quantizers place it on the current GPU when no device_map is given (quantizer_bnb_4bit.py
 * update_device_map: `{"": torch.cuda.current_device()}`), which LLaMA-Factory leaves unset under ZeRO-3
 * (model/model_utils/quantization.py:194-199 @ff6d4d12). deepspeed.initialize then partitions it (and, with
 * offload_param, moves the partitions to the CPU). Each weight arrives in 16 bits and is quantized on the GPU,
 * so the largest one passes through whole at 16 bits.
 */
function quantizedLoadPhase(spec: FinetuneSpec, f: ModelFacts, regime: Regime, s: Strategy, quantizedHeadParams?: number): { phase: PhaseMemory; reserve: { bytes: number; detail: string }; detail: string } | null {
  if (spec.quantization === 'none' || s.zeroStage !== 3) return null
  const whole = weightBytes(spec, f, regime, { ...s, gpus: 1, offload: 'none' }, quantizedHeadParams)
  const none = { gradients: 0, optimizerStates: 0, activations: 0, logits: 0, zeroBuffers: 0 }
  // Loading allocates and keeps, with one transient at a time: the 16-bit weight being quantized, whose freed block
  // the allocator caches for the next. None of the step's churn (activations, logits) that the fitted reserve covers.
  const transient = f.largestParamElements * regime.frozenWeightBytes
  return {
    phase: { phase: 'model load', terms: { weights: whole.resident, ...none }, allocatedBytes: whole.resident },
    reserve: { bytes: transient, detail: `caching-allocator reserve while loading: the largest weight at 16 bits (${(transient / 1e9).toFixed(2)} GB), quantized on the GPU and its block cached` },
    detail: `${whole.detail}: the whole quantized model on every GPU while it loads, before ZeRO-3 shards it`,
  }
}

function assumptionsFor(spec: FinetuneSpec, s: Strategy, regime: string, peak: Phase): string[] {
  const out = [
    `peak in the ${peak} phase; the peak is the largest of forward, backward and optimizer step, not a sum of each term's maximum`,
    `precision: ${regime}`,
    s.zeroStage === 0 ? (s.deepspeedAtZero0 ? `DeepSpeed at ZeRO stage 0 on ${s.gpus} GPU${s.gpus > 1 ? 's' : ''}: its FP16_Optimizer (16-bit weights and grads, fp32 master and state), nothing sharded` : s.gpus > 1 ? `${s.gpus} GPUs in plain data parallelism: every GPU holds the whole model` : 'one GPU, no DeepSpeed') : `DeepSpeed ZeRO-${s.zeroStage} over ${s.gpus} GPUs, HF "auto" bucket sizes (reduce_bucket_size = hidden²)`,
    `every sample padded to seq_len ${spec.seqLenTokens} (an upper bound: packing or shorter samples use less)`,
    `gradient checkpointing ${s.gradientCheckpointing ? 'on: one checkpoint per decoder layer' : 'off'}`,
    `attention ${spec.attention}${spec.attention === 'sdpa' ? ' (transformers repeats K/V to all heads)' : ''}; loss ${spec.loss}`,
  ]
  if (s.accumulation > 1) out.push(`gradient accumulation ${s.accumulation}: gradients of earlier micro-steps stay alive through forward`)
  if (optimizerThatRuns(spec.optimizer, s).startsWith('paged')) out.push('paged optimizer state lives in CUDA unified memory: counted in totalBytes, not in peakAllocated/peakReserved')
  if (spec.quantization !== 'none') {
    out.push(s.zeroStage === 3
      ? 'quantized base loaded whole onto every GPU (transformers builds a quantized model without zero.Init), then sharded by ZeRO-3: loading is a phase of the estimate'
      : 'quantized base loaded one tensor at a time, as transformers + bitsandbytes and Lightning do; loading is not a phase of the estimate')
  }
  if (spec.quantization === '4bit') out.push('bitsandbytes ≥ 0.43.2: a frozen 4-bit Linear keeps no input for backward (up to 0.43.1 it kept it)')
  if (spec.method === 'lora' || spec.method === 'qlora') out.push(`LoRA adapters ${spec.precision === 'pure_bf16' || s.zeroStage > 0 || s.deepspeedAtZero0 ? 'in bf16' : 'in fp32 (LLaMA-Factory / PEFT upcast) under autocast'}`)
  if (s.offload !== 'none') out.push(`offload ${s.offload} to ${s.offloadDevice}: host memory per node excludes model loading and the Python processes`)
  const runs = optimizerThatRuns(spec.optimizer, s)
  if (runs !== spec.optimizer) out.push(`optimizer ${spec.optimizer} runs as DeepSpeed's CPU ${runs === 'lion' ? 'Lion' : 'Adam'} under offload (fp32 state): estimated as ${runs}`)
  return out
}

/** The estimate contract's `time` section, present when the hardware is known. */
export interface TimeSection {
  gpu: string
  gpus: number
  nodes: number
  stepSeconds: number
  tokensPerSecond: number
  tokensPerSecondPerGpu: number
  mfu: number
  jobHours: number | null
}

/** Exactly the JSON contract (`ftplan estimate --json`), with `time` when the hardware is known. */
export function estimateJson(e: MemoryEstimate, time?: TimeSection | null, extraAssumptions: string[] = []): Record<string, unknown> {
  return {
    version: e.version, model: e.model, gpus: e.gpus, zeroStage: e.zeroStage, offload: e.offload,
    gradientCheckpointing: e.gradientCheckpointing, perGpu: e.perGpu, perNode: e.perNode,
    ...(time !== undefined ? { time } : {}), assumptions: [...e.assumptions, ...extraAssumptions],
  }
}
