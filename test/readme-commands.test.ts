import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli/main.js'
import { ROOT } from './helpers/run-cli.js'

// Every `$ npx ftplan …` example of the README runs as written in a fresh copy of the files it names (issue #15), with the
// exit code its output implies; a block printed whole must be the output exactly, and a shortened one ("…") must show
// its lines in order. Commands that write (a launch folder, an emitted project, a stack's lock) write into the copy.
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const examples = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].flatMap(([, body]) => {
  const lines = body!.split('\n')
  return lines.flatMap((line, i) => {
    const m = /^\$ npx ftplan (.*)$/.exec(line)
    if (!m) return []
    const end = lines.findIndex((l, j) => j > i && l.startsWith('$ '))
    const output = lines.slice(i + 1, end < 0 ? undefined : end).join('\n').replace(/\n+$/, '')
    return [{ command: m[1]!, output }]
  })
})
const quickStart = /npm ci && npx ftplan (\S+ \S+)/.exec(readme)?.[1]

const work = mkdtempSync(join(tmpdir(), 'ftplan-readme-'))
for (const dir of ['stacks', 'examples', 'test/fixtures']) cpSync(join(ROOT, dir), join(work, dir), { recursive: true })
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function run(command: string): Promise<{ code: number; out: string }> {
  let out = ''
  // the README's arguments have no quoting: words split on spaces
  const code = await main(command.split(' '), { stdout: (s) => void (out += s), stderr: (s) => void (out += s), cwd: work })
  return { code, out: out.replace(/\n+$/, '') }
}

describe('the README\'s commands run as written', () => {
  it('finds the examples, the quick start\'s among them', () => {
    expect(examples.length).toBeGreaterThanOrEqual(17)
    expect(quickStart).toBe('plan stacks/Pulumi.example.yaml')
  })

  it.each(examples.map((e) => [e.command, e]))('npx ftplan %s', async (_c, e) => {
    const r = await run(e.command)
    const failed = /^error: |^Nothing fits\.|\nNothing fits\./.test(e.output) || e.output.includes('\nerror: ')
    expect(r.code, r.out).toBe(failed ? 1 : 0)
    const trimmed = (text: string) => text.split('\n').map((l) => l.trimEnd())
    const shown = trimmed(e.output)
    const out = trimmed(r.out)
    if (!e.output.includes('…')) {
      expect(out.join('\n')).toBe(shown.join('\n'))
      return
    }
    // "…" on a line of its own skips output lines; inside a line it skips part of that line
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    let at = 0
    for (const line of shown.filter((l) => l.trim() !== '…')) {
      const pattern = new RegExp(`^${line.split('…').map(escape).join('.*?')}$`)
      const found = out.findIndex((o, i) => i >= at && pattern.test(o))
      expect(found, `README line not in the output, or out of order: ${line}`).toBeGreaterThanOrEqual(0)
      at = found + 1
    }
  }, 60_000)
})
