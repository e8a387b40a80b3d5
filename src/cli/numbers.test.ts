import { describe, expect, it } from 'vitest'
import { ROOT } from '../../test/helpers/run-cli.js'
import { main } from './main.js'
import { decimalInteger, decimalNumber } from './numbers.js'

// Number() reads '0x10' as 16, '0b11' as 3, '' and ' ' as 0 (issue #16): counts take decimal digits only.
describe('numbers on the command line', () => {
  it('counts: decimal digits only', () => {
    expect(decimalInteger('16')).toBe(16)
    for (const v of ['0x10', '0b11', '0o7', '1e3', '8.0', ' 8', '', '+8', '-1', 'Infinity']) expect(decimalInteger(v)).toBeNaN()
  })
  it('amounts: a decimal with an optional exponent', () => {
    expect(decimalNumber('80')).toBe(80)
    expect(decimalNumber('2e8')).toBe(2e8)
    expect(decimalNumber('0.5')).toBe(0.5)
    expect(decimalNumber('.5')).toBe(0.5)
    for (const v of ['0x50', '', ' ', '1e', 'Infinity', 'NaN', '-3', '1,000']) expect(decimalNumber(v)).toBeNaN()
  })
  it('--gpus 0x10 is refused, naming what is allowed; exit 2 like every bad argument', async () => {
    let stderr = ''
    const code = await main(['check', 'test/fixtures/llamafactory-ds/ds_z2_config.json', '--spec', 'test/fixtures/specs/llama2-7b-full.yaml', '--gpus', '0x10', '--gpu-memory-gb', '80'], { stdout: () => {}, stderr: (s) => void (stderr += s), cwd: ROOT, env: {} })
    expect(stderr).toContain("option '--gpus <n>' argument '0x10' is invalid. expected the GPU count, an integer 1..65536.")
    expect(code).toBe(2)
  })
})
