import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeDirAtomic, writeFileAtomic } from './write.js'

const dir = () => mkdtempSync(join(tmpdir(), 'ftplan-write-'))

// Outputs land whole or not at all, and only on regular files (issue #16, item 1).
describe('writeFileAtomic', () => {
  it('a dangling symbolic link is not replaced, with or without --force', () => {
    const d = dir()
    const link = join(d, 'out.json')
    symlinkSync(join(d, 'missing.json'), link)
    for (const force of [false, true]) {
      expect(writeFileAtomic(link, '{}', force)).toBe(`${link} is a symbolic link, not a regular file; ftplan writes only regular files, even with --force: name another path`)
      expect(readlinkSync(link)).toBe(join(d, 'missing.json'))
    }
  })
  it('a FIFO and a folder are refused even with --force', () => {
    const d = dir()
    const fifo = join(d, 'pipe')
    execFileSync('mkfifo', [fifo])
    expect(writeFileAtomic(fifo, '{}', true)).toMatch(/pipe is a FIFO, not a regular file/)
    expect(writeFileAtomic(d, '{}', true)).toMatch(/is a folder, not a regular file/)
  })
  it('a regular file: refused without --force, replaced whole with it', () => {
    const d = dir()
    const file = join(d, 'ds.json')
    writeFileSync(file, 'old')
    expect(writeFileAtomic(file, 'new', false)).toBe(`${file} exists; ftplan does not overwrite files without --force`)
    expect(writeFileAtomic(file, 'new', true)).toBeNull()
    expect(readFileSync(file, 'utf8')).toBe('new')
    expect(readdirSync(d)).toEqual(['ds.json'])
  })
  it('a missing folder is named as the user wrote it, never the temporary file', () => {
    const d = dir()
    const file = join(d, 'no', 'such', 'ds.json')
    expect(writeFileAtomic(file, '{}', false)).toBe(`cannot write ${file}: its folder ${join(d, 'no', 'such')} does not exist; create it first`)
  })
})

// `--force` replaces an output folder, never the spec it was planned from or the folder ftplan runs in (issue #16).
describe('output folders that hold the spec or the working folder', () => {
  const cli = async (cwd: string, ...argv: string[]) => {
    const { main } = await import('./main.js')
    let stderr = ''
    const code = await main(argv, { stdout: () => {}, stderr: (s) => void (stderr += s), cwd, env: {} })
    return { code, stderr }
  }
  const SPEC = 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\ntrain: { tokens: 1e6 }\n'
  it('ds-config --launch-dir onto the folder holding the spec (named train.yaml, a launch file) is refused, and the spec stays', async () => {
    const d = dir()
    execFileSync('mkdir', [join(d, 'run')])
    writeFileSync(join(d, 'run', 'train.yaml'), SPEC)
    const r = await cli(d, 'ds-config', 'run/train.yaml', '--launch-dir', 'run', '--force')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${join(d, 'run')} holds ${join(d, 'run', 'train.yaml')}, which writing the launch folder there would delete, even with --force`)
    expect(readFileSync(join(d, 'run', 'train.yaml'), 'utf8')).toBe(SPEC)
  })
  it('emit --out . --force is refused: the working folder is never emptied', async () => {
    const d = dir()
    writeFileSync(join(d, 'spec.yaml'), SPEC)
    writeFileSync(join(d, 'notes.txt'), 'mine')
    const r = await cli(d, 'emit', 'spec.yaml', '--out', '.', '--force')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${d} holds`)
    expect(readdirSync(d).sort()).toEqual(['notes.txt', 'spec.yaml'])
  })
})

// A run killed between writeDirAtomic's two renames leaves the old output as .ftplan-old-<pid>-<name> and no <name>.
describe('leftovers of a killed run', () => {
  const deadPid = 2 ** 22 + 12345 // above Linux's pid_max default: no process has it
  it('the folder moved aside is put back: without --force the previous output is refused as it was, never lost', () => {
    const d = dir()
    mkdirSync(join(d, `.ftplan-old-${deadPid}-run`))
    writeFileSync(join(d, `.ftplan-old-${deadPid}-run`, 'ds_config.json'), 'previous')
    mkdirSync(join(d, `.ftplan-tmp-${deadPid}-run`))
    expect(writeDirAtomic(join(d, 'run'), { 'ds_config.json': 'new' }, false)).toBe(`${join(d, 'run')} is not empty; ftplan does not overwrite files without --force`)
    expect(readdirSync(d)).toEqual(['run'])
    expect(readFileSync(join(d, 'run', 'ds_config.json'), 'utf8')).toBe('previous')
    expect(writeDirAtomic(join(d, 'run'), { 'ds_config.json': 'new' }, true)).toBeNull()
    expect(readFileSync(join(d, 'run', 'ds_config.json'), 'utf8')).toBe('new')
    expect(readdirSync(d)).toEqual(['run'])
  })
  it("a dead run's temporary file is removed; a live run's is left alone", () => {
    const d = dir()
    writeFileSync(join(d, `.ftplan-tmp-${deadPid}-ds.json`), 'half')
    writeFileSync(join(d, `.ftplan-tmp-1-ds.json`), 'pid 1 is alive')
    expect(writeFileAtomic(join(d, 'ds.json'), '{}', false)).toBeNull()
    expect(readdirSync(d).sort()).toEqual(['.ftplan-tmp-1-ds.json', 'ds.json'])
  })
})
