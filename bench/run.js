// `npm run bench`: start-up time of the CLI and throughput of the core, measured, not asserted.
// Targets (README "Performance"): CLI start-up under 150 ms, a spec loaded in under 1 ms.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fileSources } from '../dist/cli/sources.js'
import { MODELS } from '../dist/models/catalog.js'
import { archFromConfig } from '../dist/models/arch.js'
import { countParams } from '../dist/models/params.js'
import { loadSpec } from '../dist/spec/load.js'

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
  time('cli start-up: ftplan --version', 15, () => spawnSync(process.execPath, ['bin/ftplan.js', '--version'], { cwd: root })),
  time('cli: ftplan spec check stacks/Pulumi.example.yaml', 15, () => spawnSync(process.execPath, ['bin/ftplan.js', 'spec', 'check', 'stacks/Pulumi.example.yaml'], { cwd: root })),
]
const text = readFileSync(new URL('../stacks/Pulumi.example.yaml', import.meta.url), 'utf8')
const sources = fileSources(root)
results.push(time('loadSpec (example stack)', 2000, () => loadSpec(text, 'stacks/Pulumi.example.yaml', sources)))
results.push(time('countParams, all 50 catalog models', 200, () => {
  for (const [id, m] of Object.entries(MODELS)) {
    const r = archFromConfig(m.config, id)
    if (r.ok) countParams(r.arch)
  }
}))

console.log('benchmark                                            runs   median ms    max ms')
for (const r of results) console.log(`${r.label.padEnd(52)} ${String(r.runs).padStart(5)} ${r.medianMs.toFixed(3).padStart(11)} ${r.maxMs.toFixed(3).padStart(9)}`)
const rss = process.memoryUsage().rss / 2 ** 20
console.log(`\nresident memory after the runs: ${rss.toFixed(1)} MiB (node ${process.version})`)
