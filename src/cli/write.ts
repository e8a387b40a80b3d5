import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs'
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
