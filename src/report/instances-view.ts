import { GPU_MODELS } from '../instances/gpus.js'
import type { Catalog } from '../instances/types.js'
import { pricesAsOf, renderTable } from './format.js'

export function renderInstances(catalog: Catalog, region?: string): string {
  const offers = catalog.offers.filter((o) => !region || o.region === region)
  const money = (x: number | null) => (x === null ? 'unpriced' : `$${x.toFixed(3)}`)
  const rows = offers.map((o) => [
    o.instanceType, o.region, o.gpu, String(o.gpuCount), String(o.gpuMemoryMiB), String(GPU_MODELS[o.gpu].marketedMemoryGb), String(o.vcpus),
    String(o.hostMemoryGiB), String(o.nvmeGb), o.networkGbps === null ? '—' : String(o.networkGbps), o.efaInterfaces === null ? '—' : String(o.efaInterfaces),
    money(o.priceUsdPerHour), money(o.spotPriceUsdPerHour),
  ])
  const header = ['instance', 'region', 'GPU', 'GPUs', 'GPU MiB', 'GB (marketed)', 'vCPU', 'RAM GiB', 'NVMe GB', 'Gbps', 'EFA', '$/hour', 'spot $/hour']
  return `${catalog.source}\n${pricesAsOf(catalog.asOf)}; GPU MiB as the provider's API reports it; spot is a per-region median snapshot\n\n` +
    renderTable(header, rows, new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])) + `\n${rows.length} offers${region ? ` in ${region}` : ''}.\n`
}
