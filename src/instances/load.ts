import { SpecError, type Issue } from '../errors.js'
import { nearChoice } from '../suggest.js'
import { parseCsv, type CsvRecord } from './csv.js'
import { PYTORCH_MIN_COMPUTE_CAPABILITY } from './gpus.js'
import { AWS_REGION_PATTERN, GPU_NAMES, type GpuName } from './names.js'
import type { Catalog, InstanceOffer } from './types.js'

/** ftplan's own catalog CSV: the columns of shared/reference/aws-gpu-catalog.csv (README "Catalogs"). */
export const FTPLAN_COLUMNS = [
  'provider', 'region', 'instance_type', 'gpu', 'gpu_count', 'gpu_mem_gib', 'vcpus', 'ram_gib', 'nvme_gb', 'network_gbps',
  'efa_interfaces', 'interconnect', 'price_ondemand_usd_hr', 'price_spot_usd_hr',
] as const
const FTPLAN_REQUIRED = ['region', 'instance_type', 'gpu', 'gpu_count', 'gpu_mem_gib', 'vcpus', 'ram_gib']

/** SkyPilot's catalog CSV (skypilot-catalog catalogs/vN/aws/vms.csv): one row per availability zone. */
export const SKYPILOT_COLUMNS = ['InstanceType', 'AcceleratorName', 'AcceleratorCount', 'vCPUs', 'MemoryGiB', 'GpuInfo', 'Price', 'SpotPrice', 'Region', 'AvailabilityZone'] as const

/**
 * Reads a user catalog, ftplan's CSV or SkyPilot's (told apart by the header). All or nothing: any bad row
 * throws a SpecError listing every bad row with its line and column.
 */
export function loadCatalog(text: string, file: string): Catalog {
  const parsed = parseCsv(text.replace(/^\uFEFF/, ''))
  const issues: Issue[] = []
  if (parsed.error) throw new SpecError([{ file, line: parsed.error.line, col: 1, path: '', message: parsed.error.message }])
  const [header, ...rows] = parsed.records
  if (!header) throw new SpecError([{ file, line: 1, col: 1, path: '', message: 'the catalog is empty', allowed: `a header row: ${FTPLAN_COLUMNS.join(',')} (or SkyPilot's ${SKYPILOT_COLUMNS.join(',')})` }])
  const names = header.fields.map((f) => f.trim())
  let offers: InstanceOffer[]
  if (SKYPILOT_COLUMNS.every((c) => names.includes(c))) offers = skypilotOffers(rows, names, file, issues)
  else if (FTPLAN_REQUIRED.every((c) => names.includes(c))) offers = ftplanOffers(rows, names, file, issues)
  else {
    const missing = FTPLAN_REQUIRED.filter((c) => !names.includes(c))
    throw new SpecError([{ file, line: header.line, col: 1, path: '', message: `the header is neither ftplan's catalog nor SkyPilot's: missing ${missing.join(', ')}`, allowed: `${FTPLAN_COLUMNS.join(',')} (or SkyPilot's ${SKYPILOT_COLUMNS.join(',')})` }])
  }
  if (issues.length > 0) throw new SpecError(issues)
  if (offers.length === 0) throw new SpecError([{ file, line: header.line, col: 1, path: '', message: 'the catalog has no GPU instance rows' }])
  return { offers, source: `user catalog ${file}`, asOf: 'as given by the user', minComputeCapability: PYTORCH_MIN_COMPUTE_CAPABILITY }
}

interface RowReader {
  text(column: string, required?: boolean): string | undefined
  number(column: string, opts: { required?: boolean; min?: number; integer?: boolean; positive?: boolean }): number | null | undefined
  fail(column: string, message: string, extra?: Partial<Issue>): void
}

const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/

function rowReader(record: CsvRecord, names: string[], file: string, issues: Issue[]): RowReader {
  const get = (column: string) => record.fields[names.indexOf(column)]?.trim() ?? ''
  const fail = (column: string, message: string, extra: Partial<Issue> = {}) => {
    issues.push({ file, line: record.line, col: names.indexOf(column) + 1, path: `column ${column}`, message, ...extra })
  }
  return {
    fail,
    text(column, required = false) {
      const v = get(column)
      if (v === '' && required) {
        fail(column, 'is empty')
        return undefined
      }
      return v
    },
    number(column, { required = false, min = 0, integer = false, positive = false }) {
      const v = get(column)
      if (v === '') {
        if (required) fail(column, 'is empty', { allowed: 'a number' })
        return required ? undefined : null
      }
      // Decimal only: Number() also reads hex (0x10), binary and "Infinity", which no price list means.
      const n = DECIMAL.test(v) ? Number(v) : NaN
      const low = positive ? n <= min : n < min
      if (!Number.isFinite(n) || low || (integer && !Number.isInteger(n))) {
        const bound = `${positive ? '>' : '≥'} ${min}`
        fail(column, `${JSON.stringify(v)} is not ${integer ? 'an integer' : 'a decimal number'} ${bound}`, { allowed: `${integer ? 'an integer' : 'a decimal number'} ${bound}` })
        return undefined
      }
      return n
    },
  }
}

/** "NVIDIA A100 80GB", "a100-80gb", "H100" → ftplan's GPU name; A100 and V100 sizes from the memory. */
export function gpuNameOf(raw: string, memoryMiB: number | null): GpuName | undefined {
  let s = raw.trim().replace(/^nvidia\s+/i, '').replace(/\s*\(.*\)$/, '').replace(/\s+/g, '-').toUpperCase()
  if (s === 'A100' || s === 'V100') {
    if (memoryMiB === null) return undefined
    s = s === 'A100' ? (memoryMiB > 45_000 ? 'A100-80GB' : 'A100-40GB') : memoryMiB > 20_000 ? 'V100-32GB' : 'V100'
  }
  if (s === 'V100-16GB') s = 'V100'
  if (s === 'RTX-PRO-SERVER-6000' || s === 'RTXPRO6000') s = 'RTX-PRO-6000'
  return GPU_NAMES.find((n) => n === s)
}

function checkRegion(r: RowReader, region: string | undefined, column: string): string | undefined {
  if (region === undefined) return undefined
  if (!AWS_REGION_PATTERN.test(region)) {
    r.fail(column, `${JSON.stringify(region)} is not an AWS region name`, { allowed: 'names such as us-east-1' })
    return undefined
  }
  return region
}

function ftplanOffers(rows: CsvRecord[], names: string[], file: string, issues: Issue[]): InstanceOffer[] {
  const out: InstanceOffer[] = []
  // One offer per instance type and region: a repeated identical row is the same offer, a differing one a conflict.
  const seen = new Map<string, string>()
  for (const record of rows) {
    // A short or long row has its fields under the wrong columns: one problem, not one per column.
    if (record.fields.length !== names.length) {
      issues.push({ file, line: record.line, col: 1, path: '', message: `the row has ${record.fields.length} field${record.fields.length === 1 ? '' : 's'} and the header ${names.length}`, allowed: 'one field per header column (quote a field that holds a comma)' })
      continue
    }
    const r = rowReader(record, names, file, issues)
    const before = issues.length
    const provider = r.text('provider') || 'aws'
    if (provider !== 'aws') r.fail('provider', `${JSON.stringify(provider)} is not a provider ftplan plans for`, { allowed: 'aws' })
    const region = checkRegion(r, r.text('region', true), 'region')
    const instanceType = r.text('instance_type', true)
    const gpuCount = r.number('gpu_count', { required: true, min: 0, positive: true })
    const memGib = r.number('gpu_mem_gib', { required: true, min: 0, positive: true })
    const gpuRaw = r.text('gpu', true)
    const gpu = gpuRaw === undefined ? undefined : gpuNameOf(gpuRaw, memGib ? memGib * 1024 : null)
    if (gpuRaw !== undefined && !gpu) {
      const near = nearChoice(gpuRaw.replace(/^nvidia\s+/i, ''), GPU_NAMES)
      r.fail('gpu', `${JSON.stringify(gpuRaw)} is not a GPU ftplan knows`, { allowed: GPU_NAMES.join(', '), ...(near ? { didYouMean: near } : {}) })
    }
    const offer = {
      vcpus: r.number('vcpus', { required: true, min: 0 }), ram: r.number('ram_gib', { required: true, min: 0 }),
      nvme: r.number('nvme_gb', {}), net: r.number('network_gbps', {}), efa: r.number('efa_interfaces', { integer: true }),
      price: r.number('price_ondemand_usd_hr', {}), spot: r.number('price_spot_usd_hr', {}),
    }
    if (issues.length > before || !region || !instanceType || !gpu || gpuCount == null || memGib == null || offer.vcpus == null || offer.ram == null) continue
    const built: InstanceOffer = {
      provider: 'aws', region, instanceType, gpu, gpuCount, gpuMemoryMiB: Math.round(memGib * 1024), vcpus: offer.vcpus, hostMemoryGiB: offer.ram,
      nvmeGb: offer.nvme ?? 0, networkGbps: offer.net ?? null, efaInterfaces: offer.efa ?? null, interconnect: r.text('interconnect') ?? '',
      priceUsdPerHour: offer.price ?? null, spotPriceUsdPerHour: offer.spot ?? null, source: file,
    }
    const key = `${instanceType}@${region}`
    const prior = seen.get(key)
    if (prior === undefined) {
      seen.set(key, JSON.stringify(built))
      out.push(built)
    } else if (prior !== JSON.stringify(built)) {
      r.fail('instance_type', `${instanceType} in ${region} is listed again with different values`, { allowed: 'one row per instance type and region (identical repeats are merged)' })
    }
  }
  return out
}

function skypilotOffers(rows: CsvRecord[], names: string[], file: string, issues: Issue[]): InstanceOffer[] {
  const groups = new Map<string, { offer: InstanceOffer; spots: number[] }>()
  for (const record of rows) {
    const r = rowReader(record, names, file, issues)
    const accelerator = r.text('AcceleratorName')
    if (!accelerator) continue // CPU-only instance types share the file
    const before = issues.length
    const instanceType = r.text('InstanceType', true)
    const region = checkRegion(r, r.text('Region', true), 'Region')
    const count = r.number('AcceleratorCount', { required: true, min: 0 })
    const vcpus = r.number('vCPUs', { required: true, min: 0 })
    const memory = r.number('MemoryGiB', { required: true, min: 0 })
    const price = r.number('Price', {})
    const spot = r.number('SpotPrice', {})
    const info = r.text('GpuInfo') ?? ''
    // A size that does not read as a positive number is no size: it used to plan against NaN GB.
    const size = /SizeInMiB['"]?\s*:\s*([^,}\s]+)/.exec(info)?.[1]
    const mib = size !== undefined && /^\d+(\.\d+)?$/.test(size) && Number(size) > 0 ? size : undefined
    if (!mib) r.fail('GpuInfo', size === undefined ? 'has no MemoryInfo SizeInMiB' : `SizeInMiB ${size} is not a memory size`, { allowed: "SkyPilot's GpuInfo, e.g. {'Gpus': [{'Name': 'H100', 'MemoryInfo': {'SizeInMiB': 81920}}]}" })
    const gpu = gpuNameOf(accelerator, mib ? Number(mib) : null)
    if (!gpu) {
      const near = nearChoice(accelerator, GPU_NAMES)
      r.fail('AcceleratorName', `${JSON.stringify(accelerator)} is not an NVIDIA GPU ftplan knows`, { allowed: GPU_NAMES.join(', '), ...(near ? { didYouMean: near } : {}) })
    }
    if (issues.length > before || !instanceType || !region || !gpu || count == null || vcpus == null || memory == null || !mib) continue
    const key = `${instanceType}@${region}`
    const group = groups.get(key) ?? {
      offer: {
        provider: 'aws', region, instanceType, gpu, gpuCount: count, gpuMemoryMiB: Number(mib), vcpus, hostMemoryGiB: memory, nvmeGb: 0,
        networkGbps: null, efaInterfaces: null, interconnect: '', priceUsdPerHour: price ?? null, spotPriceUsdPerHour: null, source: file,
      } satisfies InstanceOffer,
      spots: [],
    }
    if (group.offer.priceUsdPerHour === null && price != null) group.offer.priceUsdPerHour = price
    if (spot != null) group.spots.push(spot)
    groups.set(key, group)
  }
  // SkyPilot lists spot per zone; the region's figure is their median, as ftplan's built-in catalog.
  return [...groups.values()].map(({ offer, spots }) => ({ ...offer, spotPriceUsdPerHour: spots.length ? median(spots) : null }))
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
