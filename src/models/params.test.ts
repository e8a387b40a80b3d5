import { describe, expect, it } from 'vitest'
import reference from '../../test/fixtures/reference-computed-params.json' with { type: 'json' }
import { archFromConfig, type ModelArch } from './arch.js'
import { MODELS } from './catalog.js'
import type { HfConfig } from './catalog-types.js'
import { countParams } from './params.js'

function arch(config: HfConfig, name = 'test'): ModelArch {
  const r = archFromConfig(config as Record<string, unknown>, name)
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.arch
}
const total = (id: keyof typeof MODELS) => countParams(arch(MODELS[id].config, id)).total

describe('exact parameter counts, derived by hand from each config.json', () => {
  it('Llama-2-7b: 6,738,415,616', () => {
    // V=32000, h=4096, L=32, 32 heads × 128 (MHA), I=11008, untied head.
    // embed + head = 2·32000·4096; per layer: q,k,v,o 4·4096² + MLP 3·4096·11008 + 2 norms 2·4096; final norm 4096.
    const byHand = 2 * 32000 * 4096 + 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096) + 4096
    expect(byHand).toBe(6_738_415_616)
    expect(total('meta-llama/Llama-2-7b-hf')).toBe(6_738_415_616)
  })

  it('Meta-Llama-3-8B: 8,030,261,248 (GQA: 8 KV heads of 128)', () => {
    // V=128256, h=4096, L=32, q 4096→4096, k and v 4096→8·128=1024, o 4096→4096, I=14336, untied.
    const perLayer = 4096 * 4096 + 2 * 4096 * 1024 + 4096 * 4096 + 3 * 4096 * 14336 + 2 * 4096
    const byHand = 2 * 128256 * 4096 + 32 * perLayer + 4096
    expect(byHand).toBe(8_030_261_248)
    expect(total('meta-llama/Meta-Llama-3-8B')).toBe(8_030_261_248)
  })

  it('Mistral-7B-v0.1: 7,241,732,096', () => {
    // Llama-3-8B's layers (GQA 32/8, I=14336) with a 32000-token vocabulary.
    const perLayer = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
    const byHand = 2 * 32000 * 4096 + 32 * perLayer + 4096
    expect(byHand).toBe(7_241_732_096)
    expect(total('mistralai/Mistral-7B-v0.1')).toBe(7_241_732_096)
  })

  it('Qwen2.5-7B: 7,615,616,512 (q/k/v bias, untied)', () => {
    // V=152064, h=3584, L=28, 28 q heads and 4 KV heads of 128, I=18944; Qwen2 has q, k, v bias (not o).
    const attention = 3584 * 3584 + 3584 + 2 * (3584 * 512 + 512) + 3584 * 3584
    const perLayer = attention + 3 * 3584 * 18944 + 2 * 3584
    const byHand = 2 * 152064 * 3584 + 28 * perLayer + 3584
    expect(byHand).toBe(7_615_616_512)
    expect(total('Qwen/Qwen2.5-7B')).toBe(7_615_616_512)
  })

  it('Mixtral-8x7B: 46,702,792,704 total, 12,879,925,248 active', () => {
    // Mistral-7B attention; per layer a router 4096→8 and 8 experts of 3·4096·14336; 2 of 8 active per token.
    const expert = 3 * 4096 * 14336
    const shared = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 4096 * 8 + 2 * 4096
    const byHand = 2 * 32000 * 4096 + 32 * (shared + 8 * expert) + 4096
    const activeByHand = 2 * 32000 * 4096 + 32 * (shared + 2 * expert) + 4096
    expect(byHand).toBe(46_702_792_704)
    const counts = countParams(arch(MODELS['mistralai/Mixtral-8x7B-v0.1'].config))
    expect(counts.total).toBe(46_702_792_704)
    expect(counts.active).toBe(activeByHand)
  })

  it('DeepSeek-V2-Lite MLA + MoE: 15,706,484,224 total (paper: 15.7B)', () => {
    // h=2048, 16 heads, L=27, V=102400 untied; MLA without q compression: q_proj 2048→16·(128+64),
    // kv_a_proj_with_mqa 2048→512+64, kv_a_layernorm 512, kv_b_proj 512→16·(128+128), o_proj 16·128→2048.
    const attention = 2048 * 16 * 192 + 2048 * 576 + 512 + 512 * 16 * 256 + 16 * 128 * 2048
    const dense = 3 * 2048 * 10944 // layer 0 (first_k_dense_replace 1)
    // layers 1..26: 64 routed experts of 1408, 2 shared (one MLP of 2816), MoEGate weight 64·2048.
    const moe = 64 * 3 * 2048 * 1408 + 3 * 2048 * 2816 + 64 * 2048
    const byHand = 2 * 102400 * 2048 + 27 * (attention + 2 * 2048) + dense + 26 * moe + 2048
    expect(byHand).toBe(15_706_484_224)
    expect(total('deepseek-ai/DeepSeek-V2-Lite')).toBe(byHand)
  })

  it('reports embedding, head and per-layer counts; tied models have no separate head', () => {
    const llama = countParams(arch(MODELS['meta-llama/Llama-2-7b-hf'].config))
    expect(llama.embedding).toBe(32000 * 4096)
    expect(llama.head).toBe(32000 * 4096)
    expect(llama.perLayer).toHaveLength(32)
    expect(llama.perLayer[0]).toBe(4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096)
    const gemma = countParams(arch(MODELS['google/gemma-2-2b'].config))
    expect(gemma.head).toBe(0)
  })
})

describe('every catalog model against independent counts', () => {
  const ids = Object.keys(MODELS) as (keyof typeof MODELS)[]

  it.each(ids)('%s parses and matches the reference hand computation', (id) => {
    const c = countParams(arch(MODELS[id].config, id))
    const ref = (reference.models as Record<string, { total: number; active: number | null }>)[id]
    if (ref) {
      expect(c.total).toBe(ref.total)
      expect(c.active).toBe(ref.active ?? ref.total)
    }
  })

  // keras-hub presets count the weights they actually load. Two known differences in shape:
  // Llama 3.2 presets store an untied head; Gemma 3 4B/12B text presets drop 64 image tokens (vocab 262144).
  const keras = ids.flatMap((id) => MODELS[id].referenceParamCounts.map((r) => ({ id, value: r.value, note: (r as { note?: string }).note ?? '' })))
  it.each(keras)('$id within 0.5% of keras-hub ($value)', ({ id, value, note }) => {
    let config: HfConfig = { ...MODELS[id].config }
    if (note.includes('untied lm_head')) config = { ...config, tie_word_embeddings: false }
    if (note.includes('262144')) config = { ...config, vocab_size: 262144 }
    const computed = countParams(arch(config)).total
    expect(Math.abs(computed - value) / value).toBeLessThan(0.005)
    expect(computed).toBe(value) // in fact exact, once the shape difference is applied
  })

  // Publisher figures with three significant digits are precise enough to check to 0.5%.
  const published = ids.flatMap((id) => {
    const p = MODELS[id].publishedParams
    const m = p ? /(?:\(|^)(\d+\.\d+|\d{3,})B\)?$/.exec(p.total) : null
    return m && m[1]!.replace('.', '').length >= 3 ? [{ id, figure: p!.total, billions: Number(m[1]) }] : []
  })
  it('finds the three-digit publisher figures', () => expect(published.length).toBeGreaterThanOrEqual(6))
  it.each(published)('$id within 0.5% of the published $figure', ({ id, billions }) => {
    expect(Math.abs(total(id) / 1e9 - billions) / billions).toBeLessThan(0.005)
  })
})
