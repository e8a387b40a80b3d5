import { describe, expect, it } from 'vitest'
import { formatCount, formatInt } from './format.js'

describe('formatInt', () => {
  it('groups thousands with commas, as en-US does', () => {
    expect(formatInt(0)).toBe('0')
    expect(formatInt(999)).toBe('999')
    expect(formatInt(1000)).toBe('1,000')
    expect(formatInt(104_202)).toBe('104,202')
    expect(formatInt(-1_234_567)).toBe('-1,234,567')
    expect(formatInt(12_345_678_901)).toBe('12,345,678,901')
    expect(formatInt(1234.5)).toBe((1234.5).toLocaleString('en-US'))
  })
})

describe('formatCount', () => {
  it('three significant digits in the largest unit that rounds to at least 1', () => {
    expect(formatCount(134_515_008)).toBe('135M')
    expect(formatCount(494_032_768)).toBe('494M')
    expect(formatCount(8_030_261_248)).toBe('8.03B')
    // Gemma-3-1B: 999,885,952 parameters round to 1000M, which is 1.00B (issue #15: it printed "1.00e+3M")
    expect(formatCount(999_885_952)).toBe('1.00B')
    expect(formatCount(405_853_388_800)).toBe('406B')
    expect(formatCount(999)).toBe('999')
    expect(formatCount(41_943_040)).toBe('41.9M')
  })
})
