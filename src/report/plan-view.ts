import type { ConstraintCost } from '../planner/constraint-cost.js'
import type { Candidate, PlanResult, Rejection } from '../planner/plan.js'
import type { LoadedSpec } from '../spec/load.js'
import { formatCount, formatInt, pricesAsOf, renderTable } from './format.js'
import { gb } from './estimate-view.js'
import { gpuVisibleBytes } from '../instances/visible-memory.js'
import { band, TIME_BAND, withinBand } from '../planner/time-band.js'

const usd = (x: number) => `$${x.toFixed(2)}`

function strategyText(c: Candidate): string {
  const s = c.strategy
  const ds = s.zeroStage === 0 ? (s.deepspeedAtZero0 ? 'DeepSpeed ZeRO-0' : s.gpus > 1 ? 'data parallel, no DeepSpeed' : 'no DeepSpeed') : `ZeRO-${s.zeroStage}${s.offload === 'none' ? '' : ` + offload ${s.offload}`}`
  return `${ds}, checkpointing ${s.gradientCheckpointing ? 'on' : 'off'}, micro-batch ${s.microBatch} × accumulation ${s.accumulation}`
}

function memoryBar(c: Candidate, width = 30): string {
  const used = Math.min(1, c.estimate.perGpu.totalBytes / c.usableBytesPerGpu)
  const filled = Math.round(used * width)
  return '█'.repeat(filled) + '░'.repeat(width - filled)
}

/** What separates two plans whose job costs are the same within the time band. */
function sameWithinBand(p: Candidate, next: Candidate): string {
  const differences: string[] = []
  if (p.nodes !== next.nodes) differences.push(p.nodes < next.nodes ? `${p.nodes === 1 ? 'one node, no multi-node setup' : `${p.nodes} nodes against ${next.nodes}`}` : `it finishes sooner (${p.time!.hours.toFixed(2)} against ${next.time!.hours.toFixed(2)} hours)`)
  else if (p.strategy.gpus !== next.strategy.gpus) differences.push(p.strategy.gpus < next.strategy.gpus ? `${p.strategy.gpus} GPUs against ${next.strategy.gpus}, easier to obtain` : `it finishes sooner (${p.time!.hours.toFixed(2)} against ${next.time!.hours.toFixed(2)} hours)`)
  else if (p.time && next.time && p.time.hours < next.time.hours) differences.push(`it finishes sooner (${p.time.hours.toFixed(2)} against ${next.time.hours.toFixed(2)} hours)`)
  else differences.push(`${usd(p.jobCostUsd!)} against ${usd(next.jobCostUsd!)}`)
  return `Chosen and #2 cost the same within the time band (${usd(p.jobCostUsd!)} and ${usd(next.jobCostUsd!)}); the chosen plan: ${differences.join(', ')}.`
}

/** Why the tie rule chose another plan than the one of the lowest job cost. */
function chosenOverCheapest(p: Candidate, cheapest: Candidate, rank: number): string {
  const what = (c: Candidate) => `${c.nodes} × ${c.offer.instanceType} (${c.strategy.gpus} × ${c.offer.gpu}${c.nodes > 1 ? `, ${c.nodes} nodes` : ''})`
  const fewer = p.strategy.gpus < cheapest.strategy.gpus ? `${p.strategy.gpus} GPU${p.strategy.gpus > 1 ? 's' : ''} against ${cheapest.strategy.gpus}, easier to obtain`
    : p.nodes < cheapest.nodes ? `${p.nodes} node${p.nodes > 1 ? 's' : ''} against ${cheapest.nodes}, nothing between nodes to go wrong`
      : `it finishes sooner (${p.time!.hours.toFixed(2)} against ${cheapest.time!.hours.toFixed(2)} hours)`
  const slower = p.time && cheapest.time && p.time.hours > cheapest.time.hours ? `; it takes ${p.time.hours.toFixed(2)} hours against ${cheapest.time.hours.toFixed(2)}` : ''
  return `Chosen over the lowest job cost, #${rank} ${what(cheapest)} at ${usd(cheapest.jobCostUsd!)}: ${usd(p.jobCostUsd!)} is within its time band (×${TIME_BAND.p10}–×${TIME_BAND.p90}), so they cost the same as far as the time model can tell, and the chosen plan needs ${fewer}${slower}. Rule: among plans that cost the same, the fewest GPUs, then the fewest nodes, then the soonest, then the cheapest.`
}

/** The human view of `ftplan plan`. */
export function renderPlan(loaded: LoadedSpec, r: PlanResult, top: number, advice: readonly string[] = [], costs: readonly ConstraintCost[] = []): string {
  const out: string[] = []
  const spec = loaded.spec
  out.push(`Plan for ${loaded.model.arch.name} (${formatCount(loaded.params.total)}) · ${spec.method} · ${formatInt(loaded.trainable.trainable)} trainable · seq ${spec.seqLenTokens}`)
  out.push(`Catalog: ${r.catalog.source} (${pricesAsOf(r.catalog.asOf)})`, '')
  if (r.status === 'fit') {
    const p = r.plan
    const b = p.estimate.perGpu
    out.push(`Chosen: ${p.nodes} × ${p.offer.instanceType} in ${p.offer.region}: ${p.nodes * p.offer.gpuCount} × ${p.offer.gpu}, ${usd(p.priceUsdPerHour)}/hour${spec.constraints.spot ? ' spot' : ' on-demand'}${p.spotUsdPerHour !== null && !spec.constraints.spot ? ` (spot ${usd(p.spotUsdPerHour)}/hour)` : ''}`)
    if (p.jobCostUsd === null) out.push(`  ! ranked by hourly price: the spec says nothing of the data (train: { tokens } in the spec, or --tokens N), so job hours and cost are unknown and a slow, cheap-by-the-hour offer can win`)
    // What the user's own limits cost, where dropping one finds a cheaper plan (planner/constraint-cost.ts): up here,
    // because it can dwarf every other line.
    for (const c of costs) {
      const w = c.without
      const whole = (x: number) => (x >= 1000 ? `$${formatInt(Math.round(x))}` : usd(x))
      out.push(`  ! keeping ${c.field} costs ${whole(c.costsUsd)}${c.unit} more: without it, ${w.nodes} × ${w.offer.instanceType} (${w.strategy.gpus} × ${w.offer.gpu}) in ${w.offer.region} at ${whole(w.jobCostUsd ?? w.priceUsdPerHour)}${c.unit}, ${strategyText(w)}`)
    }
    out.push(`Strategy: ${strategyText(p)}${p.precisionNote ? `; ${p.precisionNote}` : ''}`)
    out.push(`Memory per GPU: ${memoryBar(p)} ${gb(b.totalBytes)} GB of ${gb(p.usableBytesPerGpu)} GB usable (${gb(gpuVisibleBytes(p.offer))} GB the GPU shows, margin ${spec.margin}), headroom ${gb(p.usableBytesPerGpu - b.totalBytes)} GB`)
    const t = b.breakdown
    out.push(`  weights ${gb(t.weights)} · gradients ${gb(t.gradients)} · optimizer ${gb(t.optimizerStates)} · activations ${gb(t.activations)} · logits ${gb(t.logits)} · ZeRO ${gb(t.zeroBuffers)} · reserve ${gb(t.allocatorOverhead)} · context ${gb(t.cudaContext)} GB; peak in ${p.estimate.peakPhase}`)
    if (p.estimate.perNode.cpuBytes > 0) out.push(`  CPU RAM per node: ${gb(p.estimate.perNode.cpuBytes)} GB of ${gb(p.offer.hostMemoryGiB * 2 ** 30)} GB`)
    if (p.time && p.jobCostUsd !== null) {
      const [hLo, hHi] = band(p.time.hours)
      const [cLo, cHi] = band(p.jobCostUsd)
      out.push(`Time: ${p.time.hours.toFixed(2)} hours (${hLo.toFixed(2)}–${hHi.toFixed(2)}) for ${formatCount(p.time.tokens)} tokens (${formatInt(Math.round(p.time.tokensPerSecond))} tokens/s, MFU ${(p.time.mfu * 100).toFixed(1)}%; ${Math.round(p.time.hfu * 100)}% utilisation while computing) · Job: ${usd(p.jobCostUsd)} (${usd(cLo)}–${usd(cHi)})`)
      out.push(`  ranges: p10–p90 of measured ÷ estimated time over ${TIME_BAND.runs} calibration runs (×${TIME_BAND.p10}–×${TIME_BAND.p90})`)
    }
    out.push('')
    if (r.cheapest && r.cheapest.jobCostUsd !== null && p.jobCostUsd !== null) out.push(chosenOverCheapest(p, r.cheapest, r.cheapestRank ?? 1), '')
    const alts = r.alternatives.slice(0, top)
    if (alts.length > 0) {
      out.push('Next in rank:')
      const range = (x: number) => band(x).map((v) => v.toFixed(0)).join('–')
      const rows = alts.map((c, i) => [String(i + 2), c.offer.instanceType, c.offer.region, String(c.nodes), `${c.strategy.gpus} × ${c.offer.gpu}`, strategyText(c).split(',')[0]!, gb(c.estimate.perGpu.totalBytes), usd(c.priceUsdPerHour), c.time ? c.time.hours.toFixed(2) : '—', c.jobCostUsd !== null ? usd(c.jobCostUsd) : '—', c.jobCostUsd !== null ? range(c.jobCostUsd) : '—'])
      out.push(renderTable(['#', 'instance', 'region', 'nodes', 'GPUs', 'strategy', 'GB/GPU', '$/hour', 'hours', '$/job', 'p10–p90'], rows, new Set([0, 3, 6, 7, 8, 9, 10])).trimEnd().split('\n').map((l) => `  ${l}`).join('\n'), '')
      const next = alts[0]!
      if (!r.cheapest && p.jobCostUsd !== null && next.jobCostUsd !== null && withinBand(p.jobCostUsd, next.jobCostUsd)) out.push(sameWithinBand(p, next), '')
    }
    // Why every cheaper offer lost: rejected types whose single node costs less than the chosen plan per hour.
    const firstUnit = new Map<string, number | null>()
    for (const o of r.catalog.offers) if (!firstUnit.has(o.instanceType)) firstUnit.set(o.instanceType, spec.constraints.spot ? o.spotPriceUsdPerHour : o.priceUsdPerHour)
    const cheaper = r.rejected.filter((x) => {
      const unit = firstUnit.get(x.instanceType) ?? null
      return unit === null || unit < p.priceUsdPerHour
    })
    if (cheaper.length > 0) out.push('Cheaper offers that do not fit:', ...rejectionLines(cheaper), '')
    if (advice.length > 0) out.push('Cheaper with a change to the spec (tried, not applied):', ...advice.map((a) => `  ${a}`), '')
  } else {
    out.push('Nothing fits.', '')
    out.push('Rejected:')
    if (r.rejected.length === 0) out.push('  (none: no offer is within the constraints)')
    out.push(...rejectionLines(r.rejected))
    out.push('', 'What would make it fit:', ...r.suggestions.map((s) => `  - ${s}`), '')
  }
  out.push('Assumptions:', ...r.assumptions.map((a) => `  - ${a}`))
  return out.join('\n') + '\n'
}

/** Rejections as lines, bounded: a catalog of thousands of regions must not print thousands of lines. */
function rejectionLines(rejected: readonly Rejection[]): string[] {
  const MAX_LINES = 100
  const MAX_REGIONS = 6
  const regions = (rs: readonly string[]) => rs.length <= MAX_REGIONS ? rs.join(', ') : `${rs.slice(0, MAX_REGIONS - 1).join(', ')} and ${(rs.length - MAX_REGIONS + 1).toLocaleString('en-US')} more regions`
  const lines = rejected.slice(0, MAX_LINES).map((x) => `  ${x.instanceType} ×${x.nodes[0] === x.nodes[1] ? x.nodes[0] : `${x.nodes[0]}–${x.nodes[1]}`}: ${x.reason} (${regions(x.regions)})`)
  if (rejected.length > MAX_LINES) lines.push(`  … and ${(rejected.length - MAX_LINES).toLocaleString('en-US')} more (--json lists every one)`)
  return lines
}
