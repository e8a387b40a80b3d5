/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, as commander's
 * suggestSimilar), so `lroa` is one edit from `lora`. Inputs are short, so the O(n·m) table is fine.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/** The `count` candidates nearest to `input` (case-insensitive), nearest first, ties in candidate order. */
export function nearest(input: string, candidates: readonly string[], count: number): string[] {
  const needle = input.toLowerCase().slice(0, 200)
  return candidates
    .map((c, i) => ({ c, i, d: editDistance(needle, c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .slice(0, count)
    .map((x) => x.c)
}

/**
 * A near miss worth suggesting: within a third of the word's length (at least 1, at most 3 edits),
 * as commander's suggestSimilar does, so `lora_rnak` suggests `lora_rank` but `foo` suggests nothing.
 */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase().slice(0, 200)
  let best: { c: string; d: number } | undefined
  for (const c of candidates) {
    const d = editDistance(needle, c.toLowerCase())
    if (!best || d < best.d) best = { c, d }
  }
  if (!best) return undefined
  const limit = Math.min(3, Math.max(1, Math.floor(needle.length / 3)))
  return best.d <= limit ? best.c : undefined
}

/**
 * A suggestion for an enum-like value: a prefix of longer values suggests them (`A100` → A100-40GB or
 * A100-80GB, `L40` → L40S), otherwise the nearest by edit distance.
 */
export function nearChoice(value: string, allowed: readonly string[]): string | undefined {
  const v = value.trim().toLowerCase()
  const extended = v.length >= 2 ? allowed.filter((a) => a.toLowerCase().startsWith(v) && a.toLowerCase() !== v) : []
  if (extended.length > 0 && extended.length <= 3) return extended.length === 1 ? extended[0] : `${extended.slice(0, -1).join(', ')} or ${extended.at(-1)}`
  return didYouMean(value, allowed)
}
