import type { MockPreview } from '../infra/preview.js'

/** The arguments worth a glance per resource: scalars only, without tags, user data and policy documents. */
const SKIP = new Set(['tags', 'userData', 'policy', 'assumeRolePolicy', 'description', 'tagSpecifications', '__defaults'])

function keyArguments(inputs: Record<string, unknown>): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(inputs)) {
    if (SKIP.has(k) || v === undefined || v === null) continue
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') parts.push(`${k}=${v}`)
    else if (k === 'networkInterfaces' && Array.isArray(v)) parts.push(`networkInterfaces=${v.length} (${v.filter((n) => (n as { interfaceType?: string }).interfaceType).length} EFA)`)
    else if (k === 'blockDeviceMappings' && Array.isArray(v)) parts.push(`root=${(v[0] as { ebs?: { volumeSize?: number } }).ebs?.volumeSize ?? '?'} GB gp3 encrypted`)
  }
  const text = parts.join(' ')
  return text.length > 110 ? text.slice(0, 109) + '…' : text
}

export function renderPreview(p: MockPreview, note: string): string {
  const width = Math.max(...p.resources.map((r) => r.type.length))
  const read = p.resources.filter((r) => r.read).length
  const lines = [`Resources: ${p.resources.length - read} to create${read ? `, ${read} to read` : ''}`]
  for (const r of p.resources) lines.push(`  ${r.read ? '>' : '+'} ${r.type.padEnd(width)}  ${r.name}${keyArguments(r.inputs) ? `  ${keyArguments(r.inputs)}` : ''}`)
  const o = p.outputs
  const money = (x: number | null) => (x === null ? 'unknown' : `$${x.toFixed(2)}`)
  lines.push('', 'Outputs:',
    `  instanceType          ${o.instanceType} × ${o.nodes} in ${o.region} (${o.gpus} × ${o.gpuModel}, ${o.market})`,
    `  gpuMemory             ${o.gpuMemoryNeededGb} GB needed of ${o.gpuMemoryAvailableGb} GB usable per GPU`,
    `  hourlyCostUsd         ${money(o.hourlyCostUsd)} on-demand, ${money(o.spotHourlyCostUsd)} spot (catalog of ${o.catalogAsOf})`,
    `  estimatedJobHours     ${o.estimatedJobHours ?? 'no train section in the spec'}`,
    `  estimatedJobCostUsd   ${money(o.estimatedJobCostUsd)}${o.estimatedJobCostUsdRange ? ` (p10–p90 ${money(o.estimatedJobCostUsdRange[0])}–${money(o.estimatedJobCostUsdRange[1])})` : ''}`,
    `  privateIps            ${o.privateIps.join(', ')}`,
    `  natCostUsd            ${o.natHourlyCostUsd === null ? 'no NAT gateway' : `$${o.natHourlyCostUsd.toFixed(3)}/hour while the stack exists, ≈ ${money(o.natDownloadCostUsd)} for the downloads (weights and pip, every node)`}`,
    `  trainCommand          ${o.trainCommand} (on node 0: every node ready, an all-reduce check, then the launch)`,
    `  launchCommand         ${o.launchCommand}`,
    `  bootstrapLog          ${o.bootstrapLog} (and each node's ftplan:bootstrap tag: ready or failed:<step>)`,
    `  maxHours              ${o.maxHours} (every node shuts down and terminates this long after boot)`,
    `  idleMinutes           ${o.idleMinutes === 0 ? 'off' : `${o.idleMinutes} (a node stops when its GPUs stay idle this long after a job)`}`,
    '', note, '')
  return lines.join('\n')
}
