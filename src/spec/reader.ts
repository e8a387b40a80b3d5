import type { Issue } from '../errors.js'
import { didYouMean, nearChoice } from '../suggest.js'
import { describe, type LNode, type LScalar, type Pos } from './located.js'

/**
 * Reads typed fields out of located nodes, collecting every problem instead of stopping at the first.
 * Each read returns `undefined` when the value is unusable; the caller then keeps the default and goes on.
 */
export class FieldReader {
  readonly issues: Issue[] = []

  constructor(readonly file: string) {}

  label(node: LNode | undefined, path: string): string {
    return node?.origin ? `${node.origin} (→ ${path})` : path
  }

  fail(at: { pos: Pos; origin?: string }, path: string, message: string, extra: { allowed?: string; didYouMean?: string } = {}): undefined {
    const label = at.origin ? `${at.origin} (→ ${path})` : path
    this.issues.push({ file: this.file, line: at.pos.line, col: at.pos.col, path: label, message, ...definedOnly(extra) })
    return undefined
  }

  /** A mapping whose keys must come from `keys`; unknown keys are reported with the nearest known one. */
  map(node: LNode, path: string, keys: readonly string[]): Map<string, LNode> | undefined {
    if (node.kind !== 'map') return this.fail(node, path, `expected a mapping, got ${describe(node)}`, { allowed: `a mapping with keys ${keys.join(', ')}` })
    const out = new Map<string, LNode>()
    for (const e of node.entries) {
      const child = path ? `${path}.${e.key}` : e.key
      if (!keys.includes(e.key)) {
        const near = didYouMean(e.key, keys)
        this.fail({ pos: e.keyPos, ...(e.value.origin ? { origin: e.value.origin } : {}) }, child, 'unknown key', { allowed: keys.join(', '), ...(near ? { didYouMean: near } : {}) })
      } else out.set(e.key, e.value)
    }
    return out
  }

  private scalar(node: LNode, path: string, expected: string, allowed: string): LScalar | undefined {
    if (node.kind !== 'scalar' || node.value === null) return this.fail(node, path, `expected ${expected}, got ${describe(node)}`, { allowed })
    return node
  }

  int(node: LNode, path: string, min: number, max: number): number | undefined {
    const allowed = `an integer ${min}..${max}`
    const s = this.scalar(node, path, 'an integer', allowed)
    if (!s) return undefined
    if (typeof s.value !== 'number' || !Number.isInteger(s.value)) return this.fail(s, path, `expected an integer, got ${describe(s)}`, { allowed })
    // Hex, octal and exponent forms read as integers in YAML 1.2 but as strings or other numbers elsewhere (PyYAML reads
    // 1e3 as a string; HF's argparse refuses it): a count is written in decimal digits, and a guess is worse than a no.
    if (s.raw !== undefined && !/^[-+]?\d+$/.test(s.raw)) return this.fail(s, path, `${s.raw} is not written in decimal digits; write ${s.value}`, { allowed })
    if (s.value < min || s.value > max) return this.fail(s, path, `${describe(s)} is out of range`, { allowed })
    return s.value
  }

  number(node: LNode, path: string, range: { min: number; max: number; minExclusive?: boolean; maxExclusive?: boolean }): number | undefined {
    const allowed = `a number ${range.minExclusive ? '>' : '≥'} ${range.min} and ${range.maxExclusive ? '<' : '≤'} ${range.max}`
    const s = this.scalar(node, path, 'a number', allowed)
    if (!s) return undefined
    if (typeof s.value !== 'number' || !Number.isFinite(s.value)) return this.fail(s, path, `expected a number, got ${describe(s)}`, { allowed })
    const v = s.value
    const low = range.minExclusive ? v <= range.min : v < range.min
    const high = range.maxExclusive ? v >= range.max : v > range.max
    if (low || high) return this.fail(s, path, `${describe(s)} is out of range`, { allowed })
    return v
  }

  bool(node: LNode, path: string): boolean | undefined {
    const s = this.scalar(node, path, 'true or false', 'true | false')
    if (!s) return undefined
    if (typeof s.value !== 'boolean') return this.fail(s, path, `expected true or false, got ${describe(s)}`, { allowed: 'true | false' })
    return s.value
  }

  string(node: LNode, path: string, allowed = 'a string'): string | undefined {
    const s = this.scalar(node, path, 'a string', allowed)
    if (!s) return undefined
    if (typeof s.value !== 'string' || s.value.trim() === '') return this.fail(s, path, `expected a non-empty string, got ${describe(s)}`, { allowed })
    return s.value.trim()
  }

  /** One of `allowed`; strings match case-insensitively and come back in their canonical spelling. */
  choice<T extends string | number | boolean>(node: LNode, path: string, allowed: readonly T[]): T | undefined {
    const list = allowed.map(String).join(' | ')
    if (node.kind !== 'scalar' || node.value === null) return this.fail(node, path, `expected one of ${list}, got ${describe(node)}`, { allowed: list })
    const v = node.value
    const match = allowed.find((a) => a === v || (typeof a === 'string' && typeof v === 'string' && a.toLowerCase() === v.trim().toLowerCase()))
    if (match !== undefined) return match
    const near = typeof v === 'string' ? nearChoice(v, allowed.map(String)) : undefined
    return this.fail(node, path, `${describe(node)} is not allowed`, { allowed: list, ...(near ? { didYouMean: near } : {}) })
  }

  /** A list of distinct non-empty strings. */
  stringList(node: LNode, path: string, allowed: string): string[] | undefined {
    if (node.kind !== 'seq') return this.fail(node, path, `expected a list, got ${describe(node)}`, { allowed })
    const out: string[] = []
    let ok = true
    node.items.forEach((item, i) => {
      const s = this.string(item, `${path}[${i}]`, allowed)
      if (s === undefined) ok = false
      else if (out.includes(s)) {
        this.fail(item, `${path}[${i}]`, `${JSON.stringify(s)} is listed twice`)
        ok = false
      } else out.push(s)
    })
    return ok ? out : undefined
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
