import { expect, it } from 'vitest'
import { memorySources } from '../test/helpers/memory-sources.js'
import * as ftplan from './index.js'

it('the library API loads a spec and counts its model without any I/O of its own', () => {
  const loaded = ftplan.loadSpec('model: Qwen/Qwen2.5-7B\nmethod: full\n', 'inline.yaml', memorySources())
  expect(loaded.params.total).toBe(7_615_616_512)
  expect(loaded.trainable.trainable).toBe(7_615_616_512)
  expect(() => ftplan.loadSpec('model: 3\n', 'x.yaml', memorySources())).toThrow(ftplan.SpecError)
})
