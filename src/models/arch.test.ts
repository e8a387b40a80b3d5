import { describe, expect, it } from 'vitest'
import { archFromConfig } from './arch.js'
import { countParams } from './params.js'

const llama = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100 }

describe('archFromConfig', () => {
  it('infers llama when model_type is absent and counts a tiny model by hand', () => {
    const r = archFromConfig(llama, 'tiny')
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.arch.family).toBe('llama')
    expect(r.notes[0]).toMatch(/inferred/)
    // 2·100·64 (untied) + 2·(4·64² + 3·64·128 + 2·64) + 64
    expect(countParams(r.arch).total).toBe(2 * 100 * 64 + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64)
  })

  it('reads architectures[0] when model_type is absent', () => {
    const r = archFromConfig({ ...llama, architectures: ['Qwen2ForCausalLM'] }, 'x')
    expect(r.ok && r.arch.family).toBe('qwen2')
    expect(r.ok && r.arch.attentionBias).toBe('qkv')
  })

  it('uses an explicit head_dim (Mistral-Nemo: 128, not 5120/32)', () => {
    const r = archFromConfig({ ...llama, hidden_size: 5120, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128 }, 'x')
    expect(r.ok && r.arch.headDim).toBe(128)
  })

  it('reads text_config of a config that nests its language model', () => {
    const r = archFromConfig({ model_type: 'gemma3', text_config: { ...llama, model_type: 'gemma3_text', head_dim: 16 } }, 'x')
    expect(r.ok && r.arch.family).toBe('gemma3_text')
    expect(r.ok && r.arch.tieWordEmbeddings).toBe(true)
  })

  it('refuses a vision or audio tower, naming what would be missing (issue #15)', () => {
    const r = archFromConfig({ model_type: 'gemma3', text_config: { ...llama, model_type: 'gemma3_text', head_dim: 16 }, vision_config: { hidden_size: 1152 } }, 'x')
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues.map((i) => i.key)).toEqual(['vision_config'])
    expect(r.issues[0]!.message).toMatch(/vision tower \(vision_config\), which ftplan does not count: its parameters, and the activations of the image tokens/)
    expect(r.issues[0]!.allowed).toContain('its text_config as an inline model')
  })

  it('a checkpoint stored quantized: bitsandbytes, AWQ and GPTQ with their bits; other methods refused', () => {
    const q = (c: Record<string, unknown>) => archFromConfig({ ...llama, quantization_config: c }, 'x')
    const ok = (c: Record<string, unknown>) => { const r = q(c); return r.ok ? r.arch.prequantized : r.issues }
    expect(ok({ quant_method: 'awq', bits: 4, group_size: 128, zero_point: true, version: 'gemm' })).toEqual({ method: 'awq', bits: 4 })
    expect(ok({ quant_method: 'gptq', bits: 8, group_size: 128 })).toEqual({ method: 'gptq', bits: 8 })
    expect(ok({ quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_type: 'nf4' })).toEqual({ method: 'bitsandbytes', bits: 4 })
    expect(ok({ load_in_8bit: true })).toEqual({ method: 'bitsandbytes', bits: 8 })
    expect(ok({ quant_method: 'fp8', fmt: 'e4m3' })).toEqual([{ key: 'quantization_config', message: 'quant_method "fp8" is not one ftplan sizes', allowed: 'bitsandbytes | awq | gptq' }])
    expect(ok({ quant_method: 'gptq', bits: 3 })).toEqual([{ key: 'quantization_config', message: 'gptq with 3 bits is not sized by ftplan', allowed: '4 | 8 bits' }])
  })

  it('lists keys it does not use', () => {
    const r = archFromConfig({ ...llama, rope_theta: 10000, bos_token_id: 1 }, 'x')
    expect(r.ok && r.ignoredKeys).toEqual(['rope_theta', 'bos_token_id'])
  })

  it('collects every problem with the key and what is allowed', () => {
    const r = archFromConfig({ model_type: 'lama', hidden_size: -1, num_attention_heads: 'x', vocab_size: 10 }, 'x')
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.issues.map((i) => i.key)).toEqual(['model_type', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size'])
    expect(r.issues[0]).toMatchObject({ didYouMean: 'llama' })
  })

  it('rejects KV heads that do not divide the query heads', () => {
    const r = archFromConfig({ ...llama, num_key_value_heads: 3 }, 'x')
    expect(!r.ok && r.issues[0]!.key).toBe('num_key_value_heads')
  })

  it('Qwen2-MoE: shared expert with its gate, dense layers from mlp_only_layers', () => {
    const r = archFromConfig({
      ...llama, model_type: 'qwen2_moe', num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 32,
      shared_expert_intermediate_size: 96, mlp_only_layers: [0],
    }, 'x')
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.arch.moe?.layers).toEqual([false, true])
    const attention = 3 * (64 * 64 + 64) + 64 * 64
    const dense = attention + 3 * 64 * 128 + 2 * 64
    const moe = attention + 64 * 4 + 4 * 3 * 64 * 32 + 3 * 64 * 96 + 64 + 2 * 64
    const counts = countParams(r.arch)
    expect(counts.perLayer).toEqual([dense, moe])
    expect(counts.perLayerActive[1]).toBe(moe - 2 * 3 * 64 * 32)
  })
})
