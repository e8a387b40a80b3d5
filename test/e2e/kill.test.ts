import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// Issue #16's kill test: SIGKILL at random moments while `ds-config --launch-dir` and `emit --force` write, each run
// slowed inside its writes (FTPLAN_FAULT_DELAY_MS, write.ts) so the kills land there too. After every kill the output
// folder is the old output or the new one, complete, or the old one set aside by a kill between the two renames; the
// next run puts that back; and after it nothing of ftplan's is left beside the folder.

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = join(root, 'bin', 'ftplan.js')
const KILLS = 10

/** The files of a folder, by path relative to it, with their text and whether they are executable. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out[relative(dir, p)] = `${statSync(p).mode & 0o111 ? 'x' : '-'} ${readFileSync(p, 'utf8')}`
    }
  }
  walk(dir)
  return out
}

function exists(p: string): boolean {
  try {
    statSync(p)
    return true
  } catch {
    return false
  }
}

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const run = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } })

/** Starts a run and kills it after `ms`; resolves once it is gone. */
function killedAfter(cwd: string, args: string[], ms: number): Promise<void> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: 'ignore', env: { ...process.env, FTPLAN_FAULT_DELAY_MS: '25' } })
    const timer = setTimeout(() => child.kill('SIGKILL'), ms)
    child.on('exit', () => {
      clearTimeout(timer)
      done()
    })
  })
}

const SPECS = {
  a: 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\nseq_len: 1024\ntrain: { tokens: 1e6 }\n',
  b: 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\nseq_len: 2048\ntrain: { tokens: 1e6 }\n',
}

const COMMANDS: { name: string; args: (spec: string, out: string) => string[]; refuses: (spec: string, out: string) => string[] }[] = [
  { name: 'ds-config --launch-dir', args: (spec, out) => ['ds-config', spec, '--launch-dir', out, '--force'], refuses: (spec, out) => ['ds-config', spec, '--launch-dir', out] },
  { name: 'emit --force', args: (spec, out) => ['emit', spec, '--out', out, '--force'], refuses: (spec, out) => ['emit', spec, '--out', out] },
]

describe.each(COMMANDS)('SIGKILL during $name', ({ name, args, refuses }) => {
  it(`${KILLS} kills at random moments leave the old or the new output, complete, and nothing else after the next run`, async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'ftplan-kill-'))
    writeFileSync(join(cwd, 'a.yaml'), SPECS.a)
    writeFileSync(join(cwd, 'b.yaml'), SPECS.b)
    // Each spec's output, written without interruption: what "complete" means.
    const whole: Record<string, Record<string, string>> = {}
    for (const s of ['a', 'b']) {
      const r = run(cwd, args(`${s}.yaml`, `ref-${s}`))
      expect(r.status, r.stderr).toBe(0)
      whole[s] = snapshot(join(cwd, `ref-${s}`))
    }
    expect(whole['a']).not.toEqual(whole['b'])
    expect(run(cwd, args('a.yaml', 'out')).status).toBe(0)
    // How long a slowed run takes, to aim the kills over all of it.
    const t0 = Date.now()
    expect(run(cwd, args('b.yaml', 'probe'), { FTPLAN_FAULT_DELAY_MS: '25' }).status).toBe(0)
    const span = Date.now() - t0
    const next = random(16 + name.length)
    let current = 'a'
    const seen = { old: 0, new: 0, aside: 0 }
    for (let k = 0; k < KILLS; k++) {
      const target = current === 'a' ? 'b' : 'a'
      await killedAfter(cwd, args(`${target}.yaml`, 'out'), Math.round(span * (0.4 + 0.9 * next())))
      const aside = readdirSync(cwd).filter((n) => n.startsWith('.ftplan-old-') && n.endsWith('-out'))
      if (exists(join(cwd, 'out'))) {
        const now = snapshot(join(cwd, 'out'))
        expect([whole['a'], whole['b']]).toContainEqual(now)
        if (JSON.stringify(now) === JSON.stringify(whole[target])) {
          seen.new += 1
          current = target
        } else seen.old += 1
      } else {
        // Killed between the two renames: the old output is whole beside it.
        expect(aside).toHaveLength(1)
        expect(snapshot(join(cwd, aside[0]!))).toEqual(whole[current])
        seen.aside += 1
      }
      // The next run, one that refuses to overwrite, first puts back what a killed run set aside.
      const refused = run(cwd, refuses(`${target}.yaml`, 'out'))
      expect(refused.status).toBe(1)
      expect(refused.stderr).not.toMatch(/internal error|\n\s+at /)
      expect(snapshot(join(cwd, 'out'))).toEqual(whole[current])
      expect(readdirSync(cwd).filter((n) => n.startsWith('.ftplan-'))).toEqual([])
    }
    // Then a whole run writes the new output, and nothing else is left.
    expect(run(cwd, args('b.yaml', 'out')).status).toBe(0)
    expect(snapshot(join(cwd, 'out'))).toEqual(whole['b'])
    expect(readdirSync(cwd).sort()).toEqual(['a.yaml', 'b.yaml', 'out', 'probe', 'ref-a', 'ref-b'])
    console.log(`${name}: ${KILLS} kills, the old output after ${seen.old}, the new after ${seen.new}, the old set aside (put back by the next run) after ${seen.aside}`)
    expect(seen.old + seen.new + seen.aside).toBe(KILLS)
  }, 120_000)
})
