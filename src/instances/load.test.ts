import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SpecError } from '../errors.js'
import { AWS_CATALOG, AWS_OFFERS } from './aws.js'
import { parseCsv } from './csv.js'
import { gpuNameOf, loadCatalog } from './load.js'

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/catalogs/${name}`, import.meta.url), 'utf8')

describe('the built-in AWS catalog', () => {
  it('holds all 242 rows of the reference CSV with their sources and date', () => {
    expect(AWS_OFFERS).toHaveLength(242)
    expect(AWS_CATALOG.asOf).toBe('2026-07-20')
    const p5 = AWS_OFFERS.find((o) => o.instanceType === 'p5.48xlarge' && o.region === 'us-east-1')!
    expect(p5).toMatchObject({ gpu: 'H100', gpuCount: 8, gpuMemoryMiB: 81920, vcpus: 192, hostMemoryGiB: 2048, efaInterfaces: 32, priceUsdPerHour: 55.04, spotPriceUsdPerHour: 31.037 })
    // p5e has no on-demand price anywhere: null, never 0.
    expect(AWS_OFFERS.filter((o) => o.instanceType === 'p5e.48xlarge').every((o) => o.priceUsdPerHour === null)).toBe(true)
  })
})

describe('user catalogs', () => {
  it("reads ftplan's CSV: quoted commas, GPU names in either spelling, empty prices as unpriced", () => {
    const c = loadCatalog(fixture('ftplan-good.csv'), 'good.csv')
    expect(c.offers.map((o) => [o.instanceType, o.gpu, o.priceUsdPerHour, o.spotPriceUsdPerHour])).toEqual([
      ['g6e.xlarge', 'L40S', 1.5, 0.7], ['p5.48xlarge', 'H100', 40, null], ['g5.xlarge', 'A10G', null, null],
    ])
    expect(c.offers[1]!.interconnect).toBe('NVSwitch (NVLink4, 900 GB/s per GPU)')
  })

  it("reads SkyPilot's vms.csv: skips CPU rows, one offer per region, spot = median of the zones", () => {
    const c = loadCatalog(fixture('skypilot-vms.csv'), 'vms.csv')
    expect(c.offers.map((o) => [o.instanceType, o.region, o.gpu, o.gpuCount, o.gpuMemoryMiB, o.priceUsdPerHour, o.spotPriceUsdPerHour])).toEqual([
      ['p4de.24xlarge', 'us-east-1', 'A100-80GB', 8, 81920, 27.44705, (9.7262 + 11.4593) / 2],
      ['g5.12xlarge', 'us-west-2', 'A10G', 4, 22888, 5.672, null],
    ])
  })

  it('a bad row gives file:line and the column; nothing is half-loaded', () => {
    let error: unknown
    try {
      loadCatalog(fixture('ftplan-bad.csv'), 'bad.csv')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SpecError)
    const issues = (error as SpecError).issues
    expect(issues.map((i) => [i.line, i.path])).toEqual([[2, 'column gpu'], [3, 'column region'], [3, 'column gpu_count'], [3, 'column price_ondemand_usd_hr']])
    expect(issues[0]).toMatchObject({ file: 'bad.csv', col: 4, didYouMean: 'L40S' })
  })

  it('a repeated row: identical ones merge into one offer, differing ones are refused at their line (issue #16)', () => {
    const good = fixture('ftplan-good.csv').split('\n')
    const twice = [...good.slice(0, 2), good[1]!, ...good.slice(2)].join('\n')
    expect(loadCatalog(twice, 'c.csv').offers.map((o) => o.instanceType)).toEqual(['g6e.xlarge', 'p5.48xlarge', 'g5.xlarge'])
    const conflicting = [...good.slice(0, 2), good[1]!.replace(',1.50,', ',1.20,'), ...good.slice(2)].join('\n')
    expect(() => loadCatalog(conflicting, 'c.csv')).toThrow(/c\.csv:3:.*g6e\.xlarge in us-east-1 is listed again with different values/)
  })

  it("SkyPilot's GpuInfo without a readable SizeInMiB is refused, never planned as NaN GB (issue #16)", () => {
    const rows = fixture('skypilot-vms.csv').split('\n')
    const head = rows[0]!
    const p4de = rows.find((r) => r.startsWith('p4de'))!
    for (const [size, why] of [["'.'", "SizeInMiB '.' is not a memory size"], ['0', 'SizeInMiB 0 is not a memory size'], ['', 'SizeInMiB']] as const) {
      const row = size === '' ? p4de.replace("'MemoryInfo': {'SizeInMiB': 81920}", "'MemoryInfo': {}") : p4de.replace('81920}', `${size}}`)
      expect(() => loadCatalog(`${head}\n${row}\n`, 'vms.csv')).toThrow(new RegExp(why === 'SizeInMiB' ? 'has no MemoryInfo SizeInMiB' : why.replace(/[.']/g, (c) => `\\${c}`)))
    }
  })

  it('an unknown header, an empty file and an unclosed quote are errors', () => {
    expect(() => loadCatalog('a,b\n1,2\n', 'x.csv')).toThrow(/neither ftplan's catalog nor SkyPilot's/)
    expect(() => loadCatalog('', 'x.csv')).toThrow(/empty/)
    expect(parseCsv('a,"b\n').error).toEqual({ line: 1, message: 'a quoted field is never closed' })
  })

  it('GPU names: NVIDIA spellings, A100/V100 sized by memory', () => {
    expect(gpuNameOf('NVIDIA A100 80GB', null)).toBe('A100-80GB')
    expect(gpuNameOf('A100', 40960)).toBe('A100-40GB')
    expect(gpuNameOf('V100', 32768)).toBe('V100-32GB')
    expect(gpuNameOf('NVIDIA RTX PRO Server 6000 (Blackwell)', null)).toBe('RTX-PRO-6000')
    expect(gpuNameOf('TPU', null)).toBeUndefined()
  })
})
