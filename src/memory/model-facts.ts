import type { ModelArch } from '../models/arch.js'
import { largestParamElements, largestTrainableElements } from '../models/largest-param.js'
import { layerLinears, type LinearModule } from '../models/modules.js'
import { countParams, type ParamCounts } from '../models/params.js'
import { countTrainable, freezeTrainedLayers, type TrainableCount } from '../models/trainable.js'
import type { FinetuneSpec } from '../spec/spec.js'
import { BNB_MIN_8BIT_SIZE } from './constants.js'
import { variantFacts, type VariantFacts } from './optimizer-variants.js'
import { projectionFacts, type ProjectionFacts } from './projection.js'

/** Which parts of the model train, and how: everything the memory terms need that no strategy changes. */
export interface ModelFacts {
  /** The LoRA input-copy bytes these facts were computed with (adapterInputCopyBytes). */
  adapterCastBytes: number
  /** Whether 4-bit Linears keep their inputs (bitsandbytes ≤ 0.43.1), as these facts were computed. */
  nf4KeepsInputs: boolean
  params: ParamCounts
  trainable: TrainableCount
  /** Parameters that get gradients and optimizer state (adapters, or the trained weights). */
  trainableParams: number
  frozenParams: number
  /** Frozen decoder Linear weights a quantized run stores in 4 or 8 bits (QLoRA); the rest stays 16-bit. */
  quantizedParams: number
  /** The largest single parameter tensor (models/largest-param.ts): sizes NVMe parameter swap buffers. */
  largestParamElements: number
  /** The largest single tensor that trains (models/largest-param.ts): sizes ZeRO-1/2's GPU buffer for CPU offload. */
  largestTrainableElements: number
  /** DeepSpeed's "largest layer": the largest module with parameters of its own (model_to_params). */
  largestModuleParams: number
  /** Parameters in tensors below DeepSpeed's persistence threshold are replicated under ZeRO-3: norms, biases. */
  smallTensorParams: (threshold: number) => number
  /** Adafactor's factored second moment (rows + columns per matrix, full size for vectors), in elements. */
  adafactorStateElements: number
  /** Trainable elements in tensors too small for 8-bit optimizer state (bitsandbytes min_8bit_size). */
  small8bitElements: number
  /** GaLore/APOLLO: the weights whose optimizer state is kept on a low-rank projection of their gradient. */
  projection: ProjectionFacts | null
  /** Adam-mini or Muon in place of the spec's optimizer. */
  variant: VariantFacts | null
  /** Layers that backward passes through (all of them, except below the lowest trained layer in freeze-tuning). */
  backwardLayers: number
  /** The layers' activation coefficients, grouped by identical shape. */
  layerGroups: LayerGroup[]
  /** Final norm and lm_head input, bytes per token at 16-bit activations. */
  headBytesPerToken: ActBytes
}

/** Bytes saved for backward per token, split by element type so fp32 training can scale the 16-bit part. */
export interface ActBytes {
  /** Elements stored in the activation dtype (2 bytes under bf16/fp16, 4 under fp32). */
  act: number
  /** Elements stored in the residual stream's dtype (fp32 when the weights are fp32 under autocast). */
  residual: number
  /** Bytes of tensors that are fp32 whatever the precision (RMSNorm upcasts, softmax statistics). */
  fp32: number
}

export interface LayerGroup {
  count: number
  /** Saved activations per token for each attention implementation; eager adds `eagerPerSeqToken · s`. */
  flash: ActBytes
  sdpa: ActBytes
  eager: ActBytes
  eagerPerSeqToken: number
  /** Gradient buffers alive while one layer runs backward (the MLP's input-gradients), elements per token. */
  backwardTransient: number
  /** Elements per token of the residual stream (the layer input a checkpoint keeps). */
  hidden: number
}

/** Which parts of the model train, by layer and module name. */
export interface TrainedParts {
  /** Whether the weights of module `name` in layer `i` are trained in full. */
  trained: (i: number, name: string) => boolean
  adapted: (i: number, name: string) => boolean
  normsTrained: (i: number) => boolean
  embedTrained: boolean
  headTrained: boolean
  finalNormTrained: boolean
  headAdapted: boolean
}

function trainedParts(spec: FinetuneSpec, arch: ModelArch): TrainedParts {
  const none = () => false
  switch (spec.method) {
    case 'full':
      return { trained: () => true, adapted: none, normsTrained: () => true, embedTrained: true, headTrained: true, finalNormTrained: true, headAdapted: false }
    case 'freeze': {
      const layers = new Set(freezeTrainedLayers(arch.numLayers, spec.freeze.trainableLayers))
      return { trained: (i) => layers.has(i), adapted: none, normsTrained: (i) => layers.has(i), embedTrained: false, headTrained: false, finalNormTrained: false, headAdapted: false }
    }
    default: {
      const targets = spec.lora.targets === 'all' ? null : new Set(spec.lora.targets)
      const saved = new Set(spec.lora.modulesToSave)
      return {
        trained: none,
        adapted: (_i, name) => (targets ? targets.has(name) : true),
        normsTrained: none,
        embedTrained: saved.has('embed_tokens'),
        headTrained: saved.has('lm_head') || (arch.tieWordEmbeddings && saved.has('embed_tokens')),
        finalNormTrained: false,
        headAdapted: targets?.has('lm_head') ?? false,
      }
    }
  }
}

/**
 * Precomputes what `estimateMemory` needs from the spec and the architecture. `adapterCastBytes` is the
 * extra copy each LoRA adapter keeps of its input (memory-model §6.1): fp32 adapters under autocast
 * re-cast the input (2 bytes per input feature), dropout keeps its output and a mask (2 + 1).
 */
export function modelFacts(spec: FinetuneSpec, arch: ModelArch, adapterCastBytes = adapterInputCopyBytes(spec, false), nf4KeepsInputs = false): ModelFacts {
  const params = countParams(arch)
  const setup = {
    method: spec.method, loraRank: spec.lora.rank, loraTargets: spec.lora.targets,
    modulesToSave: spec.lora.modulesToSave, freezeTrainableLayers: spec.freeze.trainableLayers,
  }
  const trainable = countTrainable(arch, params, setup)
  const parts = trainedParts(spec, arch)
  const isLora = spec.method === 'lora' || spec.method === 'qlora'
  const h = arch.hiddenSize
  const V = arch.vocabSize
  const r = spec.lora.rank

  let quantizedParams = 0
  let largestModuleParams = V * h
  let adafactor = 0
  let small8bit = 0
  const smallTensors: number[] = []
  const addSmall = (n: number, trained: boolean) => {
    smallTensors.push(n)
    if (trained) {
      adafactor += n
      if (n < BNB_MIN_8BIT_SIZE) small8bit += n
    }
  }
  let lowestBackwardLayer = parts.embedTrained ? 0 : arch.numLayers
  const groups = new Map<string, LayerGroup>()

  for (let i = 0; i < arch.numLayers; i++) {
    const linears = layerLinears(arch, i)
    // transformers ≥ 5 keeps a layer's experts in one module with fused 3-D parameters (gate_up_proj, down_proj), which
    // ZeRO-3 gathers whole: DeepSpeed fetches a module's own parameters together (partitioned_param_coordinator.py
    // fetch_sub_module).
    const experts = linears.filter((m) => m.count > 1).reduce((sum, m) => sum + m.count * m.inFeatures * m.outFeatures, 0)
    largestModuleParams = Math.max(largestModuleParams, experts)
    for (const m of linears) {
      const perCopy = m.inFeatures * m.outFeatures
      largestModuleParams = Math.max(largestModuleParams, perCopy + (m.bias ? m.outFeatures : 0))
      if (spec.quantization !== 'none' && m.name !== 'gate') quantizedParams += perCopy * m.count
      if (m.bias) addSmall(m.outFeatures, parts.trained(i, m.name))
      if (parts.trained(i, m.name)) adafactor += (m.inFeatures + m.outFeatures) * m.count
      if (parts.adapted(i, m.name)) adafactor += (r + m.inFeatures + r + m.outFeatures) * m.count
      if (parts.trained(i, m.name) || parts.adapted(i, m.name)) lowestBackwardLayer = Math.min(lowestBackwardLayer, i)
    }
    for (let n = 0; n < arch.normsPerLayer; n++) addSmall(h, parts.normsTrained(i))
    if (arch.qkNorm) {
      addSmall(arch.headDim, parts.normsTrained(i))
      addSmall(arch.headDim, parts.normsTrained(i))
    }
    const quantizedInputs = spec.quantization === '8bit' || (spec.quantization === '4bit' && nf4KeepsInputs)
    const group = layerActivation(arch, i, linears, parts, isLora ? adapterCastBytes : 0, r, quantizedInputs)
    const key = JSON.stringify(group)
    const existing = groups.get(key)
    if (i >= lowestBackwardLayer || parts.embedTrained) {
      if (existing) existing.count += 1
      else groups.set(key, { ...group, count: 1 })
    }
  }
  addSmall(h, parts.finalNormTrained)
  if (parts.embedTrained) adafactor += V + h
  if (parts.headTrained && !arch.tieWordEmbeddings) adafactor += V + h
  if (parts.headAdapted) adafactor += 2 * r + h + V

  const backwardLayers = arch.numLayers - Math.min(lowestBackwardLayer, arch.numLayers)
  const layerGroups = [...groups.values()].filter((g) => g.count > 0)
  // Layers below the lowest trained one save nothing, so only `backwardLayers` layers are in the groups.
  const inGroups = layerGroups.reduce((s, g) => s + g.count, 0)
  if (inGroups !== backwardLayers) throw new Error(`activation groups cover ${inGroups} of ${backwardLayers} layers`)

  const finalNorm = normBytes(arch, parts.finalNormTrained)
  const headInput = parts.headTrained || parts.headAdapted ? 2 * h : 0
  const headLora = parts.headAdapted ? adapterCastBytes * h + 2 * r : 0
  return {
    adapterCastBytes,
    nf4KeepsInputs,
    params,
    trainable,
    trainableParams: trainable.trainable,
    frozenParams: params.total - (spec.method === 'full' ? params.total : spec.method === 'freeze' ? trainable.trainable : 0),
    quantizedParams,
    largestModuleParams,
    largestParamElements: largestParamElements(arch),
    largestTrainableElements: largestTrainableElements(arch, setup),
    smallTensorParams: (threshold) => smallTensors.reduce((s, n) => (n < threshold ? s + n : s), 0),
    adafactorStateElements: adafactor,
    small8bitElements: small8bit,
    projection: spec.projection ? projectionFacts(spec.projection, arch, parts.trained, parts.headTrained) : null,
    variant: variantOf(spec, arch, parts),
    backwardLayers,
    layerGroups,
    headBytesPerToken: { act: headInput / 2 + headLora / 2, residual: finalNorm.residual, fp32: finalNorm.fp32 },
  }
}

/**
 * Bytes per input feature each LoRA adapter adds on top of the base layer's saved input (memory-model §6.1):
 * fp32 adapters under autocast save their own 16-bit re-cast of the input (2); dropout > 0 saves its output
 * (2) and a bool mask (1) on CUDA. bf16 adapters without dropout share the base layer's saved input (0).
 */
export function adapterInputCopyBytes(spec: FinetuneSpec, adaptersInAutocast: boolean): number {
  const dropout = spec.lora.dropout > 0
  if (dropout) return 3
  return adaptersInAutocast ? 2 : 0
}

/** RMSNorm saves its fp32 input (and fp32 1/rms per token); a trained weight also needs the normalized x. */
function normBytes(arch: ModelArch, trained: boolean): ActBytes {
  const h = arch.hiddenSize
  const gemma = arch.family === 'gemma' || arch.family === 'gemma2' || arch.family === 'gemma3_text'
  // Gemma's norm computes (1 + w)·x̂ in fp32, so the saved x̂ is fp32 too (memory-model §5.2: 8h per norm).
  if (gemma) return { act: 0, residual: 0, fp32: 4 * h + (trained ? 4 * h : 0) + 4 }
  return { act: 0, residual: trained ? h : 0, fp32: 4 * h + 4 }
}

function layerActivation(
  arch: ModelArch, i: number, linears: LinearModule[], parts: TrainedParts, adapterCastBytes: number, r: number, quantizedInputs: boolean,
): Omit<LayerGroup, 'count'> {
  const h = arch.hiddenSize
  const a = arch.numHeads
  // A Linear keeps its input for backward when its weight trains or an adapter reads it. A frozen 8-bit
  // bitsandbytes Linear keeps it too (MatMul8bitLt: ctx.tensors = (CAt, subA, A)); a 4-bit one did up to
  // bitsandbytes 0.43.1 (MatMul4Bit: ctx.tensors = (A, B)), which LitGPT's measurements show (it pins
  // 0.42.0), and keeps only the packed weight since 0.43.2 (PR #1270, July 2024).
  // An adapter without dropout or cast reads the very tensor the base layer got, so it keeps that input;
  // otherwise it keeps its own copy (counted below) and a frozen base keeps nothing.
  const sharesInput = adapterCastBytes === 0
  const needs = (name: string) => linears.some((m) => m.name === name && (parts.trained(i, m.name) || (parts.adapted(i, m.name) && sharesInput) || (quantizedInputs && m.name !== 'gate')))
  const anyNeeds = (...names: string[]) => names.some(needs)
  // Elements (act dtype) and fp32 bytes, accumulated.
  let act = 0
  let fp32 = 0
  const norm = normBytes(arch, parts.normsTrained(i))
  const residual = norm.residual * arch.normsPerLayer
  fp32 += norm.fp32 * arch.normsPerLayer

  // LoRA adapters: their own input copies and the rank-sized lora_A output that lora_B saves.
  for (const m of linears) {
    if (parts.adapted(i, m.name)) {
      act += ((adapterCastBytes * m.inFeatures) / 2) * m.activeCount + r * m.activeCount
    }
  }

  let qDim: number
  let kDim: number
  let vDim: number
  if (arch.mla) {
    const m = arch.mla
    qDim = a * (m.qkNopeHeadDim + m.qkRopeHeadDim)
    kDim = qDim
    vDim = a * m.vHeadDim
    if (anyNeeds('q_proj', 'q_a_proj', 'kv_a_proj_with_mqa')) act += h
    fp32 += 4 * m.kvLoraRank + (m.qLoraRank ? 4 * m.qLoraRank : 0)
    if (needs('kv_b_proj')) act += m.kvLoraRank
    if (m.qLoraRank && needs('q_b_proj')) act += m.qLoraRank
  } else {
    qDim = a * arch.headDim
    kDim = arch.numKvHeads * arch.headDim
    vDim = kDim
    if (anyNeeds('q_proj', 'k_proj', 'v_proj', 'qkv_proj')) act += h
    if (arch.qkNorm) {
      fp32 += 4 * (qDim + kDim)
      if (parts.normsTrained(i)) act += qDim + kDim
    }
  }
  const oIn = needs('o_proj') ? (arch.mla ? vDim : qDim) : 0
  // flash-attn saves q, k, v (GQA-native), its output and the fp32 log-sum-exp per head; o_proj reads a view of it.
  const flash = { act: act + qDim + kDim + vDim + (arch.mla ? vDim : qDim), fp32: fp32 + 4 * a }
  // SDPA in transformers repeats K and V to every query head first, and o_proj needs a contiguous copy.
  const sdpa = { act: act + qDim + 2 * qDim + qDim + oIn, fp32: fp32 + 4 * a }
  // eager keeps Q and the repeated K and V, the fp32 softmax and its bf16 copy (the s² term); Gemma 2's
  // soft-capping saves its tanh output as well (transformers eager_attention_forward, LitGPT do_softcapping).
  const eager = { act: act + 3 * qDim + oIn, fp32 }

  const mlp = mlpActivation(arch, i, parts, needs)
  return {
    flash: { act: flash.act + mlp.act, residual, fp32: flash.fp32 + mlp.fp32 },
    sdpa: { act: sdpa.act + mlp.act, residual, fp32: sdpa.fp32 + mlp.fp32 },
    eager: { act: eager.act + mlp.act, residual, fp32: eager.fp32 + mlp.fp32 },
    eagerPerSeqToken: (arch.attnSoftcapping ? 8 : 6) * a,
    backwardTransient: mlp.transient,
    hidden: h,
  }
}

function mlpActivation(
  arch: ModelArch, i: number, parts: TrainedParts, needs: (name: string) => boolean,
): { act: number; fp32: number; transient: number } {
  const h = arch.hiddenSize
  const moe = arch.moe
  if (!moe || !moe.layers[i]) {
    const F = arch.intermediateSize
    // SwiGLU: gate output (SiLU input), SiLU output and up output (the product's inputs), product (down input).
    const input = needs('gate_proj') || needs('up_proj') || needs('gate_up_proj') ? h : 0
    return { act: input + 3 * F + (needs('down_proj') ? F : 0), fp32: 0, transient: 3 * F }
  }
  const k = moe.expertsPerToken
  const Fe = moe.expertIntermediateSize
  const mixtral = arch.family === 'mixtral'
  const [gate, up, down] = mixtral ? ['w1', 'w3', 'w2'] : ['gate_proj', 'up_proj', 'down_proj']
  const routerIn = moe.routerIsLinear ? needs('gate') : parts.trained(i, 'gate')
  // Dropless HF MoE: each of the k experts of a token gets a gathered copy of its input and returns an
  // output scaled by the routing weight (memory-model §5.4); the router's fp32 softmax is saved too.
  let act = (routerIn ? h : 0) + k * ((needs(gate!) || needs(up!) ? h : 0) + 3 * Fe + (needs(down!) ? Fe : 0) + h)
  const fp32 = 4 * moe.numExperts
  let transient = (3 * Fe * k) / moe.numExperts
  if (moe.sharedIntermediateSize > 0) {
    const Fs = moe.sharedIntermediateSize
    act += 3 * Fs + (needs('down_proj') ? Fs : 0) + (moe.sharedExpertGate ? h : 0)
    transient += 3 * Fs
  }
  return { act, fp32, transient }
}

function variantOf(spec: FinetuneSpec, arch: ModelArch, parts: TrainedParts): VariantFacts | null {
  const kind = spec.trainerFeatures.includes('adam_mini') ? 'adam_mini' : spec.trainerFeatures.includes('muon') ? 'muon' : null
  return kind ? variantFacts(kind, arch, parts, spec.lora.rank) : null
}
