import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { MODELS } from '../models/catalog.js'
import type { SpecSources } from '../spec/model-ref.js'
import { hubCachePath, hubRef, hubSettings } from './hub.js'

/** Spec sources backed by the file system: relative paths resolve from the spec's folder, then the cwd. */
export function fileSources(cwd: string, env: Readonly<Record<string, string | undefined>> = process.env): SpecSources {
  const hub = hubSettings(env)
  return {
    catalog: MODELS,
    // As the user would type them: relative to the working folder where they are inside it.
    triedPaths: (path, fromFile) => [...new Set(candidatesFor(cwd, path, fromFile).map((p) => {
      const rel = relative(cwd, p)
      return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p
    }))],
    readFile(path, fromFile, wants) {
      for (const candidate of candidatesFor(cwd, path, fromFile)) {
        const file = wants === 'model-config' && isDirectory(candidate) ? join(candidate, 'config.json') : candidate
        const text = readText(file)
        if (text !== null) return { path: file, text }
      }
      // A Hub id fetched before (cli/hub.ts): its config.json from ftplan's cache.
      const ref = wants === 'model-config' ? hubRef(path) : null
      if (ref) {
        const cached = hubCachePath(hub, ref.repo, ref.revision)
        const text = readText(cached)
        if (text !== null) return { path: cached, text, origin: `config.json of ${ref.repo} (revision ${ref.revision}) from ${hub.endpoint}, cached at ${cached}` }
      }
      return null
    },
  }
}

/** Where a relative path may be: beside the spec, then in the working folder. */
function candidatesFor(cwd: string, path: string, fromFile: string): string[] {
  const expanded = path.startsWith('~/') || path.startsWith('~\\') ? join(homedir(), path.slice(2)) : path
  return isAbsolute(expanded) ? [expanded] : [resolve(cwd, dirname(fromFile), expanded), resolve(cwd, expanded)]
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
