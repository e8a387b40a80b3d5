import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec } from '../spec/load.js'
import { estimateMemory, type MemoryEstimate } from './estimate.js'
import { projectedShape } from './projection.js'
import { strategyFromSpec } from './strategy.js'

// LLaMA-Factory's own GaLore example (examples/extras/galore/llama3_full_sft.yaml @ff6d4d12): Llama-3-8B full, pure_bf16,
// GaLore rank 128 on every decoder Linear, layer-wise, micro-batch 1.
const GALORE = readFileSync(new URL('../../test/fixtures/llamafactory-examples/examples/extras/galore/llama3_full_sft.yaml', import.meta.url), 'utf8')
const load = (yaml: string) => loadSpec(yaml, 'llama3_full_sft.yaml', memorySources())
const phase = (e: MemoryEstimate, name: string) => e.phases.find((p) => p.phase === name)!

// Llama-3-8B (config.json): hidden 4096, 32 layers, 8 KV heads of 128, intermediate 14336, vocabulary 128256, untied head.
const T = 8_030_261_248
// Per layer, rank 128, std (the larger side projected onto 128; galore_projector.py project):
// q, o 4096×4096 → state 4096×128, projection 128×4096; k, v 1024×4096 → state 128×4096, projection 1024×128;
// gate, up 14336×4096 → state 14336×128, projection 128×4096; down 4096×14336 → state 128×14336, projection 4096×128.
const STATE = 32 * (4 * 524_288 + 3 * 1_835_008) // 243,269,632
const PROJECTOR = 32 * (2 * 524_288 + 2 * 131_072 + 3 * 524_288) // 92,274,688
const PROJECTED_WEIGHTS = 32 * (2 * 4096 * 4096 + 2 * 1024 * 4096 + 3 * 14336 * 4096) // 6,979,321,856
const EMBED = 128_256 * 4096

describe('GaLore and APOLLO: optimizer state on the projected gradient (issue #15)', () => {
  it('projectedShape follows GaLoreProjector for every proj_type', () => {
    expect(projectedShape(14336, 4096, 128, 'std')).toEqual({ state: [14336, 128], projector: 128 * 4096 })
    expect(projectedShape(4096, 14336, 128, 'std')).toEqual({ state: [128, 14336], projector: 4096 * 128 })
    expect(projectedShape(14336, 4096, 128, 'reverse_std')).toEqual({ state: [128, 4096], projector: 14336 * 128 })
    expect(projectedShape(1024, 4096, 128, 'right')).toEqual({ state: [1024, 128], projector: 128 * 4096 })
    expect(projectedShape(1024, 4096, 128, 'left')).toEqual({ state: [128, 4096], projector: 1024 * 128 })
    expect(projectedShape(1024, 4096, 128, 'full')).toEqual({ state: [128, 128], projector: 1024 * 128 + 128 * 4096 })
    // no more singular vectors than the smaller side
    expect(projectedShape(64, 4096, 128, 'std')).toEqual({ state: [64, 4096], projector: 64 * 64 })
  })

  it("LLaMA-Factory's GaLore example: bf16 Adam state on 1.05B unprojected + 243M projected elements, bf16 projections; one gradient at a time", () => {
    const l = load(GALORE)
    expect(l.spec.projection).toEqual({ kind: 'galore', rank: 128, targets: 'all', projType: 'std', layerwise: true })
    expect(T - PROJECTED_WEIGHTS).toBe(2 * EMBED + 32 * 2 * 4096 + 4096) // embeddings, head and norms keep full state
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    const step = phase(e, 'optimizer step')
    expect(step.terms.weights).toBe(2 * T)
    expect(step.terms.optimizerStates).toBe(2 * 2 * (T - PROJECTED_WEIGHTS + STATE) + 2 * PROJECTOR) // 5,361,385,472
    // layer-wise: the largest gradient (the embedding's, bf16) with the SVD of the largest projected weight:
    // its fp32 copy (14336×4096) and U (14336×4096), S (4096), Vh (4096×4096) in fp32
    const svd = 4 * 14336 * 4096 + 4 * (14336 * 4096 + 4096 + 4096 * 4096)
    expect(phase(e, 'backward').terms.gradients).toBeLessThanOrEqual(2 * EMBED + svd)
    expect(Math.max(...e.phases.map((p) => p.terms.gradients))).toBe(2 * EMBED + svd)
    // Adam on everything would be 4 B per parameter in pure bf16: GaLore saves 26.8 GB here
    expect(4 * T - step.terms.optimizerStates).toBeGreaterThan(26.7e9)
  })

  it('not layer-wise: every gradient is held, and the SVD is a step-time extra', () => {
    const l = load(GALORE.replace('galore_layerwise: true', 'galore_layerwise: false'))
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    const svd = 4 * 14336 * 4096 + 4 * (14336 * 4096 + 4096 + 4096 * 4096)
    expect(phase(e, 'optimizer step').terms.gradients).toBe(2 * T + svd)
  })

  it('named targets project only the weights whose module name contains one: mlp leaves attention unprojected', () => {
    const l = load(GALORE.replace('galore_target: all', 'galore_target: mlp'))
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    const mlpWeights = 32 * 3 * 14336 * 4096
    const mlpState = 32 * 3 * 1_835_008
    const mlpProjector = 32 * 3 * 524_288
    expect(phase(e, 'optimizer step').terms.optimizerStates).toBe(2 * 2 * (T - mlpWeights + mlpState) + 2 * mlpProjector)
  })

  it('APOLLO keeps the same shapes with its random projection and has no SVD', () => {
    const apollo = readFileSync(new URL('../../test/fixtures/llamafactory-examples/examples/extras/apollo/llama3_full_sft.yaml', import.meta.url), 'utf8')
    const l = load(apollo)
    expect(l.spec.projection).toMatchObject({ kind: 'apollo', rank: 128, layerwise: true })
    const e = estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch))
    expect(phase(e, 'optimizer step').terms.optimizerStates).toBe(2 * 2 * (T - PROJECTED_WEIGHTS + STATE) + 2 * PROJECTOR)
    expect(Math.max(...e.phases.map((p) => p.terms.gradients))).toBe(2 * EMBED)
  })
})
