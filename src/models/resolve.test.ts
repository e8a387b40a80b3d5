import { describe, expect, it } from 'vitest'
import { MODELS } from './catalog.js'
import { lookupModel, shapeKeyOf } from './resolve.js'

describe('lookupModel', () => {
  it.each([
    ['meta-llama/Llama-2-7b-hf', 'meta-llama/Llama-2-7b-hf'],
    ['META-LLAMA/llama-2-7B-HF', 'meta-llama/Llama-2-7b-hf'],
    ['Llama-2-7b-hf', 'meta-llama/Llama-2-7b-hf'],
    ['qwen2.5-7b', 'Qwen/Qwen2.5-7B'],
  ])('finds %s as %s without a note', (query, id) => {
    const r = lookupModel(query, MODELS)
    expect(r).toMatchObject({ found: true, id })
    expect(r.found && r.note).toBeFalsy()
  })

  it.each([
    ['meta-llama/Meta-Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B'],
    ['Qwen2.5-7B-Instruct', 'Qwen/Qwen2.5-7B'],
    ['meta-llama/Llama-3.3-70B', 'meta-llama/Llama-3.3-70B-Instruct'],
    ['google/gemma-3-4b-pt', undefined],
  ])('maps the variant %s to the same shapes (%s), with a note', (query, id) => {
    const r = lookupModel(query, MODELS)
    if (id === undefined) expect(r.found).toBe(false)
    else expect(r).toMatchObject({ found: true, id, note: expect.stringContaining(id) })
  })

  it('unknown ids get the three nearest ids', () => {
    const r = lookupModel('meta-llama/Llama-2-8b-hf', MODELS)
    expect(r.found).toBe(false)
    if (!r.found) expect(r.nearest).toEqual(['meta-llama/Llama-2-7b-hf', 'meta-llama/Llama-2-13b-hf', 'meta-llama/Llama-2-70b-hf'])
    const short = lookupModel('mistral-8b', MODELS)
    if (!short.found) expect(short.nearest[0]).toMatch(/^mistralai\//)
  })

  it('a folder such as models/Llama-2-7b (an organisation the catalog does not know) is matched by its name (issue #15)', () => {
    const r = lookupModel('models/Llama-2-7b', MODELS)
    if (!r.found) expect(r.nearest[0]).toBe('meta-llama/Llama-2-7b-hf')
    expect(r.found).toBe(false)
  })

  it('no two catalog models share a shape key, so variant lookups are unambiguous', () => {
    const keys = Object.keys(MODELS).map(shapeKeyOf)
    expect(new Set(keys).size).toBe(keys.length)
  })
})
