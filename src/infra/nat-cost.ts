/**
 * NAT gateway list prices, USD (Amazon VPC pricing, "NAT Gateway pricing", us-east-1 / us-east-2 / us-west-2 as
 * quoted in 2026: $0.045 per gateway-hour and $0.045 per GB processed), plus the gateway's public IPv4 address
 * ($0.005 per hour, Amazon VPC pricing, "Public IPv4 address"). Other regions differ and are not in this table:
 * ftplan says so instead of guessing.
 */
export const NAT_PRICES: Record<string, { hourly: number; perGb: number }> = {
  'us-east-1': { hourly: 0.045, perGb: 0.045 },
  'us-east-2': { hourly: 0.045, perGb: 0.045 },
  'us-west-2': { hourly: 0.045, perGb: 0.045 },
}
export const PUBLIC_IPV4_HOURLY = 0.005
export const NAT_PRICES_AS_OF = '2026-12'

/**
 * What one node downloads through the NAT: the model's 16-bit weights from the Hugging Face hub and the pip
 * installs (DeepSpeed, LLaMA-Factory and their dependencies, about 3 GB [HEUR]; torch is in the PyTorch DLAMI).
 */
export function natDownloadGb(params: number, nodes: number): number {
  return nodes * (2 * params + 3e9) / 1e9
}

export interface NatCost {
  hourlyUsd: number
  /** Per-GB processing of the downloads natDownloadGb counts. */
  downloadsUsd: number
}

export function natCost(region: string, params: number, nodes: number): NatCost | null {
  const p = NAT_PRICES[region]
  if (!p) return null
  return { hourlyUsd: p.hourly + PUBLIC_IPV4_HOURLY, downloadsUsd: natDownloadGb(params, nodes) * p.perGb }
}
