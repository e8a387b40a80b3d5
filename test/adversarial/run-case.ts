import { execFileSync } from 'node:child_process'
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { expect } from 'vitest'
import { main } from '../../src/cli/main.js'

/**
 * One hostile case for the CLI (issue #16's adversarial suite): files laid out in a fresh folder, the command run
 * there in process, then its exit code, its message and the folder afterwards asserted.
 */
export interface Case {
  name: string
  /** Files to create, by path relative to the folder; a Buffer is written as bytes. */
  files?: Record<string, string | Buffer>
  /** Anything files cannot say: FIFOs, symbolic links, folders. */
  setup?: (dir: string) => void
  argv: string[]
  code: 0 | 1 | 2
  /** What the output must match: stdout and stderr together (check and plan report on stdout and exit 1). */
  says: RegExp
  /**
   * The folder afterwards, as listing() gives it. Absent: for a refusal (exit 1 or 2), exactly what it was before,
   * since a refused command changes nothing.
   */
  after?: Record<string, string>
  /** Further checks of the folder afterwards, for outputs whose text the case does not spell out. */
  then?: (dir: string) => void
}

/** Every entry below `dir`: a file as its text, a link as `-> target`, a folder as `/`, anything else by its kind. */
export function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(dir, path))
      if (st.isSymbolicLink()) out[path] = `-> ${readlinkSync(join(dir, path))}`
      else if (st.isDirectory()) {
        out[path] = '/'
        walk(path)
      } else if (st.isFIFO()) out[path] = '(fifo)'
      else out[path] = readFileSync(join(dir, path), 'utf8')
    }
  }
  walk('')
  return out
}

export function fifo(path: string): void {
  execFileSync('mkfifo', [path])
}

export async function runCase(c: Case): Promise<{ dir: string; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ftplan-adv-'))
  for (const [path, content] of Object.entries(c.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  c.setup?.(dir)
  const before = listing(dir)
  let stdout = ''
  let stderr = ''
  // Offline, with a cache of its own: no case reaches the network or another case's files.
  const env = { HF_HUB_OFFLINE: '1', FTPLAN_CACHE_DIR: join(dir, '.cache') }
  const code = await main(c.argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd: dir, env })
  expect(`${code}`, `${c.name}\nstdout: ${stdout.slice(0, 2000)}\nstderr: ${stderr}`).toBe(`${c.code}`)
  // Never a crash: no exit 70, no stack trace, whatever the input.
  expect(stderr).not.toMatch(/internal error|\n\s+at \S+ \(/)
  expect(stdout + stderr).toMatch(c.says)
  const now = listing(dir)
  delete now['.cache']
  for (const k of Object.keys(now)) if (k.startsWith('.cache/')) delete now[k]
  expect(now).toEqual(c.after ?? (c.code === 0 ? now : before))
  c.then?.(dir)
  // Nothing of ftplan's own is left beside the outputs.
  expect(Object.keys(now).filter((k) => /(^|\/)\.ftplan-(tmp|old)-/.test(k))).toEqual([])
  return { dir, stdout, stderr }
}
