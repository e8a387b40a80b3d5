import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The installed entry point (bin/ftplan.js → dist/), as a user runs it after `npm ci` (which builds).
const root = fileURLToPath(new URL('../../', import.meta.url))
const ftplan = (...args: string[]) => spawnSync(process.execPath, ['bin/ftplan.js', ...args], { cwd: root, encoding: 'utf8' })

describe('bin/ftplan.js', () => {
  it('checks the example stack and exits 0', () => {
    const r = ftplan('spec', 'check', 'stacks/Pulumi.example.yaml')
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('meta-llama/Llama-3.1-8B (llama): 8,030,261,248 parameters')
  })

  it('stops quietly when the reader closes the pipe early (ftplan instances --json | head -1)', () => {
    // 106 kB is more than a pipe holds, so the writer is still writing when head exits
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" bin/ftplan.js instances --json | head -1`], { cwd: root, encoding: 'utf8' })
    expect(r.stdout).toBe('{\n')
    expect(r.stderr).toBe('')
  })

  it('sets the process exit code for user and usage errors', () => {
    expect(ftplan('spec', 'check', 'test/fixtures/specs/unknown-model.yaml').status).toBe(1)
    expect(ftplan('frobnicate').status).toBe(2)
  })

  it('never loads @pulumi on a path that does not provision: the static import graph of the CLI', () => {
    // Static imports load at start-up; provisioning code may only be reached through a dynamic import().
    const seen = new Set<string>()
    const packages = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, 'utf8')
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
        const spec = (m[1] ?? m[2])!
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec))
        else packages.add(spec)
      }
    }
    visit(resolve(root, 'bin/ftplan.js'))
    expect(seen.size).toBeGreaterThan(10)
    expect([...packages].filter((p) => p.startsWith('@pulumi'))).toEqual([])
    expect([...packages].filter((p) => !p.startsWith('node:')).sort()).toEqual(['commander', 'yaml'])
  })
})
