import type { Issue } from '../errors.js'
import { archFromConfig, type ConfigIssue, type ModelArch } from '../models/arch.js'
import type { CatalogModel } from '../models/catalog-types.js'
import { lookupModel } from '../models/resolve.js'
import { entry, parseJsonLocated, toPlain, type LMap, type LNode } from './located.js'
import type { FieldReader } from './reader.js'
import type { ModelRef } from './spec.js'

/** What a spec may refer to outside itself; the CLI supplies file reading, tests supply strings. */
export interface SpecSources {
  catalog: Readonly<Record<string, CatalogModel>>
  /**
   * Reads `path` as written in `fromFile` (relative paths are relative to that file's folder; a folder
   * means its config.json). Returns the resolved path and text, or null when there is no such file.
   */
  readFile(path: string, fromFile: string, wants: 'model-config' | 'json'): { path: string; text: string; origin?: string } | null
  /** Where readFile looked for `path` (resolved), for messages; the path as written when a source cannot say. */
  triedPaths?(path: string, fromFile: string): string[]
  /** Why readFile found nothing readable at `path` when something is there (a folder, a pipe, too large), for messages. */
  whyNot?(path: string, fromFile: string, wants: 'model-config' | 'json'): string | null
}

export interface ResolvedModel {
  ref: ModelRef
  arch: ModelArch
  notes: string[]
  ignoredKeys: string[]
}

const MODEL_ALLOWED = 'a catalog id (see `ftplan models`), a Hugging Face Hub id (org/name, or org/name@revision), a model folder or a path to a config.json (./… or /…), or a mapping of config.json keys'

/** A path to a folder or config.json rather than a catalog or Hub id. */
export function looksLikePath(s: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|~[\\/])/.test(s) || /\.json$/i.test(s)
}

export function resolveModelNode(node: LNode, path: string, r: FieldReader, src: SpecSources): ResolvedModel | undefined {
  if (node.kind === 'map') return fromInline(node, path, r)
  const id = r.string(node, path, MODEL_ALLOWED)
  if (id === undefined) return undefined
  if (!looksLikePath(id)) {
    const found = lookupModel(id, src.catalog)
    if (found.found) {
      const result = archFromConfig(found.model.config as Record<string, unknown>, found.id)
      if (!result.ok) throw new Error(`catalog model ${found.id} does not parse: ${JSON.stringify(result.issues)}`)
      return { ref: { kind: 'catalog', id: found.id }, arch: result.arch, notes: found.note ? [found.note] : [], ignoredKeys: [] }
    }
    // Not a catalog id: it may still be a local checkpoint folder, as LLaMA-Factory's model_name_or_path often is.
    if (!src.readFile(id, r.file, 'model-config')) {
      const near = found.nearest.map((n) => `"${n}"`)
      // An id with a folder in it may be the user's checkpoint folder: say where it was looked for.
      const tried = id.includes('/') || id.includes('\\') ? src.triedPaths?.(id, r.file) ?? [] : []
      const where = tried.length > 0 ? `; not in the catalog, and no model folder (with its config.json) at ${tried.join(' or ')}` : ''
      return r.fail(node, path, `unknown model ${JSON.stringify(id)}${where}`, {
        allowed: MODEL_ALLOWED,
        didYouMean: near.length > 1 ? `${near.slice(0, -1).join(', ')} or ${near.at(-1)}` : near[0] ?? '',
      })
    }
  }
  const file = src.readFile(id, r.file, 'model-config')
  if (!file) {
    const why = src.whyNot?.(id, r.file, 'model-config')
    return r.fail(node, path, why ? `cannot read the config.json of ${JSON.stringify(id)}: ${why}` : `no config.json at ${JSON.stringify(id)}`, { allowed: MODEL_ALLOWED })
  }
  const parsed = parseJsonLocated(file.text, file.path, 'transformers')
  if (parsed.issues.length > 0 || !parsed.root) {
    r.issues.push(...(parsed.issues.length > 0 ? parsed.issues : [{ file: file.path, line: 1, col: 1, path: '', message: 'config.json is empty' }]))
    return undefined
  }
  if (parsed.root.kind !== 'map') return r.fail(node, path, `${file.path} is not a JSON object`, { allowed: MODEL_ALLOWED })
  const config = toPlain(parsed.root) as Record<string, unknown>
  // A config fetched from the Hub (its origin says so) is named by its repository id, a file by its folder.
  const result = archFromConfig(config, file.origin ? id.replace(/@.*$/, '') : nameFromPath(id))
  if (!result.ok) {
    r.issues.push(...result.issues.map((i) => locate(i, parsed.root as LMap, file.path, '')))
    return undefined
  }
  return { ref: { kind: 'config-file', path: id, config }, arch: result.arch, notes: file.origin ? [file.origin, ...result.notes] : result.notes, ignoredKeys: result.ignoredKeys }
}

function fromInline(node: LMap, path: string, r: FieldReader): ResolvedModel | undefined {
  const nameEntry = entry(node, 'name')
  if (nameEntry && (nameEntry.value.kind !== 'scalar' || typeof nameEntry.value.value !== 'string')) {
    return r.fail(nameEntry.value, `${path}.name`, 'expected a string', { allowed: 'a display name for the inline model' })
  }
  const config = toPlain(node) as Record<string, unknown>
  const result = archFromConfig(config, 'inline model')
  if (!result.ok) {
    r.issues.push(...result.issues.map((i) => locate(i, node, r.file, `${path}.`)))
    return undefined
  }
  return { ref: { kind: 'inline', config }, arch: result.arch, notes: result.notes, ignoredKeys: result.ignoredKeys.map((k) => `${path}.${k}`) }
}

function locate(issue: ConfigIssue, root: LMap, file: string, prefix: string): Issue {
  const text = entry(root, 'text_config')
  const hit = entry(root, issue.key) ?? (text?.value.kind === 'map' ? entry(text.value, issue.key) : undefined)
  const pos = hit ? hit.value.pos : root.pos
  return {
    file, line: pos.line, col: pos.col, path: `${prefix}${issue.key}`,
    message: hit ? issue.message : `${issue.message} (key absent)`,
    ...(issue.allowed ? { allowed: issue.allowed } : {}),
    ...(issue.didYouMean ? { didYouMean: issue.didYouMean } : {}),
  }
}

function nameFromPath(p: string): string {
  const parts = p.replace(/[\\/]+$/, '').split(/[\\/]/)
  const last = parts.at(-1) ?? p
  return /^config\.json$/i.test(last) && parts.length > 1 ? parts.at(-2)! : last
}
