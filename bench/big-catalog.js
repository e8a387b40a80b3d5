// A 100,000-row catalog in ftplan's CSV: the built-in offers again and again, each time in another (made-up) region at
// another price, as a user's export of every zone and price history might be. Deterministic.
import { AWS_OFFERS } from '../dist/instances/aws.js'

const COLUMNS = 'provider,region,instance_type,gpu,gpu_count,gpu_mem_gib,vcpus,ram_gib,nvme_gb,network_gbps,efa_interfaces,interconnect,price_ondemand_usd_hr,price_spot_usd_hr'

function region(i) {
  const a = String.fromCharCode(97 + (i % 26))
  const b = String.fromCharCode(97 + (Math.floor(i / 26) % 26))
  const w = String.fromCharCode(97 + (Math.floor(i / 676) % 26))
  return `${a}${b}-zone${w}-${1 + (Math.floor(i / 17576) % 99)}`
}

export function bigCatalogCsv(rows) {
  const priced = AWS_OFFERS.filter((o) => o.priceUsdPerHour !== null)
  const lines = [COLUMNS]
  for (let i = 0; i < rows; i++) {
    const o = priced[i % priced.length]
    const scale = 0.8 + ((i * 7919) % 400) / 1000
    const spot = o.spotPriceUsdPerHour === null ? '' : (o.spotPriceUsdPerHour * scale).toFixed(4)
    lines.push(['aws', region(i), o.instanceType, o.gpu, o.gpuCount, (o.gpuMemoryMiB / 1024).toFixed(3), o.vcpus, o.hostMemoryGiB, o.nvmeGb,
      o.networkGbps ?? '', o.efaInterfaces ?? '', JSON.stringify(o.interconnect), (o.priceUsdPerHour * scale).toFixed(4), spot].join(','))
  }
  return lines.join('\n') + '\n'
}
