import { didYouMean } from '../suggest.js'

/** model_type values ftplan counts exactly (Hugging Face transformers' module layout for each). */
export const MODEL_FAMILIES = [
  'llama', 'mistral', 'qwen2', 'qwen3', 'qwen2_moe', 'qwen3_moe', 'mixtral',
  'gemma', 'gemma2', 'gemma3_text', 'phi3', 'deepseek_v2', 'deepseek_v3',
] as const
export type ModelFamily = (typeof MODEL_FAMILIES)[number]

export interface MoeArch {
  numExperts: number
  expertsPerToken: number
  expertIntermediateSize: number
  /** Width of the always-active shared MLP (DeepSeek: n_shared_experts × moe_intermediate_size); 0 if none. */
  sharedIntermediateSize: number
  /** Qwen2-MoE scales the shared expert by a sigmoid gate, a Linear(hidden, 1). */
  sharedExpertGate: boolean
  /** DeepSeek-V3's noaux_tc routing adds a per-expert score-correction bias. */
  routerBias: boolean
  /** Whether the router is an nn.Linear named `gate` (a LoRA target); DeepSeek's MoEGate is not. */
  routerIsLinear: boolean
  /** `layers[i]` is true where decoder layer i is a mixture of experts. */
  layers: readonly boolean[]
}

/** DeepSeek Multi-head Latent Attention dimensions. */
export interface MlaArch {
  qLoraRank: number | null
  kvLoraRank: number
  qkRopeHeadDim: number
  qkNopeHeadDim: number
  vHeadDim: number
}

/** A decoder-only transformer's shape, in ftplan's terms; everything the counters and estimators read. */
export interface ModelArch {
  name: string
  family: ModelFamily
  hiddenSize: number
  numLayers: number
  numHeads: number
  numKvHeads: number
  headDim: number
  /** Dense MLP width (0 when every layer is MoE and the config gives none). */
  intermediateSize: number
  vocabSize: number
  maxPositionEmbeddings: number | null
  tieWordEmbeddings: boolean
  /** Which attention projections carry a bias: Qwen2 always q/k/v; `attention_bias: true` all four. */
  attentionBias: 'none' | 'qkv' | 'qkvo'
  /** Per-head RMSNorm on q and k (Qwen3, Gemma 3). */
  qkNorm: boolean
  /** RMSNorms per decoder layer: 2, or 4 in Gemma 2/3 (pre and post norms around attention and MLP). */
  normsPerLayer: number
  /**
   * tanh soft-capping of the attention scores (Gemma 2: attn_logit_softcapping, 50.0 by default in
   * Gemma2Config). Eager attention then saves the tanh output too, another score-sized tensor.
   */
  attnSoftcapping: boolean
  moe: MoeArch | null
  mla: MlaArch | null
  torchDtype: string | null
  /** A checkpoint stored quantized (config.json quantization_config): its method and the bits of its Linear weights. */
  prequantized: { method: 'bitsandbytes' | 'awq' | 'gptq'; bits: 4 | 8 } | null
}

export interface ConfigIssue {
  key: string
  message: string
  allowed?: string
  didYouMean?: string
}

export type ArchResult =
  | { ok: true; arch: ModelArch; ignoredKeys: string[]; notes: string[] }
  | { ok: false; issues: ConfigIssue[] }

/** Keys that `archFromConfig` reads; any other config.json key is listed as ignored. */
const READ_KEYS = new Set([
  'name', 'model_type', 'architectures', 'text_config', 'hidden_size', 'num_hidden_layers', 'num_attention_heads',
  'num_key_value_heads', 'head_dim', 'intermediate_size', 'vocab_size', 'max_position_embeddings',
  'tie_word_embeddings', 'attention_bias', 'torch_dtype', 'attn_logit_softcapping', 'num_local_experts', 'num_experts', 'num_experts_per_tok',
  'moe_intermediate_size', 'shared_expert_intermediate_size', 'decoder_sparse_step', 'mlp_only_layers',
  'n_routed_experts', 'n_shared_experts', 'first_k_dense_replace', 'moe_layer_freq', 'topk_method', 'q_lora_rank',
  'kv_lora_rank', 'qk_rope_head_dim', 'qk_nope_head_dim', 'v_head_dim', 'quantization_config', 'vision_config', 'audio_config',
])

/** quantization_config methods whose stored weights ftplan sizes, and the bits each stores per frozen Linear weight. */
const PREQUANTIZED = ['bitsandbytes', 'awq', 'gptq'] as const

/** Upper bounds far above any released model; they keep parameter counts exact in float64 (< 2^53). */
const LIMITS = {
  hidden_size: 262_144, num_hidden_layers: 4096, num_attention_heads: 4096, num_key_value_heads: 4096,
  head_dim: 4096, intermediate_size: 4_194_304, vocab_size: 16_777_216, max_position_embeddings: 1 << 30,
  num_local_experts: 65_536, num_experts: 65_536, n_routed_experts: 65_536, num_experts_per_tok: 65_536,
  moe_intermediate_size: 4_194_304, shared_expert_intermediate_size: 4_194_304, n_shared_experts: 1024,
  decoder_sparse_step: 4096, first_k_dense_replace: 4096, moe_layer_freq: 4096, q_lora_rank: 262_144,
  kv_lora_rank: 262_144, qk_rope_head_dim: 4096, qk_nope_head_dim: 4096, v_head_dim: 4096,
} as const
type IntKey = keyof typeof LIMITS

/** `architectures[0]` class-name prefixes, for configs that omit model_type. */
const CLASS_PREFIX: readonly [string, ModelFamily][] = [
  ['Qwen2Moe', 'qwen2_moe'], ['Qwen3Moe', 'qwen3_moe'], ['Qwen2', 'qwen2'], ['Qwen3', 'qwen3'],
  ['Mixtral', 'mixtral'], ['Mistral', 'mistral'], ['Gemma3', 'gemma3_text'], ['Gemma2', 'gemma2'],
  ['Gemma', 'gemma'], ['Phi3', 'phi3'], ['DeepseekV3', 'deepseek_v3'], ['DeepseekV2', 'deepseek_v2'], ['Llama', 'llama'],
]

/**
 * Reads a Hugging Face config.json mapping (or ftplan's inline model) into a ModelArch.
 * Defaults are those of each transformers `*Config` class; unknown keys are ignored and listed.
 */
export function archFromConfig(input: Record<string, unknown>, fallbackName: string): ArchResult {
  const issues: ConfigIssue[] = []
  const notes: string[] = []
  let config = input
  const textConfig = input['text_config']
  // A vision or audio tower is weights, activations and FLOPs ftplan does not count: refused, not left out silently.
  for (const tower of ['vision_config', 'audio_config'] as const) {
    if (isRecord(input[tower])) {
      issues.push({
        key: tower,
        message: `this model has a ${tower === 'vision_config' ? 'vision' : 'audio'} tower (${tower}), which ftplan does not count: its parameters, and the activations of the ${tower === 'vision_config' ? 'image' : 'audio'} tokens it adds to every sample, would be missing from the estimate`,
        allowed: 'a text-only model, or the language model alone: its text_config as an inline model',
      })
    }
  }
  if (input['hidden_size'] === undefined && isRecord(textConfig)) {
    config = { ...textConfig, name: input['name'] ?? textConfig['name'] }
    if (config['tie_word_embeddings'] === undefined && input['tie_word_embeddings'] !== undefined) {
      config['tie_word_embeddings'] = input['tie_word_embeddings']
    }
    notes.push('read the language model from text_config')
  }
  const prequantized = readQuantizationConfig(input['quantization_config'] ?? config['quantization_config'], issues)

  const family = familyOf(config, issues, notes)
  const int = (key: IntKey, required: boolean, fallback?: number): number => {
    const v = config[key]
    if (v === undefined || v === null) {
      if (required && fallback === undefined) issues.push({ key, message: 'is required', allowed: `an integer 1..${LIMITS[key]}` })
      return fallback ?? 0
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > LIMITS[key]) {
      issues.push({ key, message: `expected an integer 1..${LIMITS[key]}, got ${JSON.stringify(v)}`, allowed: `an integer 1..${LIMITS[key]}` })
      return 0
    }
    return v
  }
  const bool = (key: string, fallback: boolean): boolean => {
    const v = config[key]
    if (v === undefined || v === null) return fallback
    if (typeof v !== 'boolean') {
      issues.push({ key, message: `expected true or false, got ${JSON.stringify(v)}`, allowed: 'true | false' })
      return fallback
    }
    return v
  }

  const hiddenSize = int('hidden_size', true)
  const numLayers = int('num_hidden_layers', true)
  const numHeads = int('num_attention_heads', true)
  const numKvHeads = int('num_key_value_heads', false, numHeads || 1)
  const vocabSize = int('vocab_size', true)
  const explicitHeadDim = config['head_dim'] === undefined || config['head_dim'] === null ? undefined : int('head_dim', false)
  const maxPos = config['max_position_embeddings'] === undefined || config['max_position_embeddings'] === null
    ? null : int('max_position_embeddings', false)
  const isGemma = family === 'gemma' || family === 'gemma2' || family === 'gemma3_text'
  // Gemma's config classes tie input and output embeddings by default; the others default to untied.
  const tieWordEmbeddings = bool('tie_word_embeddings', isGemma)
  const attentionBiasKey = bool('attention_bias', false)
  const torchDtype = typeof config['torch_dtype'] === 'string' ? config['torch_dtype'] : null

  const mla = family === 'deepseek_v2' || family === 'deepseek_v3' ? readMla(config, int) : null
  const moe = readMoe(family, config, numLayers, int, issues)
  const needsDense = !moe || family === 'mixtral' || moe.layers.some((m) => !m)
  const intermediateSize = int('intermediate_size', needsDense)

  if (!mla && numHeads > 0 && numKvHeads > 0 && numHeads % numKvHeads !== 0) {
    issues.push({ key: 'num_key_value_heads', message: `${numKvHeads} does not divide num_attention_heads (${numHeads}); grouped-query attention needs it to` })
  }
  if (!mla && explicitHeadDim === undefined && numHeads > 0 && hiddenSize % numHeads !== 0) {
    issues.push({ key: 'head_dim', message: `is required: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}` })
  }
  if (!family || issues.length > 0) return { ok: false, issues }

  const attentionBias: ModelArch['attentionBias'] =
    family === 'qwen2' || family === 'qwen2_moe' ? 'qkv'
      // Mistral, Mixtral and Phi-3 build their projections without bias whatever the config says.
      : attentionBiasKey && !['mistral', 'mixtral', 'phi3'].includes(family) ? 'qkvo' : 'none'
  const arch: ModelArch = {
    name: typeof config['name'] === 'string' && config['name'] ? config['name'] : fallbackName,
    family,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim: explicitHeadDim ?? hiddenSize / numHeads,
    intermediateSize,
    vocabSize,
    maxPositionEmbeddings: maxPos,
    tieWordEmbeddings,
    attentionBias,
    qkNorm: family === 'qwen3' || family === 'qwen3_moe' || family === 'gemma3_text',
    normsPerLayer: family === 'gemma2' || family === 'gemma3_text' ? 4 : 2,
    attnSoftcapping: config['attn_logit_softcapping'] === undefined ? family === 'gemma2' : typeof config['attn_logit_softcapping'] === 'number',
    moe,
    mla,
    torchDtype,
    prequantized,
  }
  const ignoredKeys = Object.keys(input).filter((k) => !READ_KEYS.has(k))
  return { ok: true, arch, ignoredKeys, notes }
}

/**
 * A checkpoint stored quantized (transformers' quantization_config): bitsandbytes `load_in_4bit`/`load_in_8bit`, AWQ
 * and GPTQ `bits` (4 by default for AWQ). Other methods are refused with the ones ftplan sizes.
 */
function readQuantizationConfig(q: unknown, issues: ConfigIssue[]): ModelArch['prequantized'] {
  if (q === undefined || q === null) return null
  if (!isRecord(q)) {
    issues.push({ key: 'quantization_config', message: `expected a mapping, got ${JSON.stringify(q)}` })
    return null
  }
  const method = String(q['quant_method'] ?? (q['load_in_4bit'] !== undefined || q['load_in_8bit'] !== undefined ? 'bitsandbytes' : ''))
  if (!(PREQUANTIZED as readonly string[]).includes(method)) {
    issues.push({ key: 'quantization_config', message: `quant_method ${JSON.stringify(method || null)} is not one ftplan sizes`, allowed: PREQUANTIZED.join(' | ') })
    return null
  }
  const bits = method === 'bitsandbytes' ? (q['load_in_8bit'] === true ? 8 : 4) : Number(q['bits'] ?? (method === 'awq' ? 4 : Number.NaN))
  if (bits !== 4 && bits !== 8) {
    issues.push({ key: 'quantization_config', message: `${method} with ${String(q['bits'])} bits is not sized by ftplan`, allowed: '4 | 8 bits' })
    return null
  }
  return { method: method as (typeof PREQUANTIZED)[number], bits }
}

function familyOf(config: Record<string, unknown>, issues: ConfigIssue[], notes: string[]): ModelFamily | undefined {
  const type = config['model_type']
  if (type !== undefined && type !== null) {
    const t = String(type) === 'gemma3' ? 'gemma3_text' : String(type)
    if ((MODEL_FAMILIES as readonly string[]).includes(t)) return t as ModelFamily
    const near = didYouMean(String(type), MODEL_FAMILIES)
    issues.push({
      key: 'model_type',
      message: `${JSON.stringify(type)} is not a model family ftplan can count`,
      allowed: MODEL_FAMILIES.join(' | '),
      ...(near ? { didYouMean: near } : {}),
    })
    return undefined
  }
  const cls = Array.isArray(config['architectures']) ? String(config['architectures'][0] ?? '') : ''
  const byClass = CLASS_PREFIX.find(([prefix]) => cls.startsWith(prefix))
  if (byClass) {
    notes.push(`model_type absent: ${byClass[1]} inferred from architectures ${cls}`)
    return byClass[1]
  }
  const has = (k: string) => config[k] !== undefined && config[k] !== null
  const inferred: ModelFamily = has('kv_lora_rank') || has('n_routed_experts') ? 'deepseek_v2'
    : has('num_local_experts') ? 'mixtral'
      : has('num_experts') && has('shared_expert_intermediate_size') ? 'qwen2_moe'
        : has('num_experts') ? 'qwen3_moe' : 'llama'
  notes.push(`model_type absent: ${inferred} inferred from the keys present`)
  return inferred
}

function readMla(config: Record<string, unknown>, int: (k: IntKey, required: boolean, fallback?: number) => number): MlaArch {
  const q = config['q_lora_rank']
  return {
    qLoraRank: q === null || q === undefined || q === 0 ? null : int('q_lora_rank', false),
    kvLoraRank: int('kv_lora_rank', true),
    qkRopeHeadDim: int('qk_rope_head_dim', true),
    qkNopeHeadDim: int('qk_nope_head_dim', true),
    vHeadDim: int('v_head_dim', true),
  }
}

function readMoe(
  family: ModelFamily | undefined,
  config: Record<string, unknown>,
  numLayers: number,
  int: (k: IntKey, required: boolean, fallback?: number) => number,
  issues: ConfigIssue[],
): MoeArch | null {
  const layers = (isMoe: (i: number) => boolean) => Array.from({ length: numLayers }, (_, i) => isMoe(i))
  const topK = (experts: number, fallback: number) => {
    const k = int('num_experts_per_tok', false, fallback)
    if (k > experts && experts > 0) issues.push({ key: 'num_experts_per_tok', message: `${k} exceeds the ${experts} experts` })
    return k
  }
  if (family === 'mixtral') {
    // MixtralConfig defaults: 8 experts, 2 per token; each expert is an MLP of intermediate_size.
    const numExperts = int('num_local_experts', false, 8)
    return {
      numExperts, expertsPerToken: topK(numExperts, 2), expertIntermediateSize: int('intermediate_size', true),
      sharedIntermediateSize: 0, sharedExpertGate: false, routerBias: false, routerIsLinear: true, layers: layers(() => true),
    }
  }
  if (family === 'qwen2_moe' || family === 'qwen3_moe') {
    const numExperts = int('num_experts', true)
    const step = int('decoder_sparse_step', false, 1)
    const mlpOnly = readLayerList(config['mlp_only_layers'], numLayers, issues)
    const shared = family === 'qwen2_moe' ? int('shared_expert_intermediate_size', true) : 0
    return {
      numExperts, expertsPerToken: topK(numExperts, family === 'qwen2_moe' ? 4 : 8),
      expertIntermediateSize: int('moe_intermediate_size', true), sharedIntermediateSize: shared,
      sharedExpertGate: family === 'qwen2_moe', routerBias: false, routerIsLinear: true,
      // transformers Qwen2/3-MoE: layer i is sparse unless listed in mlp_only_layers, and only every step-th.
      layers: layers((i) => !mlpOnly.includes(i) && (i + 1) % step === 0),
    }
  }
  if ((family === 'deepseek_v2' || family === 'deepseek_v3') && config['n_routed_experts'] !== undefined && config['n_routed_experts'] !== null) {
    const numExperts = int('n_routed_experts', true)
    const firstDense = int('first_k_dense_replace', false, 0)
    const freq = int('moe_layer_freq', false, 1)
    const expertWidth = int('moe_intermediate_size', true)
    const sharedCount = config['n_shared_experts'] === null || config['n_shared_experts'] === undefined ? 0 : int('n_shared_experts', false)
    return {
      numExperts, expertsPerToken: topK(numExperts, 6), expertIntermediateSize: expertWidth,
      sharedIntermediateSize: sharedCount * expertWidth, sharedExpertGate: false,
      routerBias: config['topk_method'] === 'noaux_tc', routerIsLinear: false,
      // DeepseekV2DecoderLayer: MoE where layer_idx >= first_k_dense_replace and layer_idx % moe_layer_freq == 0.
      layers: layers((i) => i >= firstDense && i % freq === 0),
    }
  }
  return null
}

function readLayerList(value: unknown, numLayers: number, issues: ConfigIssue[]): number[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numLayers)) {
    issues.push({ key: 'mlp_only_layers', message: `expected a list of layer indices 0..${Math.max(0, numLayers - 1)}`, allowed: `integers 0..${Math.max(0, numLayers - 1)}` })
    return []
  }
  return value as number[]
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
