import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { parseLocated } from './located.js'
import { loadSpec } from './load.js'

describe('YAML files that are not one spec (issue #16)', () => {
  it("several documents: said in ftplan's words, at the second", () => {
    expect(parseLocated('model: a\n---\nmethod: lora\n', 'spec.yaml').issues).toEqual([{ file: 'spec.yaml', line: 2, col: 1, path: '', message: 'a spec is one YAML document, and this file has more: a line of --- starts the next one; keep one document per file' }])
  })
  it('a Pulumi secret for ftplan:spec is named as one, with the way to keep it plain', () => {
    expect(() => loadSpec('config:\n  ftplan:spec:\n    secure: AAABAGxs\n', 'Pulumi.dev.yaml', memorySources())).toThrow(/config\.ftplan:spec: is a Pulumi secret \(secure: …\), which only the Pulumi CLI can decrypt/)
    expect(() => loadSpec('config:\n  ftplan:spec:\n    secure: AAABAGxs\n', 'Pulumi.dev.yaml', memorySources())).not.toThrow(/unknown key/)
  })
})
