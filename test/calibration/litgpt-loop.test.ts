import { describe, expect, it } from 'vitest'
import { NF4_DQ_BYTES_PER_PARAM } from '../../src/memory/constants.js'
import { estimateMemory } from '../../src/memory/estimate.js'
import { modelFacts } from '../../src/memory/model-facts.js'
import { precisionRegime } from '../../src/memory/regime.js'
import { strategyFromSpec } from '../../src/memory/strategy.js'
import { loadSpec } from '../../src/spec/load.js'
import { memorySources } from '../helpers/memory-sources.js'
import { LITGPT_LOOP, litgptLoopBytes } from './litgpt-loop.js'

// LitGPT's config_hub llama-3.2-1B/qlora.yaml: bf16-true, bnb.nf4, LoRA r32 on query and value, dropout 0.05,
// micro-batch 2, max_seq_length 512. LitGPT's GPT keeps its own lm_head, so the model is untied here.
// h = 2048, L = 16, 32 heads of 64 (q_dim 2048), 8 KV heads, F = 8192, V = 128256.
const MODEL = 'model:\n  model_type: llama\n  hidden_size: 2048\n  num_hidden_layers: 16\n  num_attention_heads: 32\n  num_key_value_heads: 8\n  intermediate_size: 8192\n  vocab_size: 128256\n  tie_word_embeddings: false\n'
const QLORA = `${MODEL}method: qlora\nquantization: 4bit\nprecision: pure_bf16\noptimizer: paged_adamw\nbatch: { micro: 2, accumulation: 4 }\nseq_len: 512\nloss: chunked\nattention: sdpa\nlora: { rank: 32, alpha: 16, dropout: 0.05, targets: [q_proj, v_proj] }\n`
const V = 128256
const h = 2048
const tokens = 2 * 512

function load(yaml: string) {
  const l = loadSpec(yaml, 'spec.yaml', memorySources())
  const strategy = strategyFromSpec(l.spec, l.model.arch)
  return { l, strategy, facts: modelFacts(l.spec, l.model.arch), regime: precisionRegime(l.spec, strategy) }
}

describe("LitGPT's finetune loop, Llama-3.2-1B QLoRA (litgpt-loop.ts, derived by hand)", () => {
  const { l, strategy, facts, regime } = load(QLORA)
  const loop = litgptLoopBytes(l.spec, l.model.arch, facts, strategy.microBatch, regime)

  it('quantizes lm_head too: V·h parameters', () => {
    expect(loop.quantizedHeadParams).toBe(V * h)
  })
  it("keeps the previous step's 4-bit Linear inputs: per layer h (qkv) + 2048 (o_proj) + h (MLP) + F (down), plus lm_head's h", () => {
    const perToken = 16 * (2048 + 2048 + 2048 + 8192) + 2048 // 231,424 elements
    expect(loop.forwardCarry).toBe(perToken * tokens * 2)
    expect(loop.forwardCarry).toBe(473_956_352)
  })
  it('logits: previous and current bf16 logits (2 + 2 B), the head dequantized to fp16 and copied to bf16 (4 B per head weight), its kept input', () => {
    const headInput = 2 * h * tokens
    expect(loop.logits.forwardPeak).toBe(4 * tokens * V + 4 * V * h + headInput)
    // Backward: logits and log-softmax (2 + 2 B), one 128-token chunk's two bf16 gradients, the dequantized head.
    expect(loop.logits.backwardPeak).toBe(4 * tokens * V + 2 * 2 * (2 * 128 * V) + 4 * V * h + headInput)
  })
  it('in the estimate: weights lose 2 − NF4 bytes per head weight; forward carries the previous step and peaks', () => {
    const hf = estimateMemory(l.spec, l.model.arch, strategy, facts)
    const lit = estimateMemory(l.spec, l.model.arch, strategy, facts, LITGPT_LOOP)
    expect(hf.perGpu.breakdown.weights - lit.perGpu.breakdown.weights).toBeCloseTo(V * h * (2 - NF4_DQ_BYTES_PER_PARAM), -1)
    const forward = lit.phases.find((p) => p.phase === 'forward')!
    const hfForward = hf.phases.find((p) => p.phase === 'forward')!
    // bitsandbytes 0.42.0 (LitGPT's pin) keeps this step's Linear inputs too: 16 · (h + 2048 + h + F) per token.
    expect(forward.terms.activations - hfForward.terms.activations).toBe(473_956_352 + 16 * (2048 + 2048 + 2048 + 8192) * tokens * 2)
    expect(forward.terms.logits).toBe(loop.logits.forwardPeak)
    expect(lit.peakPhase).toBe('forward')
  })
  it('plain LoRA carries no inputs (torch frees saved tensors after backward) and dequantizes nothing', () => {
    const lora = load(QLORA.replace('method: qlora\nquantization: 4bit\n', 'method: lora\n').replace('paged_adamw', 'adamw'))
    const b = litgptLoopBytes(lora.l.spec, lora.l.model.arch, lora.facts, lora.strategy.microBatch, lora.regime)
    expect(b.quantizedHeadParams).toBe(0)
    expect(b.forwardCarry).toBe(0)
    expect(b.logits.forwardPeak).toBe(4 * tokens * V) // an unquantized, frozen lm_head keeps no input
  })
})

describe('Gemma 2 soft-capping under eager attention', () => {
  // Gemma-2-2B: 26 layers, 8 heads; soft-capping saves tanh(scores) too: 8·a bytes per query-key pair, not 6·a.
  const spec = (type: string) => `model:\n  model_type: ${type}\n  hidden_size: 2304\n  num_hidden_layers: 26\n  num_attention_heads: 8\n  num_key_value_heads: 4\n  head_dim: 256\n  intermediate_size: 9216\n  vocab_size: 256000\nmethod: full\nprecision: pure_bf16\nattention: eager\nseq_len: 1024\ngradient_checkpointing: false\n`
  it('adds 2·a·s bytes per token per layer over the same shape without soft-capping', () => {
    const facts = (type: string) => {
      const { l } = load(spec(type))
      return modelFacts(l.spec, l.model.arch)
    }
    const [capped, plain] = [facts('gemma2'), facts('gemma')]
    expect(capped.layerGroups[0]!.eagerPerSeqToken).toBe(8 * 8)
    expect(plain.layerGroups[0]!.eagerPerSeqToken).toBe(6 * 8)
  })
})
