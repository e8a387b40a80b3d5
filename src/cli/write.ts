import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'

/**
 * Writes `text` to `path` atomically (a temporary file beside it, then a rename), so a reader never sees half a
 * file. Refuses to replace an existing file unless `force`; returns the refusal as a message, or null.
 */
export function writeFileAtomic(path: string, text: string, force: boolean): string | null {
  // lstat, not exists: a dangling symbolic link exists too, and renaming over it would replace the link.
  const there = lstatOrNull(path)
  if (there && !there.isFile()) return `${path} is ${kindOf(there)}, not a regular file; ftplan writes only regular files, even with --force: name another path`
  if (there && !force) return `${path} exists; ftplan does not overwrite files without --force`
  recoverLeftovers(path)
  const tmp = join(dirname(path), `.ftplan-tmp-${process.pid}-${basename(path)}`)
  try {
    writeFileSync(tmp, text)
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, { force: true })
    return `cannot write ${path}: ${fsReason(error, path)}`
  }
  return null
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path)
  } catch {
    return null
  }
}

function kindOf(s: Stats): string {
  return s.isSymbolicLink() ? 'a symbolic link' : s.isDirectory() ? 'a folder' : s.isFIFO() ? 'a FIFO' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : s.isSocket() ? 'a socket' : 'not a regular file'
}

/** A filesystem error as what to do about it, naming the user's path, never the temporary one. */
export function fsReason(error: unknown, path: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT': return `its folder ${dirname(path)} does not exist; create it first`
    case 'ENOTDIR': return `a part of ${dirname(path)} is a file, not a folder`
    case 'EACCES':
    case 'EPERM': return `permission denied in ${dirname(path)}`
    case 'EROFS': return `${dirname(path)} is on a read-only filesystem`
    case 'ENOSPC':
    case 'EDQUOT': return `no space left on the device of ${dirname(path)}; nothing was written`
    case 'EISDIR': return `${path} is a folder`
    default: return error instanceof Error ? error.message.replace(/'[^']*\.ftplan-(tmp|old)-[^']*'/g, `'${path}'`) : String(error)
  }
}

/**
 * Writes a folder of files atomically: all of them into a temporary folder beside `dir`, then one rename. Refuses
 * a non-empty `dir` unless `force`, and any `dir` that holds a `protect` path (the spec, the working folder) even with
 * it; returns the refusal or failure as a message, or null.
 */
export function writeDirAtomic(dir: string, files: Record<string, string>, force: boolean, protect: readonly string[] = []): string | null {
  recoverLeftovers(dir)
  const held = heldIn(dir, protect)
  if (held !== undefined && existsSync(dir)) return `${dir} holds ${held}, which writing the output there would delete, even with --force; give a new folder`
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) return `${dir} exists and is not a folder; ftplan does not overwrite files without --force`
    if (readdirSync(dir).length > 0 && !force) return `${dir} is not empty; ftplan does not overwrite files without --force`
  }
  const tmp = join(dirname(dir), `.ftplan-tmp-${process.pid}-${basename(dir)}`)
  const old = join(dirname(dir), `.ftplan-old-${process.pid}-${basename(dir)}`)
  try {
    rmSync(tmp, { recursive: true, force: true })
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tmp, path)), { recursive: true })
      writeFileSync(join(tmp, path), text)
    }
    if (existsSync(dir)) renameSync(dir, old)
    renameSync(tmp, dir)
    rmSync(old, { recursive: true, force: true })
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true })
    if (existsSync(old) && !existsSync(dir)) renameSync(old, dir)
    return `cannot write ${dir}: ${fsReason(error, dir)}`
  }
  return null
}

/**
 * What a killed run left beside `target`: its temporary output is removed, and a folder it had moved aside
 * (`.ftplan-old-*`, between the two renames of writeDirAtomic) is put back when `target` is missing, so the previous
 * output is never lost. Leftovers of a run still alive are not touched.
 */
function recoverLeftovers(target: string): void {
  const parent = dirname(target)
  const name = basename(target)
  let entries: string[]
  try {
    entries = readdirSync(parent)
  } catch {
    return
  }
  for (const entry of entries) {
    const m = /^\.ftplan-(tmp|old)-(\d+)-(.*)$/.exec(entry)
    if (!m || m[3] !== name || alive(Number(m[2]))) continue
    const path = join(parent, entry)
    if (m[1] === 'old' && lstatOrNull(target) === null) renameSync(path, target)
    else rmSync(path, { recursive: true, force: true })
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The first of `protect` (the spec being read, the working folder) that replacing `dir` would delete: `dir` itself or
 * anything below it.
 */
export function heldIn(dir: string, protect: readonly string[]): string | undefined {
  return protect.find((p) => {
    const rel = relative(dir, p)
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
  })
}
