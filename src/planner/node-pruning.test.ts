import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { estimateMemory } from '../memory/estimate.js'
import { adapterInputCopyBytes, modelFacts } from '../memory/model-facts.js'
import { defaultZeroSettings, tightZeroSettings, type Strategy } from '../memory/strategy.js'
import { loadSpec } from '../spec/load.js'
import type { Offload, ZeroStage } from '../spec/spec.js'
import { renderPlan } from '../report/plan-view.js'
import { DEFAULT_KEEP, planFinetune, type BatchMode, type Candidate, type PlanResult } from './plan.js'

// The planner skips node counts (issue #16): it bisects for the first count where each strategy fits, and stops
// scanning an offer once no larger count can cost less than a plan it already has. Both rest on facts tested here.

const load = (yaml: string) => loadSpec(yaml, 'spec.yaml', memorySources())

const SPECS = [
  'model: meta-llama/Meta-Llama-3-8B\nmethod: lora\nseq_len: 4096\n',
  'model: meta-llama/Meta-Llama-3-70B\nmethod: full\nseq_len: 2048\n',
  'model: meta-llama/Meta-Llama-3-70B\nmethod: qlora\nseq_len: 2048\n',
  'model: Qwen/Qwen2.5-7B\nmethod: full\nseq_len: 1024\noptimizer: adamw_8bit\n',
  'model: mistralai/Mixtral-8x7B-v0.1\nmethod: lora\nseq_len: 2048\n',
]

describe('from 2 GPUs up, what a strategy needs per GPU and per node never grows with the nodes', () => {
  // Memory does grow from 1 GPU to 2 (data-parallel buffers exist only with a peer), so the planner treats 1 node
  // apart and bisects from 2.
  for (const yaml of SPECS) {
    it(yaml.split('\n').slice(0, 2).join(' '), () => {
      const { spec, model } = load(yaml)
      const facts = modelFacts(spec, model.arch, adapterInputCopyBytes(spec, false))
      let checked = 0
      for (const zeroStage of [0, 1, 2, 3] as ZeroStage[]) for (const offload of ['none', 'optimizer', 'optimizer+params'] as Offload[]) {
        if ((offload === 'optimizer' && zeroStage === 0) || (offload === 'optimizer+params' && zeroStage !== 3)) continue
        for (const zero of zeroStage === 0 ? [defaultZeroSettings(model.arch, 0)] : [defaultZeroSettings(model.arch, zeroStage), tightZeroSettings(model.arch, zeroStage)]) {
          for (const gpusPerNode of [1, 4, 8]) for (const gradientCheckpointing of [false, true]) {
            let before: number[] | null = null
            for (const nodes of [2, 3, 4, 5, 8, 16, 33, 128, 1024]) {
              const s: Strategy = { gpus: nodes * gpusPerNode, gpusPerNode, offloadDevice: 'cpu', zero, zeroStage, offload, gradientCheckpointing, microBatch: 2, accumulation: 1 }
              const e = estimateMemory(spec, model.arch, s, facts)
              const now = [e.perGpu.totalBytes, e.perNode.cpuBytes, e.perNode.nvmeBytes]
              if (before) for (let i = 0; i < 3; i++) expect(now[i]).toBeLessThanOrEqual(before[i]! + 1)
              before = now
              checked += 1
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(300)
    })
  }
})

const key = (c: Candidate) => `${c.offer.instanceType}@${c.offer.region}×${c.nodes} z${c.strategy.zeroStage} ${c.strategy.offload} gc${c.strategy.gradientCheckpointing} m${c.strategy.microBatch}a${c.strategy.accumulation}`
const cost = (c: Candidate) => Math.round((c.jobCostUsd ?? c.priceUsdPerHour) * 100)

function same(pruned: PlanResult, exhaustive: PlanResult): void {
  expect(pruned.status).toBe(exhaustive.status)
  if (pruned.status !== 'fit' || exhaustive.status !== 'fit') {
    expect(pruned.rejected.map((r) => `${r.instanceType} ${r.nodes.join('–')}`).sort()).toEqual(exhaustive.rejected.map((r) => `${r.instanceType} ${r.nodes.join('–')}`).sort())
    return
  }
  expect(key(pruned.plan)).toBe(key(exhaustive.plan))
  expect(pruned.cheapest && key(pruned.cheapest)).toBe(exhaustive.cheapest && key(exhaustive.cheapest))
  // What is kept comes in the order of the whole ranking, at the same costs.
  const kept = [pruned.plan, ...pruned.alternatives]
  const all = [exhaustive.plan, ...exhaustive.alternatives]
  const place = new Map(all.map((c, i) => [key(c), i]))
  const places = kept.map((c) => place.get(key(c))!)
  expect(places.every((p) => p !== undefined)).toBe(true)
  expect(places).toEqual([...places].sort((a, b) => a - b))
  for (const c of kept) expect(cost(c)).toBe(cost(all[place.get(key(c))!]!))
  // The bytes ranking reads without making the estimate are the estimate's.
  for (const c of kept) expect(c.needsBytesPerGpu).toBe(c.estimate.perGpu.totalBytes)
  // What it leaves out before its last kept plan ranks after a kept plan of the same machine that needs no more nodes
  // and costs no more: the same offer on fewer nodes, or the same shape in a cheaper region.
  const keptKeys = new Set(kept.map(key))
  for (const c of all.slice(0, places.at(-1)! + 1).filter((x) => !keptKeys.has(key(x)))) {
    const better = kept.find((x) => x.offer.instanceType === c.offer.instanceType && x.nodes <= c.nodes && cost(x) <= cost(c) && x !== c)
    expect(better, key(c)).toBeDefined()
  }
}

describe('the pruned search chooses what the search of every node count chooses', () => {
  const cases: [string, BatchMode, number][] = [
    ['model: meta-llama/Meta-Llama-3-8B\nmethod: lora\nseq_len: 4096\ntrain: { tokens: 100000000 }\n', 'free', 16],
    ['model: meta-llama/Meta-Llama-3-70B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1000000000 }\n', 'free', 24],
    ['model: meta-llama/Meta-Llama-3-70B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1000000000 }\nconstraints: { gpus: [A10G, L4] }\n', 'free', 64],
    ['model: meta-llama/Meta-Llama-3-70B\nmethod: lora\nseq_len: 2048\nbatch: { micro: 4, accumulation: 2 }\ntrain: { tokens: 50000000 }\nconstraints: { max_hourly_usd: 150 }\n', 'per-gpu', 16],
    ['model: meta-llama/Meta-Llama-3-70B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1000000000 }\nconstraints: { budget_usd: 20000, gpus: [A100-80GB, H100] }\n', 'free', 12],
    ['model: meta-llama/Meta-Llama-3-70B\nmethod: full\nseq_len: 2048\nconstraints: { gpus: [A10G, L40S] }\n', 'free', 40],
    ['model: Qwen/Qwen2.5-7B\nmethod: full\nseq_len: 1024\ntrain: { tokens: 20000000 }\nconstraints: { spot: true }\n', 'free', 8],
    ['model: meta-llama/Llama-3.1-405B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 100000000 }\nconstraints: { gpus: [A10G] }\n', 'free', 128],
  ]
  for (const [yaml, batch, maxNodes] of cases) {
    it(`${yaml.replace(/\n/g, ' ')}(max_nodes ${maxNodes})`, () => {
      const { spec, model } = load(yaml)
      const input = { spec, arch: model.arch, catalog: AWS_CATALOG, batch }
      same(planFinetune(input, { maxNodes, noSuggestions: true }), planFinetune(input, { maxNodes, noSuggestions: true, exhaustive: true }))
    })
  }
})

describe('bounded work', () => {
  it('Llama-3.1-405B full on A10G at max_nodes 1024 rejects every offer at its closest miss, having estimated a handful of layouts', () => {
    const { spec, model } = load('model: meta-llama/Llama-3.1-405B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 100000000 }\nconstraints: { gpus: [A10G], max_nodes: 1024 }\n')
    const layouts = new Map()
    const r = planFinetune({ spec, arch: model.arch, catalog: AWS_CATALOG, batch: 'free' }, { noSuggestions: true, layouts })
    expect(r.status).toBe('no-fit')
    const g548 = r.rejected.find((x) => x.instanceType === 'g5.48xlarge')!
    expect(g548.nodes).toEqual([1, 1024])
    expect(g548.reason).toMatch(/^needs \d+\.\d GB per GPU, 21\.0 GB usable$/)
    // 1 node and 1024 nodes for each of the 1-, 4- and 8-GPU shapes of g5.
    const held = [...layouts.values()].reduce((n, m) => n + m.size, 0)
    expect(held).toBe(6)
    expect(r.rejected.filter((x) => x.instanceType.startsWith('g5.')).map((x) => x.nodes)).toEqual(Array(8).fill([1, 1024]))
  })
})

describe('layouts shared between searches', () => {
  it('are kept per spec: a suggestion that changes the spec does not read the first search\'s layouts', () => {
    // `plan` shares one cache between the search and its follow-ups; before, "shorter sequences" read the
    // seq_len 8192 layouts and never fitted.
    const { spec, model } = load('model: meta-llama/Meta-Llama-3-8B\nmethod: lora\nseq_len: 8192\ngradient_checkpointing: false\nbatch: { micro: 4 }\nconstraints: { gpus: [A10G], max_nodes: 1 }\n')
    const input = { spec, arch: model.arch, catalog: AWS_CATALOG, batch: 'per-gpu' as const }
    const alone = planFinetune(input)
    const shared = planFinetune(input, { layouts: new Map() })
    expect(alone.status === 'no-fit' && alone.suggestions.some((s) => s.startsWith('shorter sequences (seq_len: 1024): 1 × g5.'))).toBe(true)
    expect(shared.status === 'no-fit' && shared.suggestions).toEqual(alone.status === 'no-fit' && alone.suggestions)
  })
})

describe('a catalog of thousands of regions', () => {
  // The built-in offers again in 2,000 made-up regions at prices 0.80–1.19× theirs: what a user's export of every
  // zone and price history looks like.
  const offers = Array.from({ length: 2000 }, (_, i) => AWS_CATALOG.offers.map((o, j) => ({
    ...o, region: `r${String.fromCharCode(97 + (i % 26))}-zone-${1 + Math.floor(i / 26)}`,
    priceUsdPerHour: o.priceUsdPerHour === null ? null : o.priceUsdPerHour * (0.8 + ((i * 31 + j) % 40) / 100),
  }))).flat()
  const catalog = { ...AWS_CATALOG, offers }
  const loaded = load('model: meta-llama/Meta-Llama-3-70B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1000000000 }\nconstraints: { max_nodes: 64 }\n')
  const { spec, model } = loaded

  it('plans on the cheapest region of the cheapest shape, keeping DEFAULT_KEEP alternatives', () => {
    const r = planFinetune({ spec, arch: model.arch, catalog, batch: 'free' })
    expect(r.status).toBe('fit')
    if (r.status !== 'fit') return
    expect(r.alternatives).toHaveLength(DEFAULT_KEEP)
    // No offer of the chosen shape and node count is cheaper per hour than the chosen one.
    const same = offers.filter((o) => o.instanceType === r.plan.offer.instanceType && o.priceUsdPerHour !== null)
    expect(Math.min(...same.map((o) => o.priceUsdPerHour!))).toBe(r.plan.offer.priceUsdPerHour)
  })

  it('prints rejections bounded: at most 100 lines, each naming 5 regions and how many more', () => {
    const r = planFinetune({ spec, arch: model.arch, catalog, batch: 'free' })
    const text = renderPlan(loaded, r, 5)
    const rejectedLines = text.split('\n').filter((l) => / ×\d+(–\d+)?: /.test(l))
    expect(rejectedLines.length).toBeLessThanOrEqual(100)
    expect(rejectedLines[0]).toMatch(/ \(r[a-z]-zone-\d+(, r[a-z]-zone-\d+){4} and 1,995 more regions\)$/)
    expect(text).toMatch(/^Catalog: .* \(prices as of 20\d\d-\d\d-\d\d\)$/m)
  })
})
