import { describe, expect, it } from 'vitest'
import { parseJsonLocated } from './located.js'

// transformers' config.json and DeepSpeed's config are read with Python's json.load (configuration_utils.py
// _dict_from_json_file; deepspeed/runtime/config.py), so what it refuses is refused, at its position (issue #16).
describe('JSON files read as their readers read them', () => {
  it('a // comment is refused where it starts, not merged into the next key', () => {
    const text = '{\n  "model_type": "llama",\n  // a comment\n  "hidden_size": 2048\n}\n'
    const r = parseJsonLocated(text, 'config.json', 'transformers')
    expect(r.root).toBeNull()
    expect(r.issues).toEqual([{ file: 'config.json', line: 3, col: 3, path: '', message: "not valid JSON (Expected double-quoted property name): transformers reads it with Python's json.load, which refuses comments, trailing commas and YAML" }])
  })
  it('YAML text is refused at line 1 (V8 reads "tr" as the start of true, so the bad token is the a)', () => {
    const r = parseJsonLocated('train_batch_size: 8\n', 'ds.json', 'DeepSpeed')
    expect(r.issues[0]).toMatchObject({ line: 1, col: 1, message: expect.stringContaining("not valid JSON (Unexpected token 'a'): DeepSpeed reads it") })
  })
  it("NaN and Infinity, which json.load takes, are accepted", () => {
    const r = parseJsonLocated('{"a": NaN, "b": -Infinity, "c": 1}', 'config.json', 'transformers')
    expect(r.issues).toEqual([])
    expect(r.root?.kind).toBe('map')
  })
  it('valid JSON reads as before, with positions', () => {
    const r = parseJsonLocated('{\n  "hidden_size": 2048\n}', 'config.json', 'transformers')
    expect(r.issues).toEqual([])
    expect(r.root?.kind === 'map' && r.root.entries[0]!.value.pos).toEqual({ line: 2, col: 18 })
  })
})
