// `npm run bench`: start-up time of the CLI and throughput of the core, measured, not asserted.
// Targets (README "Performance"): CLI start-up under 150 ms, a spec loaded in under 1 ms, at least
// 100,000 memory estimates per second, a plan over the whole built-in catalog with every strategy open
// under 100 ms, a 40,000-key mapping read in under 500 ms, `ftplan plan` as a whole process under 3× a bare
// `node -e 0`, and at max_nodes 1024 (issue #16): Llama-3.1-405B full on A10G, which fits nowhere, with its
// suggestions, under 3 s; a 100,000-row catalog read and planned under 5 s; each in under 1 GiB of heap.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fileSources } from '../dist/cli/sources.js'
import { MODELS } from '../dist/models/catalog.js'
import { archFromConfig } from '../dist/models/arch.js'
import { countParams } from '../dist/models/params.js'
import { loadSpec } from '../dist/spec/load.js'
import { parseLocated } from '../dist/spec/located.js'
import { estimateMemory } from '../dist/memory/estimate.js'
import { adapterInputCopyBytes, modelFacts } from '../dist/memory/model-facts.js'
import { strategyFromSpec } from '../dist/memory/strategy.js'
import { planFinetune } from '../dist/planner/plan.js'
import { AWS_CATALOG } from '../dist/instances/aws.js'

const root = fileURLToPath(new URL('../', import.meta.url))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function time(label, runs, fn) {
  const samples = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    fn()
    samples.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return { label, runs, medianMs: median(samples), maxMs: Math.max(...samples) }
}

const results = [
  time('bare node -e 0', 15, () => spawnSync(process.execPath, ['-e', '0'])),
  time('cli: ftplan plan stacks/Pulumi.example.yaml', 10, () => spawnSync(process.execPath, ['bin/ftplan.js', 'plan', 'stacks/Pulumi.example.yaml'], { cwd: root })),
  time('cli start-up: ftplan --version', 15, () => spawnSync(process.execPath, ['bin/ftplan.js', '--version'], { cwd: root })),
  time('cli: ftplan spec check stacks/Pulumi.example.yaml', 15, () => spawnSync(process.execPath, ['bin/ftplan.js', 'spec', 'check', 'stacks/Pulumi.example.yaml'], { cwd: root })),
]
const text = readFileSync(new URL('../stacks/Pulumi.example.yaml', import.meta.url), 'utf8')
const sources = fileSources(root)
results.push(time('loadSpec (example stack)', 2000, () => loadSpec(text, 'stacks/Pulumi.example.yaml', sources)))
// A hostile spec: 40,000 keys in one mapping. Duplicate keys are checked with a Set, so reading stays linear
// (the yaml package's own check compared every pair: 9 s). Target: under 500 ms.
const manyKeys = `x:\n${Array.from({ length: 40_000 }, (_, i) => `  k${i}: ${i}`).join('\n')}\n`
results.push(time('parseLocated, one mapping of 40,000 keys', 3, () => parseLocated(manyKeys, 'many.yaml')))
results.push(time('countParams, all 50 catalog models', 200, () => {
  for (const [id, m] of Object.entries(MODELS)) {
    const r = archFromConfig(m.config, id)
    if (r.ok) countParams(r.arch)
  }
}))

// Estimates per second over a planner-like sweep (ZeRO stage × GPUs × micro-batch × checkpointing), with the
// model facts computed once per adapter regime, as the planner keeps them.
const loaded = loadSpec(text, 'stacks/Pulumi.example.yaml', sources)
const factsFor = [false, true].map((autocast) => modelFacts(loaded.spec, loaded.model.arch, adapterInputCopyBytes(loaded.spec, autocast)))
const base = strategyFromSpec(loaded.spec, loaded.model.arch)
const strategies = []
for (const zeroStage of [0, 1, 2, 3]) for (const gpus of [1, 2, 4, 8, 16]) for (const microBatch of [1, 2, 4, 8]) for (const gradientCheckpointing of [false, true]) {
  strategies.push({ ...base, zeroStage, gpus, microBatch, gradientCheckpointing, offload: 'none' })
}
let reused = 0
const t1 = process.hrtime.bigint()
while (Number(process.hrtime.bigint() - t1) < 2e9) {
  for (const s of strategies) estimateMemory(loaded.spec, loaded.model.arch, s, factsFor[s.zeroStage === 0 ? 1 : 0])
  reused += strategies.length
}
const reusedPerSecond = reused / (Number(process.hrtime.bigint() - t1) / 1e9)
let fresh = 0
const t0 = process.hrtime.bigint()
while (Number(process.hrtime.bigint() - t0) < 1e9) {
  for (const s of strategies) estimateMemory(loaded.spec, loaded.model.arch, s)
  fresh += strategies.length
}
const perSecond = fresh / (Number(process.hrtime.bigint() - t0) / 1e9)

// The planner over the whole built-in catalog, every strategy open (zero, offload, checkpointing, micro-batch
// auto; no region or GPU constraint; 4 nodes), as a spec with a training budget ranks by job cost.
const open = loadSpec('model: meta-llama/Llama-3.1-8B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1e9 }\n', 'open.yaml', sources)
planFinetune({ spec: open.spec, arch: open.model.arch, catalog: AWS_CATALOG, batch: 'free' })
results.push(time('planFinetune, whole catalog, every strategy open', 20, () => planFinetune({ spec: open.spec, arch: open.model.arch, catalog: AWS_CATALOG, batch: 'free' })))

// Bounded work at the documented maximum of max_nodes (issue #16): a search that fits nowhere runs every suggestion's
// search too; the catalog is the built-in offers again in 100,000 made-up regions at other prices (big-catalog.js).
const huge = loadSpec('model: meta-llama/Llama-3.1-405B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1e8 }\nconstraints: { gpus: [A10G], max_nodes: 1024 }\n', 'huge.yaml', sources)
results.push(time('planFinetune, 405B full on A10G, max_nodes 1024', 3, () => planFinetune({ spec: huge.spec, arch: huge.model.arch, catalog: AWS_CATALOG, batch: 'free' })))
let wideStatus = 0
results.push(time('100,000-row catalog read + planned, max_nodes 1024', 3, () => {
  wideStatus ||= spawnSync(process.execPath, ['--max-old-space-size=1024', 'bench/wide-plan.js'], { cwd: root }).status ?? 1
}))

console.log('benchmark                                            runs   median ms    max ms')
for (const r of results) console.log(`${r.label.padEnd(52)} ${String(r.runs).padStart(5)} ${r.medianMs.toFixed(3).padStart(11)} ${r.maxMs.toFixed(3).padStart(9)}`)
console.log(`\nestimateMemory, model facts reused (as the planner does): ${Math.round(reusedPerSecond).toLocaleString('en-US')} estimates/s (target ≥ 100,000)`)
console.log(`estimateMemory, model facts recomputed every call:    ${Math.round(perSecond).toLocaleString('en-US')} estimates/s`)
const bare = results.find((r) => r.label.startsWith('bare')).medianMs
const planCli = results.find((r) => r.label.startsWith('cli: ftplan plan')).medianMs
console.log(`ftplan plan cold start: ${(planCli / bare).toFixed(2)}× a bare node -e 0 (target < 3×)`)
console.log(`100,000-row catalog planned within a 1 GiB heap (node --max-old-space-size=1024): ${wideStatus === 0 ? 'yes' : `no, exit ${wideStatus}`}`)
const rss = process.memoryUsage().rss / 2 ** 20
console.log(`\nresident memory after the runs: ${rss.toFixed(1)} MiB (node ${process.version})`)
