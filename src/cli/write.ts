import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, basename } from 'node:path'

/**
 * Writes `text` to `path` atomically (a temporary file beside it, then a rename), so a reader never sees half a
 * file. Refuses to replace an existing file unless `force`; returns the refusal as a message, or null.
 */
export function writeFileAtomic(path: string, text: string, force: boolean): string | null {
  if (existsSync(path) && !force) return `${path} exists; ftplan does not overwrite files without --force`
  const tmp = join(dirname(path), `.ftplan-tmp-${process.pid}-${basename(path)}`)
  try {
    writeFileSync(tmp, text)
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, { force: true })
    return `cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`
  }
  return null
}

/**
 * Writes a folder of files atomically: all of them into a temporary folder beside `dir`, then one rename. Refuses
 * a non-empty `dir` unless `force`; returns the refusal or failure as a message, or null.
 */
export function writeDirAtomic(dir: string, files: Record<string, string>, force: boolean): string | null {
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
    return `cannot write ${dir}: ${error instanceof Error ? error.message : String(error)}`
  }
  return null
}
