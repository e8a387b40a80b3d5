import { ClusterError } from './cluster-error.js'

/**
 * Addresses ftplan owns when it creates the network: a /16 VPC and one /24 private subnet. Node i gets
 * .10 + i, clear of the four addresses AWS reserves at the start of every subnet and the broadcast address at
 * its end (EC2 user guide, "Subnet CIDR blocks"), so the hostfile is known before any instance exists.
 */
export const VPC_CIDR = '10.42.0.0/16'
export const SUBNET_CIDR = '10.42.1.0/24'
const FIRST_NODE_HOST = 10

/** The static private IP of each node, node 0 (the master) first. */
export function nodeIps(subnetCidr: string, nodes: number): string[] {
  const { base, size } = parseCidr(subnetCidr)
  if (FIRST_NODE_HOST + nodes > size - 1) throw new ClusterError(`${subnetCidr} has room for ${size - 1 - FIRST_NODE_HOST} nodes from .${FIRST_NODE_HOST}, not ${nodes}`)
  return Array.from({ length: nodes }, (_, i) => formatIp(base + FIRST_NODE_HOST + i))
}

export function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr)
  if (!m) throw new ClusterError(`${cidr} is not an IPv4 CIDR block such as 10.0.1.0/24`)
  const octets = m.slice(1, 5).map(Number)
  const bits = Number(m[5])
  if (octets.some((o) => o > 255) || bits < 16 || bits > 28) throw new ClusterError(`${cidr}: octets must be 0–255 and the prefix /16–/28 (EC2's subnet range)`)
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0)
  const size = 2 ** (32 - bits)
  if (ip % size !== 0) throw new ClusterError(`${cidr} is not aligned: the network address of a /${bits} ends in a multiple of ${size}`)
  return { base: ip, size }
}

function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')
}
