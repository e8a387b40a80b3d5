import type { ModelArch } from '../models/arch.js'
import { layerLinears } from '../models/modules.js'
import type { LowRankProjection } from '../spec/spec.js'

/** What GaLore or APOLLO changes in the optimizer's memory, summed over the projected weights. */
export interface ProjectionFacts {
  /** Elements of the projected weights: their optimizer state is kept on the projected gradient instead. */
  weightElements: number
  /** Elements of the projected gradients, the shape the optimizer keeps its state in. */
  projectedElements: number
  /** Rows + columns of the projected gradients (Adafactor's factored state on them). */
  projectedRowsCols: number
  /** Rows + columns of the projected weights (the factored state Adafactor would have kept on them unprojected). */
  weightRowsCols: number
  /** Elements of the projection matrices, one per weight, kept in the parameter's dtype. */
  projectorElements: number
  /** Rows and columns of the largest projected weight: the SVD that refreshes its projection works on a copy of it. */
  largest: { rows: number; cols: number }
  /** e.g. "GaLore rank 128 (std) on 224 weights". */
  describe: string
}

/**
 * The projected gradient and projection matrix of one weight of `rows` × `cols` (nn.Linear: out × in), as
 * GaLoreProjector.project builds them (jiaweizzhao/GaLore galore_torch/galore_projector.py; APOLLO's
 * apollo_torch/random_projector.py is the same for std, right and left): `std` projects the larger side onto the
 * smaller (state rows × r when rows ≥ cols, else r × cols), `reverse_std` the other way, `full` both sides. The rank
 * is at most the smaller side: the SVD has no more singular vectors (torch.linalg.svd, full_matrices=False).
 */
export function projectedShape(rows: number, cols: number, rank: number, type: LowRankProjection['projType']): { state: [number, number]; projector: number } {
  const r = Math.min(rank, rows, cols)
  const right = { state: [rows, r] as [number, number], projector: r * cols }
  const left = { state: [r, cols] as [number, number], projector: rows * r }
  switch (type) {
    case 'std': return rows >= cols ? right : left
    case 'reverse_std': return rows >= cols ? left : right
    case 'right': return right
    case 'left': return left
    case 'full': return { state: [r, r], projector: rows * r + r * cols }
  }
}

/**
 * The weights LLaMA-Factory hands to the projected optimizer (train/trainer_utils.py:210-215 @ff6d4d12): 2-D
 * parameters of nn.Linear modules whose full name contains a target and that train. `all` is every decoder Linear
 * but lm_head (model_utils/misc.py find_all_linear_modules). A layer's routed experts are fused 3-D parameters in
 * transformers ≥ 5, not nn.Linear modules, so they keep unprojected state.
 */
export function projectionFacts(p: LowRankProjection, arch: ModelArch, trained: (layer: number, name: string) => boolean, headTrained: boolean): ProjectionFacts {
  let count = 0
  const out: ProjectionFacts = { describe: '', weightElements: 0, projectedElements: 0, projectedRowsCols: 0, weightRowsCols: 0, projectorElements: 0, largest: { rows: 0, cols: 0 } }
  const matches = (name: string) => p.targets === 'all' || p.targets.some((t) => name.includes(t))
  const add = (rows: number, cols: number) => {
    const { state, projector } = projectedShape(rows, cols, p.rank, p.projType)
    count += 1
    out.weightElements += rows * cols
    out.projectedElements += state[0] * state[1]
    out.projectedRowsCols += state[0] + state[1]
    out.weightRowsCols += rows + cols
    out.projectorElements += projector
    if (rows * cols > out.largest.rows * out.largest.cols) out.largest = { rows, cols }
  }
  for (let i = 0; i < arch.numLayers; i++) {
    for (const m of layerLinears(arch, i)) {
      if (m.count > 1 || !trained(i, m.name) || !matches(`model.layers.${i}.${m.path}`)) continue
      add(m.outFeatures, m.inFeatures)
    }
  }
  // A tied lm_head shares the embedding's weight, an nn.Embedding parameter the optimizer sees once, unprojected.
  if (headTrained && !arch.tieWordEmbeddings && p.targets !== 'all' && matches('lm_head')) add(arch.vocabSize, arch.hiddenSize)
  out.describe = `${p.kind === 'galore' ? 'GaLore' : 'APOLLO'} rank ${p.rank} (${p.projType}) on ${count} weights${p.layerwise ? ', layer-wise' : ''}`
  return out
}

/**
 * Bytes the SVD that refreshes a projection needs at once (galore_projector.py get_orthogonal_matrix, every
 * update_proj_gap steps from the first): an fp32 copy of the gradient unless it is fp32 already, and U, S, Vh of
 * torch.linalg.svd(full_matrices=False) in fp32. APOLLO's default random projection draws a matrix instead.
 */
export function svdTransientBytes(p: LowRankProjection, f: ProjectionFacts, gradBytes: number): number {
  if (p.kind === 'apollo') return 0
  const { rows, cols } = f.largest
  const k = Math.min(rows, cols)
  return (gradBytes === 4 ? 0 : 4 * rows * cols) + 4 * (rows * k + k + k * cols)
}
