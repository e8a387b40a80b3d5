import type { NicSpec } from './cluster-types.js'

/**
 * The NICs of one node: every EFA the instance type supports, defined at launch because EFAs cannot be
 * hot-added (dstack#1804). Card 0, device 0 is an EFA carrying the node's static IP; cards 1…N−1 are
 * `efa-only` at device 1, which use no subnet address (the layout of terraform-aws-eks and dstack#2271;
 * pulumi-aws-gpu.md §2.3). Without EFA, one ENA with the IP. No NIC gets a public address: the subnet maps
 * none, and EC2 takes no public address with several NICs.
 */
export function nicLayout(efaInterfaces: number, privateIp: string): NicSpec[] {
  const base = { deleteOnTermination: 'true' } as const
  // The subnet never maps public addresses; a lone NIC also says so itself.
  const lone = { ...base, associatePublicIpAddress: 'false' } as const
  if (efaInterfaces < 1) return [{ networkCardIndex: 0, deviceIndex: 0, ...lone, privateIpAddress: privateIp }]
  if (efaInterfaces === 1) return [{ networkCardIndex: 0, deviceIndex: 0, interfaceType: 'efa', ...lone, privateIpAddress: privateIp }]
  return Array.from({ length: efaInterfaces }, (_, i): NicSpec => i === 0
    ? { networkCardIndex: 0, deviceIndex: 0, interfaceType: 'efa', ...base, privateIpAddress: privateIp }
    : { networkCardIndex: i, deviceIndex: 1, interfaceType: 'efa-only', ...base })
}
