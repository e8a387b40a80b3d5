import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec } from '../spec/load.js'
import { layerBytesPerToken } from './activations.js'
import { modelFacts } from './model-facts.js'
import { precisionRegime } from './regime.js'
import { strategyFromSpec } from './strategy.js'

/**
 * Stas Bekman measured the memory one decoder layer's forward retains on a GPU, in copies of the hidden
 * state (2·s·b·h bytes, the layer's output included): bf16 weights that require grad, bs=1, seqlen=32384,
 * transformers' default (SDPA) attention (ML Engineering, training/performance/benchmarks/
 * activation-memory-per-layer.py; memory-model §5.2, §11 #10).
 */
const MEASURED: [string, string, number][] = [
  ['Llama-3.1-8B', 'model: meta-llama/Llama-3.1-8B', 28.0],
  ['Mistral-7B', 'model: mistralai/Mistral-7B-v0.1', 28.0],
  ['Qwen3-8B (DeepSeek-R1-0528-Qwen3-8B)', 'model: Qwen/Qwen3-8B', 29.8],
  ['Qwen3-4B', 'model: Qwen/Qwen3-4B', 38.0],
  ['SmolLM2-360M', 'model: HuggingFaceTB/SmolLM2-360M', 24.0],
  // gemma-1.1-2b: the Gemma 2B shape (2048 hidden, 18 layers, 8 heads of 256, 1 KV head, 16384 MLP, 256000 vocab).
  ['gemma-1.1-2b', 'model:\n  model_type: gemma\n  hidden_size: 2048\n  num_hidden_layers: 18\n  num_attention_heads: 8\n  num_key_value_heads: 1\n  head_dim: 256\n  intermediate_size: 16384\n  vocab_size: 256000', 48.0],
]

describe('activations per layer against GPU measurements (memory-model §11 #10)', () => {
  it.each(MEASURED)('%s: %s hidden-state copies within 3%', (_name, model, copies) => {
    const l = loadSpec(`${model}\nmethod: full\nprecision: pure_bf16\nattention: sdpa\nseq_len: 32384\n`, 'spec.yaml', memorySources())
    const regime = precisionRegime(l.spec, strategyFromSpec(l.spec, l.model.arch))
    const facts = modelFacts(l.spec, l.model.arch, 0)
    const perToken = layerBytesPerToken(facts.layerGroups[0]!, 'sdpa', 32384, regime)
    const estimated = perToken / (2 * l.model.arch.hiddenSize) + 1 // + the layer's output
    expect(Math.abs(estimated - copies) / copies).toBeLessThan(0.03)
  })
})
