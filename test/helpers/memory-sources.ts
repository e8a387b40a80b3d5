import { MODELS } from '../../src/models/catalog.js'
import type { SpecSources } from '../../src/spec/model-ref.js'

/** Spec sources over in-memory files, keyed by path without a leading `./`; a folder key finds `<folder>/config.json`. */
export function memorySources(files: Record<string, string> = {}): SpecSources {
  return {
    catalog: MODELS,
    readFile(path, _fromFile, wants) {
      const key = path.replace(/^\.\//, '')
      const candidates = wants === 'model-config' ? [key, `${key.replace(/\/$/, '')}/config.json`] : [key]
      for (const c of candidates) if (Object.hasOwn(files, c)) return { path: c, text: files[c]! }
      return null
    },
  }
}
