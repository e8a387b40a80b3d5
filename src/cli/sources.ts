import { readFileSync, statSync, type Stats } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { MODELS } from '../models/catalog.js'
import type { SpecSources } from '../spec/model-ref.js'
import { hubCachePath, hubRef, hubSettings } from './hub.js'
import { fsReason } from './write.js'

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
      for (const { file, read } of readsOf(cwd, path, fromFile, wants)) if ('text' in read) return { path: file, text: read.text }
      // A Hub id fetched before (cli/hub.ts): its config.json from ftplan's cache.
      const ref = wants === 'model-config' ? hubRef(path) : null
      if (ref) {
        const cached = hubCachePath(hub, ref.repo, ref.revision)
        const text = readText(cached)
        if (text !== null) return { path: cached, text, origin: `config.json of ${ref.repo} (revision ${ref.revision}) from ${hub.endpoint}, cached at ${cached}` }
      }
      return null
    },
    whyNot(path, fromFile, wants) {
      for (const { read } of readsOf(cwd, path, fromFile, wants)) if ('problem' in read && !read.problem.endsWith(': no such file')) return read.problem
      return null
    },
  }
}

/** Each place `path` may be, read: a folder named for a model's config stands for the config.json in it. */
function* readsOf(cwd: string, path: string, fromFile: string, wants: 'model-config' | 'json'): Generator<{ file: string; read: ReturnType<typeof readInput> }> {
  for (const candidate of candidatesFor(cwd, path, fromFile)) {
    const file = wants === 'model-config' && isDirectory(candidate) ? join(candidate, 'config.json') : candidate
    yield { file, read: readInput(file, file, wants === 'json' ? INPUT_LIMITS.json : INPUT_LIMITS.modelConfig) }
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

/** The most ftplan reads of one input: far above any real one, far below what would take long to parse. */
export const INPUT_LIMITS = {
  spec: { bytes: 2 ** 20, what: 'a spec' },
  catalog: { bytes: 64 * 2 ** 20, what: 'a catalog' },
  json: { bytes: 2 ** 20, what: 'a DeepSpeed config' },
  modelConfig: { bytes: 2 ** 20, what: "a model's config.json" },
} as const

/**
 * A user's input file as text, or what is wrong with it in words that name what the path is: missing, a folder, a
 * pipe, standard input, a device, unreadable, or larger than ftplan reads (`limit`).
 */
export function readInput(path: string, shown: string, limit: { bytes: number; what: string }): { text: string } | { problem: string } {
  const stdin = /^(-|\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0)$/.test(shown)
  if (shown === '-') return { problem: `- (standard input): ftplan reads ${limit.what} from a file, not from standard input; save it to a file and name that` }
  let st: Stats
  try {
    st = statSync(path)
  } catch (error) {
    return { problem: `${shown}: ${fsReason(error, path, true)}` }
  }
  const kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe (FIFO)' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : null
  if (kind) return { problem: `${shown} is ${stdin ? `standard input, ${kind}` : kind}, not a file; ftplan reads ${limit.what} from a regular file${stdin ? ': save it to a file and name that' : ''}` }
  if (st.size > limit.bytes) return { problem: `${shown} is ${mib(st.size)}; ftplan reads ${limit.what} of at most ${mib(limit.bytes)} (a real one is far smaller): is it the right file?` }
  try {
    return { text: readFileSync(path, 'utf8') }
  } catch (error) {
    return { problem: `${shown}: ${fsReason(error, path, true)}` }
  }
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`
}
