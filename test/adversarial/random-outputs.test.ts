import fc from 'fast-check'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { fifo, listing } from './run-case.js'

// Issue #16: the property test over random specs, run with random output paths. Whatever the spec and whatever is at
// the output path, a command exits 0, 1 or 2 without a crash; a refusal changes nothing; a success writes its output
// at the path and nothing else; and nothing of ftplan's is left behind.

const spec = fc.record({
  model: fc.constantFrom('Qwen/Qwen2.5-0.5B', 'HuggingFaceTB/SmolLM2-360M', 'meta-llama/Llama-3.1-8B', 'no/such-model'),
  method: fc.constantFrom('lora', 'qlora', 'full', 'freeze', 'lorra'),
  seq: fc.constantFrom(512, 2048, 8192, -1, 1e3),
  tokens: fc.constantFrom(null, 1e6, 1e9),
  maxNodes: fc.constantFrom(1, 2, 4),
}).map((s) => `model: ${s.model}\nmethod: ${s.method}\nseq_len: ${s.seq}\n${s.tokens ? `train: { tokens: ${s.tokens} }\n` : ''}constraints: { max_nodes: ${s.maxNodes} }\n`)

type Target = 'missing' | 'empty folder' | 'launch folder' | 'foreign folder' | 'file' | 'dangling link' | 'link to file' | 'link to folder' | 'fifo' | 'missing parent' | 'below a file' | 'working folder'
const TARGETS: Target[] = ['missing', 'empty folder', 'launch folder', 'foreign folder', 'file', 'dangling link', 'link to file', 'link to folder', 'fifo', 'missing parent', 'below a file', 'working folder']

/** Lays out what is at `out` (or its parent); returns the path as the user types it. */
function layout(dir: string, target: Target): string {
  const at = join(dir, 'out')
  switch (target) {
    case 'missing': return 'out'
    case 'empty folder': mkdirSync(at); return 'out'
    case 'launch folder': mkdirSync(at); writeFileSync(join(at, 'ds_config.json'), '{}'); writeFileSync(join(at, 'launch.sh'), 'old'); return 'out'
    case 'foreign folder': mkdirSync(at); writeFileSync(join(at, 'notes.txt'), 'mine'); return 'out'
    case 'file': writeFileSync(at, 'mine'); return 'out'
    case 'dangling link': symlinkSync('gone', at); return 'out'
    case 'link to file': writeFileSync(join(dir, 'real'), 'mine'); symlinkSync('real', at); return 'out'
    case 'link to folder': mkdirSync(join(dir, 'real')); writeFileSync(join(dir, 'real', 'ds_config.json'), '{}'); symlinkSync('real', at); return 'out'
    case 'fifo': fifo(at); return 'out'
    case 'missing parent': return 'no/such/out'
    case 'below a file': writeFileSync(join(dir, 'f'), 'x'); return 'f/out'
    case 'working folder': return '.'
  }
}

const COMMANDS = {
  'ds-config -o': (out: string) => ['ds-config', 'spec.yaml', '-o', out],
  'ds-config --launch-dir': (out: string) => ['ds-config', 'spec.yaml', '--launch-dir', out],
  'emit --out': (out: string) => ['emit', 'spec.yaml', '--out', out],
} as const

describe('random specs with random output paths', () => {
  it('exit 0, 1 or 2; a refusal changes nothing; a success writes only its output; no leftovers (60 runs)', async () => {
    const seen = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(spec, fc.constantFrom(...TARGETS), fc.constantFrom(...(Object.keys(COMMANDS) as (keyof typeof COMMANDS)[])), fc.boolean(), async (text, target, command, force) => {
        const dir = mkdtempSync(join(tmpdir(), 'ftplan-rand-'))
        writeFileSync(join(dir, 'spec.yaml'), text)
        const out = layout(dir, target)
        const before = listing(dir)
        let stderr = ''
        const argv = [...COMMANDS[command](out), ...(force ? ['--force'] : [])]
        const code = await main(argv, { stdout: () => {}, stderr: (s) => void (stderr += s), cwd: dir, env: { HF_HUB_OFFLINE: '1', FTPLAN_CACHE_DIR: join(dir, '.cache') } })
        seen.set(code, (seen.get(code) ?? 0) + 1)
        expect([0, 1, 2], `${argv.join(' ')} onto ${target}:\n${stderr}`).toContain(code)
        expect(stderr).not.toMatch(/internal error|\n\s+at \S+ \(/)
        const now = listing(dir)
        for (const k of Object.keys(now)) if (k === '.cache' || k.startsWith('.cache/')) delete now[k]
        expect(Object.keys(now).filter((k) => k.includes('.ftplan-'))).toEqual([])
        if (code !== 0) {
          expect(now).toEqual(before)
          return
        }
        // A success: the output is where it was asked for, of its kind, and nothing else changed.
        const changed = Object.keys({ ...before, ...now }).filter((k) => before[k] !== now[k])
        const root = out.split('/')[0]!
        expect(changed.every((k) => k === root || k.startsWith(`${root}/`))).toBe(true)
        if (command === 'ds-config -o') expect(JSON.parse(readFileSync(join(dir, out), 'utf8'))).toHaveProperty('zero_optimization')
        else expect(readdirSync(join(dir, out)).length).toBeGreaterThan(0)
      }),
      { numRuns: 60 },
    )
    // Both outcomes happen: some layouts take the output, most hostile ones are refused.
    expect(seen.get(0) ?? 0).toBeGreaterThan(0)
    expect(seen.get(1) ?? 0).toBeGreaterThan(0)
  }, 120_000)
})
