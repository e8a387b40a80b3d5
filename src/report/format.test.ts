import { describe, expect, it } from 'vitest'
import { formatInt } from './format.js'

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
