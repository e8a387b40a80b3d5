import type { ModelArch } from './arch.js'

/**
 * One nn.Linear in a decoder layer, named as in transformers' module tree, so that LoRA targets
 * (which PEFT matches by the last name segment) select exactly the modules they would select there.
 */
export interface LinearModule {
  /** Last segment of the module name: what a LoRA `target_modules` entry matches. */
  name: string
  /** Dotted path inside the layer, for display. */
  path: string
  inFeatures: number
  outFeatures: number
  bias: boolean
  /** How many copies the layer holds (the number of routed experts for an expert MLP). */
  count: number
  /** How many copies one token passes through (top-k for routed experts). */
  activeCount: number
}

/** The Linear modules of decoder layer `layer`, in transformers' order. */
export function layerLinears(arch: ModelArch, layer: number): LinearModule[] {
  return [...attentionLinears(arch), ...mlpLinears(arch, layer)]
}

function linear(name: string, path: string, inFeatures: number, outFeatures: number, bias = false, count = 1, activeCount = count): LinearModule {
  return { name, path, inFeatures, outFeatures, bias, count, activeCount }
}

function attentionLinears(arch: ModelArch): LinearModule[] {
  const h = arch.hiddenSize
  if (arch.mla) {
    // DeepseekV2Attention: queries through q_proj (or the q_a/q_b low-rank pair), keys and values through
    // a shared compressed latent (kv_a_proj_with_mqa) expanded by kv_b_proj.
    const m = arch.mla
    const b = arch.attentionBias === 'qkvo'
    const qHead = m.qkNopeHeadDim + m.qkRopeHeadDim
    const q = m.qLoraRank === null
      ? [linear('q_proj', 'self_attn.q_proj', h, arch.numHeads * qHead)]
      : [linear('q_a_proj', 'self_attn.q_a_proj', h, m.qLoraRank, b), linear('q_b_proj', 'self_attn.q_b_proj', m.qLoraRank, arch.numHeads * qHead)]
    return [
      ...q,
      linear('kv_a_proj_with_mqa', 'self_attn.kv_a_proj_with_mqa', h, m.kvLoraRank + m.qkRopeHeadDim, b),
      linear('kv_b_proj', 'self_attn.kv_b_proj', m.kvLoraRank, arch.numHeads * (m.qkNopeHeadDim + m.vHeadDim)),
      linear('o_proj', 'self_attn.o_proj', arch.numHeads * m.vHeadDim, h, b),
    ]
  }
  const qOut = arch.numHeads * arch.headDim
  const kvOut = arch.numKvHeads * arch.headDim
  const qkvBias = arch.attentionBias !== 'none'
  const oBias = arch.attentionBias === 'qkvo'
  if (arch.family === 'phi3') {
    // Phi-3 fuses q, k and v into one qkv_proj (no bias); same parameter count as three projections.
    return [linear('qkv_proj', 'self_attn.qkv_proj', h, qOut + 2 * kvOut), linear('o_proj', 'self_attn.o_proj', qOut, h)]
  }
  return [
    linear('q_proj', 'self_attn.q_proj', h, qOut, qkvBias),
    linear('k_proj', 'self_attn.k_proj', h, kvOut, qkvBias),
    linear('v_proj', 'self_attn.v_proj', h, kvOut, qkvBias),
    linear('o_proj', 'self_attn.o_proj', qOut, h, oBias),
  ]
}

function gatedMlp(prefix: string, h: number, width: number, count = 1, activeCount = count): LinearModule[] {
  return [
    linear('gate_proj', `${prefix}.gate_proj`, h, width, false, count, activeCount),
    linear('up_proj', `${prefix}.up_proj`, h, width, false, count, activeCount),
    linear('down_proj', `${prefix}.down_proj`, width, h, false, count, activeCount),
  ]
}

function mlpLinears(arch: ModelArch, layer: number): LinearModule[] {
  const h = arch.hiddenSize
  const moe = arch.moe
  if (!moe || !moe.layers[layer]) {
    if (arch.family === 'phi3') {
      return [linear('gate_up_proj', 'mlp.gate_up_proj', h, 2 * arch.intermediateSize), linear('down_proj', 'mlp.down_proj', arch.intermediateSize, h)]
    }
    return gatedMlp('mlp', h, arch.intermediateSize)
  }
  const e = moe.numExperts
  const k = moe.expertsPerToken
  const w = moe.expertIntermediateSize
  if (arch.family === 'mixtral') {
    // MixtralSparseMoeBlock: router `gate`, experts w1 (gate), w3 (up), w2 (down).
    return [
      linear('gate', 'block_sparse_moe.gate', h, e),
      linear('w1', 'block_sparse_moe.experts.w1', h, w, false, e, k),
      linear('w2', 'block_sparse_moe.experts.w2', w, h, false, e, k),
      linear('w3', 'block_sparse_moe.experts.w3', h, w, false, e, k),
    ]
  }
  const router = moe.routerIsLinear ? [linear('gate', 'mlp.gate', h, e)] : []
  const shared = moe.sharedIntermediateSize > 0
    ? gatedMlp(arch.family === 'qwen2_moe' ? 'mlp.shared_expert' : 'mlp.shared_experts', h, moe.sharedIntermediateSize)
    : []
  const sharedGate = moe.sharedExpertGate ? [linear('shared_expert_gate', 'mlp.shared_expert_gate', h, 1)] : []
  return [...router, ...gatedMlp('mlp.experts', h, w, e, k), ...shared, ...sharedGate]
}

/** Parameters of layer `layer` that are not in a Linear: norms, non-Linear routers. */
export function layerOtherParams(arch: ModelArch, layer: number): number {
  let n = arch.normsPerLayer * arch.hiddenSize
  if (arch.qkNorm) n += 2 * arch.headDim
  if (arch.mla) n += arch.mla.kvLoraRank + (arch.mla.qLoraRank ?? 0) // kv_a_layernorm, q_a_layernorm
  const moe = arch.moe
  if (moe && moe.layers[layer]) {
    if (!moe.routerIsLinear) n += moe.numExperts * arch.hiddenSize // DeepSeek MoEGate weight
    if (moe.routerBias) n += moe.numExperts // e_score_correction_bias
  }
  return n
}

export function linearParams(m: LinearModule, copies = m.count): number {
  return (m.inFeatures * m.outFeatures + (m.bias ? m.outFeatures : 0)) * copies
}
