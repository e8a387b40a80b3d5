import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { specIssues } from '../../test/helpers/spec-issues.js'
import { loadSpec } from './load.js'

// A LLaMA-Factory YAML's `deepspeed:` file, read as DeepSpeed reads it (issue #16): never a silent ZeRO-0.
const YAML = 'model_name_or_path: meta-llama/Llama-2-7b-hf\nstage: sft\ndo_train: true\nfinetuning_type: full\nbf16: true\ndeepspeed: ds.json\n'
const issuesOf = (json: string) => specIssues(() => loadSpec(YAML, 'train.yaml', memorySources({ 'ds.json': json })))

describe("a LLaMA-Factory YAML's DeepSpeed config", () => {
  it('a JSON object with none of DeepSpeed\'s keys (a model\'s config.json) is a wrong path, refused at the YAML\'s deepspeed line', () => {
    const [issue] = issuesOf('{"model_type": "llama", "hidden_size": 4096}')
    expect(issue).toMatchObject({ file: 'train.yaml', line: 6, path: 'deepspeed' })
    expect(issue!.message).toBe('"ds.json" is not a DeepSpeed config: none of its keys (model_type, hidden_size) is one DeepSpeed reads')
  })
  it('zero_optimization that is not an object or true/false is refused in the JSON, at its position (config.py:71-78)', () => {
    for (const bad of ['[3]', '3', '"3"', 'null']) {
      const [issue] = issuesOf(`{\n  "zero_optimization": ${bad}\n}`)
      expect(issue).toMatchObject({ file: 'ds.json', line: 2, col: 24, path: 'zero_optimization' })
      expect(issue!.message).toContain('zero_optimization must be an object such as {"stage": 3} (or true/false)')
    }
  })
  it('an empty object is DeepSpeed with its defaults (ZeRO-0), and true is stage 1', () => {
    expect(loadSpec(YAML, 'train.yaml', memorySources({ 'ds.json': '{}' })).spec.deepspeed).toMatchObject({ zero: 0, engine: 'deepspeed' })
    expect(loadSpec(YAML, 'train.yaml', memorySources({ 'ds.json': '{"zero_optimization": true}' })).spec.deepspeed.zero).toBe(1)
  })
})
