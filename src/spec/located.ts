import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import type { Issue } from '../errors.js'

/** 1-based position of a node in its source file. */
export interface Pos {
  line: number
  col: number
}

/**
 * A YAML (or JSON) value that remembers where it came from, so every problem found later can name
 * `file:line:col`. `origin` names the key a value was mapped from when an adapter (LLaMA-Factory)
 * rewrote it, so the message speaks of the key the user actually wrote.
 */
export type LNode = LMap | LSeq | LScalar
export interface LMap {
  kind: 'map'
  pos: Pos
  entries: LEntry[]
  origin?: string
}
export interface LEntry {
  key: string
  keyPos: Pos
  value: LNode
}
export interface LSeq {
  kind: 'seq'
  pos: Pos
  items: LNode[]
  origin?: string
}
export interface LScalar {
  kind: 'scalar'
  pos: Pos
  value: string | number | boolean | null
  /** A number as the file wrote it (1e400, 0x10), for messages and for refusing forms a reader would not take. */
  raw?: string
  origin?: string
}

/** Deeper than any spec or config.json needs; a guard against hostile input, not a real limit. */
export const MAX_DEPTH = 64
/** Longer than any list a spec holds (modules, regions, GPUs: hundreds at most); a guard against hostile input. */
export const MAX_ITEMS = 10_000
/** yaml's own default for toJS(); bounds "billion laughs" alias expansion. */
const MAX_ALIAS_EXPANSIONS = 100

export interface Located {
  root: LNode | null
  issues: Issue[]
}

/** Parses YAML (a superset of JSON) into located nodes; syntax errors become issues, never throws. */
export function parseLocated(text: string, file: string, opts: { pythonNumbers?: boolean } = {}): Located {
  const lineCounter = new LineCounter()
  let doc: Document
  try {
    // uniqueKeys compares every pair of keys (quadratic: 40,000 keys took 9 s); convert checks them with a Set instead.
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, strict: true })
  } catch (error) {
    // yaml recurses per nesting level; absurd nesting exhausts the stack before it can report an error.
    if (error instanceof RangeError) return { root: null, issues: [{ file, line: 1, col: 1, path: '', message: DEEP }] }
    throw error
  }
  const at = (offset: number | undefined): Pos => {
    const p = lineCounter.linePos(offset ?? 0)
    return { line: p.line, col: p.col }
  }
  const issues: Issue[] = doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '', message: yamlMessage(e.message) }))
  if (issues.length > 0) return { root: null, issues }
  const state = { aliases: 0, expanding: new Set<Node>(), text, pythonNumbers: opts.pythonNumbers === true }
  const root = doc.contents === null ? null : convert(doc.contents as Node, doc, 0, state, at, file, issues)
  return { root: issues.length > 0 ? null : root, issues }
}

/**
 * A file its reader loads with a strict JSON parser (transformers' config.json and DeepSpeed's config both go through
 * Python's json.load): what JSON.parse refuses (comments, trailing commas, YAML) is refused here too, at its position,
 * instead of being read as YAML, which would take a `// comment` line into the next key.
 */
export function parseJsonLocated(text: string, file: string, reader: string): Located {
  try {
    JSON.parse(text)
  } catch (error) {
    // Python's json.load also takes NaN and ±Infinity, which JSON.parse does not.
    if (jsonWithPythonNumbers(text)) return parseLocated(text, file, { pythonNumbers: true })
    const message = (error as Error).message
    const offset = Number(/at position (\d+)/.exec(message)?.[1] ?? 0)
    const before = text.slice(0, offset).split('\n')
    const why = message.replace(/ in JSON at position \d+.*$/, '').replace(/, "[\s\S]*" is not valid JSON$/, '')
    return { root: null, issues: [{ file, line: before.length, col: before.at(-1)!.length + 1, path: '', message: `not valid JSON (${why}): ${reader} reads it with Python's json.load, which refuses comments, trailing commas and YAML` }] }
  }
  return parseLocated(text, file)
}

function jsonWithPythonNumbers(text: string): boolean {
  if (!/NaN|Infinity/.test(text)) return false
  try {
    JSON.parse(text.replace(/-?\b(NaN|Infinity)\b/g, 'null'))
    return true
  } catch {
    return false
  }
}

const DEEP = `nested too deeply to read (the limit is ${MAX_DEPTH} levels; a spec or config needs a few)`

function yamlMessage(message: string): string {
  if (message.includes('Maximum call stack')) return DEEP
  if (message.includes('multiple documents')) return 'a spec is one YAML document, and this file has more: a line of --- starts the next one; keep one document per file'
  return `YAML syntax error: ${message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`
}

function convert(
  node: Node,
  doc: Document,
  depth: number,
  state: { aliases: number; expanding: Set<Node>; text: string; pythonNumbers: boolean },
  at: (offset: number | undefined) => Pos,
  file: string,
  issues: Issue[],
): LNode {
  const pos = at(node.range?.[0])
  if (depth > MAX_DEPTH) {
    issues.push({ file, ...pos, path: '', message: `nested deeper than ${MAX_DEPTH} levels` })
    return { kind: 'scalar', pos, value: null }
  }
  if (isAlias(node)) {
    state.aliases += 1
    const target = node.resolve(doc) as Node | undefined
    if (!target || state.expanding.has(target)) {
      issues.push({ file, ...pos, path: '', message: `alias *${node.source} ${target ? 'refers to the value that contains it' : 'has no anchor'}` })
      return { kind: 'scalar', pos, value: null }
    }
    if (state.aliases > MAX_ALIAS_EXPANSIONS) {
      issues.push({ file, ...pos, path: '', message: `more than ${MAX_ALIAS_EXPANSIONS} alias expansions` })
      return { kind: 'scalar', pos, value: null }
    }
    state.expanding.add(target)
    const value = convert(target, doc, depth + 1, state, at, file, issues)
    state.expanding.delete(target)
    return { ...value, pos }
  }
  if (isMap(node)) {
    const entries: LEntry[] = []
    const seen = new Map<string, Pos>()
    const merged: LEntry[] = []
    const mergedKeys = new Set<string>()
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null
      const keyPos = keyNode ? at(keyNode.range?.[0]) : pos
      let key: string
      if (keyNode === null || keyNode === undefined) key = ''
      else if (isScalar(keyNode)) key = String(keyNode.value)
      else {
        issues.push({ file, ...keyPos, path: '', message: 'a mapping key must be a plain name, not a list or mapping' })
        continue
      }
      // A YAML merge key (`<<: *defaults`, or a list of aliases) as YAML 1.1 and PyYAML read it, which is how
      // LLaMA-Factory and Pulumi users write shared settings: the keys written here win, then the earlier mapping.
      if (key === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN' && pair.value) {
        const value = convert(pair.value as Node, doc, depth + 1, state, at, file, issues)
        const sources = value.kind === 'seq' ? value.items : [value]
        for (const source of sources) {
          if (source.kind !== 'map') {
            issues.push({ file, ...source.pos, path: '<<', message: `a merge key (<<) takes a mapping or a list of mappings, usually aliases such as *defaults; got ${describe(source)}` })
            continue
          }
          for (const e of source.entries) {
            if (mergedKeys.has(e.key)) continue
            mergedKeys.add(e.key)
            merged.push(e)
          }
        }
        continue
      }
      const first = seen.get(key)
      if (first) {
        issues.push({ file, ...keyPos, path: key, message: `map keys must be unique: ${JSON.stringify(key)} is already set at line ${first.line}` })
        continue
      }
      seen.set(key, keyPos)
      const valueNode = pair.value as Node | null
      const value: LNode = valueNode
        ? convert(valueNode, doc, depth + 1, state, at, file, issues)
        : { kind: 'scalar', pos: keyPos, value: null }
      entries.push({ key, keyPos, value })
    }
    for (const e of merged) if (!seen.has(e.key)) entries.push(e)
    return { kind: 'map', pos, entries }
  }
  if (isSeq(node)) {
    if (node.items.length > MAX_ITEMS) {
      issues.push({ file, ...pos, path: '', message: `a list of ${node.items.length.toLocaleString('en-US')} items; ftplan reads lists of at most ${MAX_ITEMS.toLocaleString('en-US')} (a spec's lists name modules, regions or GPUs)` })
      return { kind: 'seq', pos, items: [] }
    }
    const items = node.items.map((item) =>
      item ? convert(item as Node, doc, depth + 1, state, at, file, issues) : ({ kind: 'scalar', pos, value: null } as LScalar),
    )
    return { kind: 'seq', pos, items }
  }
  if (isScalar(node)) {
    // json.load's NaN and ±Infinity, unquoted: numbers to Python, plain strings to YAML.
    if (state.pythonNumbers && node.type === 'PLAIN' && typeof node.value === 'string' && /^-?(NaN|Infinity)$/.test(node.value)) {
      return { kind: 'scalar', pos, value: Number(node.value), raw: node.value }
    }
    const v = node.value
    const value = v === null || v === undefined ? null : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : String(v)
    const raw = typeof v === 'number' && node.range ? state.text.slice(node.range[0], node.range[1]).trim() : undefined
    return raw !== undefined && raw !== String(v) ? { kind: 'scalar', pos, value, raw } : { kind: 'scalar', pos, value }
  }
  issues.push({ file, ...pos, path: '', message: 'unsupported YAML node' })
  return { kind: 'scalar', pos, value: null }
}

export function entry(map: LMap, key: string): LEntry | undefined {
  return map.entries.find((e) => e.key === key)
}

/** The plain JavaScript value of a located node (for config.json contents and printing). */
export function toPlain(node: LNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value
    case 'seq':
      return node.items.map(toPlain)
    case 'map': {
      const out: Record<string, unknown> = {}
      for (const e of node.entries) Object.defineProperty(out, e.key, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true })
      return out
    }
  }
}

export function describe(node: LNode): string {
  if (node.kind === 'map') return 'a mapping'
  if (node.kind === 'seq') return 'a list'
  if (node.value === null) return 'nothing (null)'
  if (typeof node.value === 'string') return JSON.stringify(node.value.length > 40 ? `${node.value.slice(0, 40)}…` : node.value)
  return node.raw ?? String(node.value)
}
