import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fifo, runCase, type Case } from './run-case.js'

// Issue #16's adversarial suite, output paths: where `ds-config -o`, `ds-config --launch-dir` and `emit --out` may
// write, and what is on disk afterwards. A refusal leaves the folder exactly as it was (run-case.ts).

const SPEC = 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\nseq_len: 1024\ntrain: { tokens: 1e6 }\n'
const DEAD = 2 ** 22 + 12345 // above Linux's pid_max default: no process has it
const LAUNCH = ['.deepspeed_env', 'ds_config.json', 'hostfile', 'launch.sh', 'train.yaml']

const stage = (dir: string): unknown => JSON.parse(readFileSync(join(dir, 'ds_config.json'), 'utf8'))
const isLaunchFolder = (dir: string) => {
  const names = readdirSync(dir)
  expect(names.every((n) => LAUNCH.includes(n))).toBe(true)
  expect(names).toContain('ds_config.json')
  expect(names).toContain('launch.sh')
  expect(statSync(join(dir, 'launch.sh')).mode & 0o111).not.toBe(0)
  expect(stage(dir)).toHaveProperty('zero_optimization')
}

const ds = (name: string, args: string[], code: 0 | 1 | 2, says: RegExp, more: Partial<Case> = {}): Case => ({
  name, files: { 'spec.yaml': SPEC, ...(more.files ?? {}) }, argv: ['ds-config', 'spec.yaml', ...args], code, says, ...(more.setup ? { setup: more.setup } : {}), ...(more.then ? { then: more.then } : {}), ...(more.after ? { after: more.after } : {}),
})

const configFile: Case[] = [
  ds('-o a new file', ['-o', 'ds.json'], 0, /^wrote ds\.json for 1 × /m, { then: (d) => expect(JSON.parse(readFileSync(join(d, 'ds.json'), 'utf8'))).toHaveProperty('train_micro_batch_size_per_gpu') }),
  ds('-o an existing file without --force', ['-o', 'ds.json'], 1, /ds\.json exists; ftplan does not overwrite files without --force/, { files: { 'ds.json': 'mine' } }),
  ds('-o an existing file with --force', ['-o', 'ds.json', '--force'], 0, /^wrote ds\.json/m, { files: { 'ds.json': 'mine' }, then: (d) => expect(readFileSync(join(d, 'ds.json'), 'utf8')).toMatch(/^\{/) }),
  ds('-o a dangling symbolic link', ['-o', 'ds.json'], 1, /ds\.json is a symbolic link, not a regular file; ftplan writes only regular files, even with --force/, { setup: (d) => void symlinkSync('gone.json', join(d, 'ds.json')) }),
  ds('-o a dangling symbolic link, --force', ['-o', 'ds.json', '--force'], 1, /ds\.json is a symbolic link, not a regular file/, { setup: (d) => void symlinkSync('gone.json', join(d, 'ds.json')) }),
  ds('-o a link to a file, --force', ['-o', 'ds.json', '--force'], 1, /ds\.json is a symbolic link/, { files: { 'real.json': 'mine' }, setup: (d) => void symlinkSync('real.json', join(d, 'ds.json')) }),
  ds('-o a FIFO, --force', ['-o', 'ds.json', '--force'], 1, /ds\.json is a FIFO, not a regular file/, { setup: (d) => fifo(join(d, 'ds.json')) }),
  ds('-o /dev/null, --force', ['-o', '/dev/null', '--force'], 1, /\/dev\/null is a device, not a regular file/),
  ds('-o a folder, --force', ['-o', 'out', '--force'], 1, /out is a folder, not a regular file/, { setup: (d) => mkdirSync(join(d, 'out')) }),
  ds('-o in a missing folder', ['-o', 'no/such/ds.json'], 1, /cannot write .*no\/such\/ds\.json: its folder .*no\/such does not exist; create it first/),
  ds('-o an empty name', ['-o', ''], 2, /-o names the file to write; "" is empty/),
  ds('-o a folder path (trailing /)', ['-o', 'out/'], 2, /-o names the file to write; "out\/" is a folder path: give a file name, or --launch-dir for a folder/),
  ds('-o a 240-byte name, valid: its temporary name must not exceed the limit', ['-o', `${'n'.repeat(235)}.json`], 0, /^wrote n+\.json/m, { then: (d) => expect(readdirSync(d).sort()).toEqual([`${'n'.repeat(235)}.json`, 'spec.yaml']) }),
  ds('-o a 300-byte name', ['-o', `${'n'.repeat(295)}.json`], 1, /cannot write .*: a name in the path is too long \(a file name holds at most 255 bytes\)/),
  ds('-o below a file', ['-o', 'f/ds.json'], 1, /cannot write .*f\/ds\.json: a part of .*f is a file, not a folder/, { files: { f: 'x' } }),
]

const launchDir: Case[] = [
  ds('--launch-dir a new folder', ['--launch-dir', 'run'], 0, /^wrote run\/ \(ds_config\.json, launch\.sh/m, { then: (d) => isLaunchFolder(join(d, 'run')) }),
  ds('--launch-dir an empty folder', ['--launch-dir', 'run'], 0, /^wrote run\//m, { setup: (d) => mkdirSync(join(d, 'run')), then: (d) => isLaunchFolder(join(d, 'run')) }),
  ds('--launch-dir a launch folder without --force', ['--launch-dir', 'run'], 1, /run already holds a launch folder; ftplan does not overwrite files without --force/, { files: { 'run/ds_config.json': '{}', 'run/launch.sh': 'old' } }),
  ds('--launch-dir a launch folder with --force', ['--launch-dir', 'run', '--force'], 0, /^wrote run\//m, { files: { 'run/ds_config.json': '{}', 'run/launch.sh': 'old' }, then: (d) => isLaunchFolder(join(d, 'run')) }),
  ds('--launch-dir a folder of other files, --force', ['--launch-dir', 'run', '--force'], 1, /run holds files ftplan did not write \(notes\.txt\); give --launch-dir a new or empty folder/, { files: { 'run/notes.txt': 'mine', 'run/launch.sh': 'old' } }),
  ds('--launch-dir onto a file', ['--launch-dir', 'run'], 1, /run is a file, not a folder; give a new or empty folder/, { files: { run: 'a file' } }),
  ds('--launch-dir a link to a launch folder, --force', ['--launch-dir', 'run', '--force'], 1, /run is a symbolic link; ftplan replaces an output folder whole, which would replace the link, even with --force/, { files: { 'real/ds_config.json': '{}' }, setup: (d) => void symlinkSync('real', join(d, 'run')) }),
  ds('--launch-dir . (the working folder), --force', ['--launch-dir', '.', '--force'], 1, /holds .*, which writing the launch folder there would delete, even with --force/),
  ds('--launch-dir the folder above, --force', ['--launch-dir', '..', '--force'], 1, /which writing the launch folder there would delete/),
  {
    name: '--launch-dir through a link to the working folder, onto the folder holding the spec, --force', files: { 'run/train.yaml': SPEC, 'run/launch.sh': 'old' },
    setup: (d) => void symlinkSync('.', join(d, 'link')), argv: ['ds-config', 'run/train.yaml', '--launch-dir', 'link/run', '--force'], code: 1,
    says: /link\/run holds .*run\/train\.yaml, which writing the launch folder there would delete/,
  },
  ds('--launch-dir an empty name', ['--launch-dir', ''], 2, /--launch-dir names the folder to write; it is empty/),
  ds('--launch-dir a 240-byte name, valid', ['--launch-dir', 'r'.repeat(240)], 0, /^wrote r+\//m, { then: (d) => isLaunchFolder(join(d, 'r'.repeat(240))) }),
  ds('--launch-dir in a missing folder', ['--launch-dir', 'no/such/run'], 1, /cannot write .*no\/such\/run: its folder .*no\/such does not exist; create it first/),
  ds('-o and --launch-dir: the launch folder refused, the config not written either', ['-o', 'ds.json', '--launch-dir', 'run'], 1, /run already holds a launch folder/, { files: { 'run/ds_config.json': '{}' } }),
  ds('-o and --launch-dir: the config refused, the launch folder not written either', ['-o', 'ds.json', '--launch-dir', 'run'], 1, /ds\.json exists; ftplan does not overwrite files without --force/, { files: { 'ds.json': 'mine' } }),
  ds('-o and --launch-dir into a FIFO: neither written', ['-o', 'ds.json', '--launch-dir', 'run', '--force'], 1, /ds\.json is a FIFO, not a regular file/, { setup: (d) => fifo(join(d, 'ds.json')) }),
  ds('-o and --launch-dir, both new', ['-o', 'ds.json', '--launch-dir', 'run'], 0, /^wrote ds\.json and run\//m, { then: (d) => {
    isLaunchFolder(join(d, 'run'))
    expect(readFileSync(join(d, 'ds.json'), 'utf8')).toBe(readFileSync(join(d, 'run', 'ds_config.json'), 'utf8'))
  } }),
  ds("a dead run's temporary folder is removed", ['--launch-dir', 'run'], 0, /^wrote run\//m, { files: { [`.ftplan-tmp-${DEAD}-run/ds_config.json`]: 'half' }, then: (d) => isLaunchFolder(join(d, 'run')) }),
  ds("a dead run's folder set aside is put back, then refused as it was", ['--launch-dir', 'run'], 1, /run already holds a launch folder/, {
    files: { [`.ftplan-old-${DEAD}-run/ds_config.json`]: 'previous' },
    after: { 'run': '/', 'run/ds_config.json': 'previous', 'spec.yaml': SPEC },
  }),
]

const emit = (name: string, args: string[], code: 0 | 1, says: RegExp, more: Partial<Case> = {}): Case => ({
  name, files: { 'spec.yaml': SPEC, ...(more.files ?? {}) }, argv: ['emit', 'spec.yaml', ...args], code, says, ...(more.setup ? { setup: more.setup } : {}), ...(more.then ? { then: more.then } : {}),
})
const isProject = (dir: string) => {
  expect(readdirSync(dir)).toEqual(expect.arrayContaining(['Pulumi.yaml', 'package.json', 'index.ts']))
}
const emitted: Case[] = [
  emit('emit --out a new folder', ['--out', 'infra'], 0, /^wrote infra: a Pulumi project for 1 × /m, { then: (d) => isProject(join(d, 'infra')) }),
  emit('emit --out a folder of files without --force', ['--out', 'infra'], 1, /infra is not empty; ftplan does not overwrite files without --force/, { files: { 'infra/notes.txt': 'mine' } }),
  emit('emit --out a folder of other files with --force: refused, never emptied', ['--out', 'infra', '--force'], 1, /infra holds files ftplan did not write \(notes\.txt\); --force replaces a project ftplan emitted/, { files: { 'infra/notes.txt': 'mine' } }),
  emit('emit --force over an emitted project keeps its stack file and drops its build outputs', ['--out', 'infra', '--force'], 0, /^kept Pulumi\.dev\.yaml from the project it replaces; run npm install && npm run build again$/m, {
    files: { 'infra/Pulumi.yaml': 'old', 'infra/index.ts': 'old', 'infra/index.js': 'built', 'infra/node_modules/x/index.js': 'dep', 'infra/Pulumi.dev.yaml': 'encryptionsalt: v1:abc\n' },
    then: (d) => {
      isProject(join(d, 'infra'))
      expect(readFileSync(join(d, 'infra', 'Pulumi.dev.yaml'), 'utf8')).toBe('encryptionsalt: v1:abc\n')
      expect(readFileSync(join(d, 'infra', 'index.ts'), 'utf8')).not.toBe('old')
      expect(readdirSync(join(d, 'infra'))).not.toContain('node_modules')
    },
  }),
  { name: 'emit --out an empty name', files: { 'spec.yaml': SPEC }, argv: ['emit', 'spec.yaml', '--out', ''], code: 2, says: /--out names the folder to write the project to; it is empty/ },
  emit('emit --force over a project whose Pulumi.dev.yaml is a folder: refused as not ftplan\'s', ['--out', 'infra', '--force'], 1, /infra holds files ftplan did not write \(Pulumi\.dev\.yaml\)/, { files: { 'infra/Pulumi.yaml': 'old', 'infra/Pulumi.dev.yaml/x': 'odd' } }),
  emit('emit --out . --force', ['--out', '.', '--force'], 1, /holds .*, which writing the output there would delete, even with --force; give a new folder/),
  { name: 'emit --out the folder holding the spec, --force', files: { 'infra/spec.yaml': SPEC }, argv: ['emit', 'infra/spec.yaml', '--out', 'infra', '--force'], code: 1, says: /infra holds .*infra\/spec\.yaml, which writing the output there would delete/ },
  emit('emit --out onto a file', ['--out', 'infra'], 1, /infra is a file, not a folder; give a new or empty folder/, { files: { infra: 'a file' } }),
  emit('emit --out a link to a folder, --force', ['--out', 'infra', '--force'], 1, /infra is a symbolic link; ftplan replaces an output folder whole/, { setup: (d) => {
    mkdirSync(join(d, 'real'))
    writeFileSync(join(d, 'real', 'Pulumi.yaml'), 'old')
    symlinkSync('real', join(d, 'infra'))
  } }),
  emit('emit --out a FIFO, --force', ['--out', 'infra', '--force'], 1, /infra is a FIFO, not a folder/, { setup: (d) => fifo(join(d, 'infra')) }),
]

describe('ds-config -o', () => {
  for (const c of configFile) it(c.name, async () => void (await runCase(c)))
})
describe('ds-config --launch-dir', () => {
  for (const c of launchDir) it(c.name, async () => void (await runCase(c)))
})
describe('emit --out', () => {
  for (const c of emitted) it(c.name, async () => void (await runCase(c)))
})
