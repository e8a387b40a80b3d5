import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative } from 'node:path'

/** One output of a command: a file, or a folder of files (`modes`: permission bits of some of them, e.g. launch.sh). */
export type Output =
  | { kind: 'file'; path: string; text: string }
  | { kind: 'folder'; path: string; files: Record<string, string>; modes?: Record<string, number> }

/**
 * Writes a command's outputs so that none is half-written and none replaced until every one is ready: each is staged
 * beside its target (a temporary file or folder), then committed by rename. A file target must be a regular file, a
 * folder target a real folder (not a link to one), else it is refused even with `force`; an existing one is replaced
 * only with `force`; a folder holding one of `protect` (the spec, the working folder) never. Leftovers of a killed run
 * are recovered first (recoverLeftovers). Returns the refusal or failure as a message naming the user's path, or null.
 *
 * Replacing a folder takes two renames (the old one aside, the new one in), since POSIX rename cannot swap two
 * folders; a kill between them leaves the old one as .ftplan-old-<pid>-<name>, which the next run puts back.
 */
export function writeOutputs(outputs: readonly Output[], force: boolean, protect: readonly string[] = []): string | null {
  for (const o of outputs) {
    recoverLeftovers(o.path)
    const refusal = o.kind === 'file' ? fileRefusal(o.path, force) : folderRefusal(o.path, force, protect)
    if (refusal) return refusal
  }
  const staged: { o: Output; tmp: string }[] = []
  const unstage = () => {
    for (const { tmp } of staged) removeQuietly(tmp)
  }
  for (const o of outputs) {
    const tmp = sibling(o.path, 'tmp')
    staged.push({ o, tmp })
    try {
      if (o.kind === 'file') writeFileSync(tmp, o.text)
      else {
        removeQuietly(tmp)
        mkdirSync(tmp)
        for (const [name, text] of Object.entries(o.files)) {
          mkdirSync(dirname(join(tmp, name)), { recursive: true })
          writeFileSync(join(tmp, name), text)
          if (o.modes?.[name] !== undefined) chmodSync(join(tmp, name), o.modes[name])
          faultPause()
        }
      }
    } catch (error) {
      unstage()
      return `cannot write ${o.path}: ${fsReason(error, o.path)}`
    }
    faultPause()
  }
  // Folders first: their two renames are the commit that can fail halfway, and a file not yet renamed is still whole.
  for (const { o, tmp } of [...staged].sort((a, b) => Number(a.o.kind === 'file') - Number(b.o.kind === 'file'))) {
    const old = sibling(o.path, 'old')
    try {
      if (o.kind === 'folder' && existsSync(o.path)) {
        renameSync(o.path, old)
        faultPause()
      }
      renameSync(tmp, o.path)
      removeQuietly(old)
    } catch (error) {
      unstage()
      try {
        if (existsSync(old) && !existsSync(o.path)) renameSync(old, o.path)
      } catch {
        // Left as .ftplan-old-*: the next run puts it back (recoverLeftovers).
      }
      return `cannot write ${o.path}: ${fsReason(error, o.path)}`
    }
  }
  return null
}

/** Writes one file atomically (writeOutputs). */
export function writeFileAtomic(path: string, text: string, force: boolean): string | null {
  return writeOutputs([{ kind: 'file', path, text }], force)
}

/** Writes one folder of files atomically (writeOutputs). */
export function writeDirAtomic(dir: string, files: Record<string, string>, force: boolean, protect: readonly string[] = []): string | null {
  return writeOutputs([{ kind: 'folder', path: dir, files }], force, protect)
}

function fileRefusal(path: string, force: boolean): string | null {
  // lstat, not exists: a dangling symbolic link exists too, and renaming over it would replace the link.
  const there = lstatOrNull(path)
  if (there && !there.isFile()) return `${path} is ${kindOf(there)}, not a regular file; ftplan writes only regular files, even with --force: name another path`
  if (there && !force) return `${path} exists; ftplan does not overwrite files without --force`
  return null
}

function folderRefusal(dir: string, force: boolean, protect: readonly string[]): string | null {
  const there = lstatOrNull(dir)
  if (!there) return null
  const held = heldIn(dir, protect)
  if (held !== undefined) return `${dir} holds ${held}, which writing the output there would delete, even with --force; give a new folder`
  if (there.isSymbolicLink()) return `${dir} is a symbolic link; ftplan replaces an output folder whole, which would replace the link, even with --force: give the folder it points to, or a new one`
  if (!there.isDirectory()) return `${dir} is ${kindOf(there)}, not a folder; give a new or empty folder`
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    return `cannot write ${dir}: ${fsReason(error, dir)}`
  }
  if (names.length > 0 && !force) return `${dir} is not empty; ftplan does not overwrite files without --force`
  return null
}

/**
 * The names in folder `dir`, for a command whose --force replaces only a folder ftplan wrote (a launch folder, an
 * emitted project): null when `dir` is not a real folder, which writeOutputs refuses with its own reason.
 */
export function folderNames(dir: string): { names: string[] } | { problem: string } | null {
  if (lstatOrNull(dir)?.isDirectory() !== true) return null
  try {
    return { names: readdirSync(dir) }
  } catch (error) {
    return { problem: `cannot write ${dir}: ${fsReason(error, dir)}` }
  }
}

/** A few names for a message: the first five, then an ellipsis. */
export function someNames(names: readonly string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`
}

/** Removes a temporary file or folder; one that cannot be removed (its folder gone, not a folder) is left to recoverLeftovers. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true })
  } catch {
    // nothing to clean where nothing could be written
  }
}

function sibling(path: string, kind: 'tmp' | 'old'): string {
  return join(dirname(path), `.ftplan-${kind}-${process.pid}-${tagOf(basename(path))}`)
}

/**
 * The name a sibling carries: the target's own, or for a name near the 255-byte limit of a file name (where the
 * prefix would push it over), a hash of it, so a valid target name never fails for its temporary one.
 */
function tagOf(name: string): string {
  if (Buffer.byteLength(name) <= 200) return name
  let h = 5381
  for (const ch of name) h = ((h * 33) ^ ch.codePointAt(0)!) >>> 0
  return `#${h.toString(16)}`
}

/**
 * FTPLAN_FAULT_DELAY_MS: milliseconds to wait after each file staged and between a folder's two renames, so a test
 * can kill a run inside its writes (test/e2e/kill.test.ts). Unset, nothing waits.
 */
function faultPause(): void {
  const ms = Number(process.env['FTPLAN_FAULT_DELAY_MS'] ?? 0)
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path)
  } catch {
    return null
  }
}

function kindOf(s: Stats): string {
  return s.isSymbolicLink() ? 'a symbolic link' : s.isDirectory() ? 'a folder' : s.isFIFO() ? 'a FIFO' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : s.isSocket() ? 'a socket' : s.isFile() ? 'a file' : 'not a regular file'
}

/**
 * A filesystem error as what to do about it, naming the user's path, never the temporary one. `reading`: the path is
 * an input (the reasons speak of the file); otherwise an output (they speak of its folder, where ftplan writes).
 */
export function fsReason(error: unknown, path: string, reading = false): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT': return reading ? 'no such file' : `its folder ${dirname(path)} does not exist; create it first`
    case 'ENOTDIR': return `a part of ${dirname(path)} is a file, not a folder`
    case 'EACCES':
    case 'EPERM': return reading ? 'permission denied' : `permission denied in ${dirname(path)}`
    case 'ELOOP': return 'a loop of symbolic links'
    case 'EROFS': return `${dirname(path)} is on a read-only filesystem`
    case 'ENOSPC':
    case 'EDQUOT': return `no space left on the device of ${dirname(path)}; nothing was written`
    case 'EISDIR': return `${path} is a folder`
    case 'ENAMETOOLONG': return 'a name in the path is too long (a file name holds at most 255 bytes)'
    default: return error instanceof Error ? error.message.replace(/'[^']*\.ftplan-(tmp|old)-[^']*'/g, `'${path}'`) : String(error)
  }
}

/**
 * What a killed run left beside `target`: its temporary output is removed, and a folder it had moved aside
 * (`.ftplan-old-*`, between the two renames of writeDirAtomic) is put back when `target` is missing, so the previous
 * output is never lost. Leftovers of a run still alive are not touched.
 */
export function recoverLeftovers(target: string): void {
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
    if (!m || m[3] !== tagOf(name) || alive(Number(m[2]))) continue
    const path = join(parent, entry)
    try {
      if (m[1] === 'old' && lstatOrNull(target) === null) renameSync(path, target)
      else removeQuietly(path)
    } catch {
      // What cannot be put back stays, named .ftplan-old-*, for the user; the write goes on beside it.
    }
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
  // Compared as written and as the filesystem resolves them: `--launch-dir link/run`, with link → ., holds ./run too.
  const real = (p: string) => {
    try {
      return realpathSync(p)
    } catch {
      return p
    }
  }
  const below = (d: string, p: string) => {
    const rel = relative(d, p)
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
  }
  return protect.find((p) => below(dir, p) || below(real(dir), real(p)))
}
