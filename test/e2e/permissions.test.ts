import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { listing } from '../adversarial/run-case.js'

// Issue #16: a file or folder the user may not read or write is a user error naming the path, never a crash. Root
// reads and writes anything, so as root the command runs as nobody (uid 65534), set by Node itself in the child.

const bin = fileURLToPath(new URL('../../bin/ftplan.js', import.meta.url))
const NOBODY = 65534
const asRoot = process.getuid?.() === 0

function ftplan(cwd: string, ...args: string[]) {
  const drop = asRoot ? `process.setgroups([]); process.setgid(${NOBODY}); process.setuid(${NOBODY});` : ''
  // bin/ftplan.js reads process.argv.slice(2): a placeholder where a script's path would be.
  const code = `${drop} process.argv.splice(1, 0, 'ftplan'); await import(${JSON.stringify(`file://${bin}`)})`
  return spawnSync(process.execPath, ['--input-type=module', '-e', code, ...args], { cwd, encoding: 'utf8', env: { ...process.env, HOME: cwd, FTPLAN_CACHE_DIR: join(cwd, '.cache') } })
}

/** A folder anyone may enter, a readable spec, a folder nobody may write into, and a spec only its owner may read. */
function layout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ftplan-perm-'))
  chmodSync(dir, 0o755)
  writeFileSync(join(dir, 'spec.yaml'), 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\ntrain: { tokens: 1e6 }\n')
  chmodSync(join(dir, 'spec.yaml'), 0o644)
  mkdirSync(join(dir, 'locked'))
  chmodSync(join(dir, 'locked'), 0o555)
  writeFileSync(join(dir, 'secret.yaml'), 'model: Qwen/Qwen2.5-0.5B\n')
  chmodSync(join(dir, 'secret.yaml'), 0o600)
  return dir
}

describe('permission denied', () => {
  const cases: [string, string[], RegExp][] = [
    ['a spec the user may not read', ['spec', 'check', 'secret.yaml'], /^error: secret\.yaml: permission denied$/m],
    ['-o into a folder the user may not write', ['ds-config', 'spec.yaml', '-o', 'locked/ds.json'], /^error: cannot write \S+\/locked\/ds\.json: permission denied in \S+\/locked$/m],
    ['--launch-dir into a folder the user may not write', ['ds-config', 'spec.yaml', '--launch-dir', 'locked/run'], /^error: cannot write \S+\/locked\/run: permission denied in \S+\/locked$/m],
    ['--launch-dir replacing a folder whose parent the user may not write', ['ds-config', 'spec.yaml', '--launch-dir', 'locked', '--force'], /^error: cannot write \S+\/locked: permission denied in /m],
    ['emit --out into a folder the user may not write', ['emit', 'spec.yaml', '--out', 'locked/infra'], /^error: cannot write \S+\/locked\/infra: permission denied in \S+\/locked$/m],
  ]
  for (const [name, args, says] of cases) {
    it(`${name}: exit 1, the path named, nothing written`, () => {
      const dir = layout()
      const before = listing(dir)
      // Owner-only is enough against nobody; a user running the tests as themselves needs no access at all.
      if (!asRoot) chmodSync(join(dir, 'secret.yaml'), 0o000)
      if (args.includes('--force')) chmodSync(dir, 0o555)
      const r = ftplan(dir, ...args)
      chmodSync(dir, 0o755)
      chmodSync(join(dir, 'secret.yaml'), 0o600)
      expect(r.status, r.stderr).toBe(1)
      expect(r.stderr).toMatch(says)
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
      expect(listing(dir)).toEqual(before)
    })
  }
})
