import { nearest } from '../suggest.js'
import type { CatalogModel } from './catalog-types.js'

export type CatalogLookup =
  | { found: true; id: string; model: CatalogModel; note?: string }
  | { found: false; nearest: string[] }

/** Checkpoint-name suffixes that do not change a model's shapes (chat/instruct tunes of the same base). */
const VARIANT_SUFFIXES = ['-hf', '-instruct', '-chat', '-it', '-base']

function shortName(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1).toLowerCase()
}

/** The name with its organisation, `Meta-` prefix and variant suffixes removed: one key per shape. */
function shapeKey(id: string): string {
  let s = shortName(id).replace(/^meta-(?=llama)/, '')
  for (let changed = true; changed;) {
    changed = false
    for (const suffix of VARIANT_SUFFIXES) {
      if (s.endsWith(suffix)) {
        s = s.slice(0, -suffix.length)
        changed = true
      }
    }
  }
  return s
}

/**
 * Finds a catalog model by id: exact, then case-insensitive with or without the organisation, then
 * by shape key (so `meta-llama/Meta-Llama-3.1-8B-Instruct` finds `meta-llama/Llama-3.1-8B`, with a note).
 */
export function lookupModel(query: string, catalog: Readonly<Record<string, CatalogModel>>): CatalogLookup {
  const ids = Object.keys(catalog)
  const q = query.trim()
  const hit = (id: string, note?: string): CatalogLookup => ({ found: true, id, model: catalog[id]!, ...(note ? { note } : {}) })
  if (Object.hasOwn(catalog, q)) return hit(q)
  const lower = q.toLowerCase()
  const hasOrg = lower.includes('/')
  const byName = ids.filter((id) => (hasOrg ? id.toLowerCase() === lower : shortName(id) === lower))
  if (byName.length === 1) return hit(byName[0]!)
  const byShape = ids.filter((id) => shapeKey(id) === shapeKey(q) && (!hasOrg || orgOf(id) === orgOf(q)))
  if (byShape.length === 1) return hit(byShape[0]!, `${q} is not in the catalog by that name; using ${byShape[0]} (same architecture: ${shapeKey(q)})`)
  // An organisation the catalog does not know (a local folder such as models/Llama-2-7b) says nothing: match the name.
  const byOrg = hasOrg && ids.some((id) => orgOf(id) === orgOf(q))
  return { found: false, nearest: nearest(byOrg ? q : shortName(q), byOrg ? ids : ids.map(shortName), 3).map((n) => (byOrg ? n : ids.find((id) => shortName(id) === n)!)) }
}

function orgOf(id: string): string {
  const i = id.indexOf('/')
  return i < 0 ? '' : id.slice(0, i).toLowerCase()
}

/** Every distinct shape key maps to one catalog id; a test holds the catalog to this. */
export function shapeKeyOf(id: string): string {
  return shapeKey(id)
}
