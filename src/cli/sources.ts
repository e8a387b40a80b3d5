import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { MODELS } from '../models/catalog.js'
import type { SpecSources } from '../spec/model-ref.js'

/** Spec sources backed by the file system: relative paths resolve from the spec's folder, then the cwd. */
export function fileSources(cwd: string): SpecSources {
  return {
    catalog: MODELS,
    readFile(path, fromFile, wants) {
      const expanded = path.startsWith('~/') || path.startsWith('~\\') ? join(homedir(), path.slice(2)) : path
      const candidates = isAbsolute(expanded) ? [expanded] : [resolve(cwd, dirname(fromFile), expanded), resolve(cwd, expanded)]
      for (const candidate of candidates) {
        const file = wants === 'model-config' && isDirectory(candidate) ? join(candidate, 'config.json') : candidate
        const text = readText(file)
        if (text !== null) return { path: file, text }
      }
      return null
    },
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** The file's text, or null when it does not exist or is not a readable file. */
export function readText(path: string): string | null {
  try {
    return statSync(path).isFile() ? readFileSync(path, 'utf8') : null
  } catch {
    return null
  }
}
