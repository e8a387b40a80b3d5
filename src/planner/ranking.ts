import type { InstanceOffer } from '../instances/types.js'
import type { Candidate } from './plan.js'
import { withinBand } from './time-band.js'

/**
 * The first `count` candidates in rank order, the cheapest, and its place. Without `train`: by hourly price (byCost).
 * With it, issue #14's rule: the time model is right only within its band (TIME_BAND), so plans whose job cost lies
 * within the band of the cheapest cost the same as far as anyone can know; among them a user takes the one with the
 * fewest GPUs (easier to obtain), then the fewest nodes (nothing to go wrong between them), then the one that
 * finishes sooner, then the cheaper. The rest follow by cost.
 */
export function rankCandidates(candidates: Candidate[], count: number, tokensKnown: boolean): { ranked: Candidate[]; cheapest: Candidate; cheapestRank: number } {
  const cheapest = candidates.reduce((a, b) => (byCost(b, a) < 0 ? b : a))
  const low = cheapest.jobCostUsd
  if (!tokensKnown || low === null) return { ranked: smallest(candidates, count, byCost), cheapest, cheapestRank: 1 }
  const tied = candidates.filter((c) => c.jobCostUsd !== null && withinBand(low, c.jobCostUsd))
  const rest = candidates.filter((c) => c.jobCostUsd === null || !withinBand(low, c.jobCostUsd))
  const first = smallest(tied, count, byTieRule)
  return { ranked: [...first, ...smallest(rest, count - first.length, byCost)], cheapest, cheapestRank: 1 + tied.filter((c) => byTieRule(c, cheapest) < 0).length }
}

/** Among plans that cost the same: fewest GPUs, fewest nodes, soonest as plan prints it (a difference nobody sees must not outrank the cost), cheapest. */
function byTieRule(a: Candidate, b: Candidate): number {
  const shown = (c: Candidate) => Math.round(c.time!.hours * 100)
  return a.strategy.gpus - b.strategy.gpus || a.nodes - b.nodes || shown(a) - shown(b) || byCost(a, b)
}

/** The `k` smallest by `cmp`, in order, as a stable sort would give them; O(n log k). */
function smallest<T>(items: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (k <= 0) return []
  if (items.length <= k) return [...items].sort(cmp)
  const out: T[] = []
  for (const x of items) {
    if (out.length >= k && cmp(x, out[out.length - 1]!) >= 0) continue
    let lo = 0
    let hi = out.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cmp(out[mid]!, x) <= 0) lo = mid + 1
      else hi = mid
    }
    out.splice(lo, 0, x)
    if (out.length > k) out.pop()
  }
  return out
}

/**
 * Cheapest first, to the cent (a bill has no finer grain, and float noise must not decide); at the same cost the
 * fewer nodes (one placement, no inter-node network to go wrong), then the job that finishes sooner, then the
 * fewer GPUs (easier to get), then the most headroom.
 */
export function byCost(a: Candidate, b: Candidate): number {
  const cents = (c: Candidate) => Math.round((c.jobCostUsd ?? c.priceUsdPerHour) * 100)
  return cents(a) - cents(b) || a.nodes - b.nodes || (a.time?.hours ?? 0) - (b.time?.hours ?? 0) || a.strategy.gpus - b.strategy.gpus ||
    (b.usableBytesPerGpu - b.needsBytesPerGpu) - (a.usableBytesPerGpu - a.needsBytesPerGpu) ||
    byOfferName(a.offer, b.offer) || a.nodes - b.nodes
}

/**
 * Offers by instance type, then region, in code-unit order: the last tie-break, deterministic, and without
 * localeCompare, whose collator costs milliseconds to start on the path every `plan` takes.
 */
export function byOfferName(a: Pick<InstanceOffer, 'instanceType' | 'region'>, b: Pick<InstanceOffer, 'instanceType' | 'region'>): number {
  const x = `${a.instanceType}@${a.region}`
  const y = `${b.instanceType}@${b.region}`
  return x < y ? -1 : x > y ? 1 : 0
}
