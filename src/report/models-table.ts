import { archFromConfig, type ModelArch } from '../models/arch.js'
import type { CatalogModel } from '../models/catalog-types.js'
import { countParams, type ParamCounts } from '../models/params.js'
import { formatCount, renderTable } from './format.js'

export interface ModelRow {
  id: string
  family: string
  params: { total: number; active: number; embedding: number; head: number }
  layers: number
  hiddenSize: number
  heads: number
  kvHeads: number
  headDim: number
  intermediateSize: number
  vocabSize: number
  contextTokens: number | null
  experts: { total: number; perToken: number } | null
  attention: 'mha' | 'gqa' | 'mla'
  source: string
  verification: CatalogModel['verification']
}

export function modelRows(catalog: Readonly<Record<string, CatalogModel>>): ModelRow[] {
  return Object.entries(catalog).map(([id, m]) => {
    const result = archFromConfig(m.config as Record<string, unknown>, id)
    if (!result.ok) throw new Error(`catalog model ${id} does not parse`)
    return rowOf(id, m, result.arch, countParams(result.arch))
  })
}

function rowOf(id: string, m: CatalogModel, a: ModelArch, p: ParamCounts): ModelRow {
  return {
    id,
    family: a.family,
    params: { total: p.total, active: p.active, embedding: p.embedding, head: p.head },
    layers: a.numLayers,
    hiddenSize: a.hiddenSize,
    heads: a.numHeads,
    kvHeads: a.numKvHeads,
    headDim: a.headDim,
    intermediateSize: a.intermediateSize,
    vocabSize: a.vocabSize,
    contextTokens: a.maxPositionEmbeddings,
    experts: a.moe ? { total: a.moe.numExperts, perToken: a.moe.expertsPerToken } : null,
    attention: a.mla ? 'mla' : a.numKvHeads < a.numHeads ? 'gqa' : 'mha',
    source: m.source,
    verification: m.verification,
  }
}

export function renderModelsTable(rows: readonly ModelRow[]): string {
  const header = ['id', 'params', 'active', 'experts', 'layers', 'hidden', 'heads/kv', 'vocab', 'context']
  const body = rows.map((r) => [
    r.id,
    formatCount(r.params.total),
    formatCount(r.params.active),
    r.experts ? `${r.experts.perToken} of ${r.experts.total}` : '',
    String(r.layers),
    String(r.hiddenSize),
    r.attention === 'mla' ? `${r.heads}/MLA` : `${r.heads}/${r.kvHeads}`,
    String(r.vocabSize),
    r.contextTokens === null ? '—' : String(r.contextTokens),
  ])
  return renderTable(header, body, new Set([1, 2, 4, 5, 7, 8])) +
    `\n${rows.length} models. Parameter counts are computed from each architecture (exact); active = per token, embeddings included.\n`
}
