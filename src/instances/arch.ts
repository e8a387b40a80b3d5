/**
 * The CPU architecture of an EC2 instance type. AWS names Graviton families with a `g` right after the
 * generation (EC2 User Guide, "Instance type naming conventions": g5g, c7g, m8g), and Grace-Blackwell ones
 * `-gb…` (p6e-gb200); everything else with a GPU in the catalog is x86_64.
 */
export function cpuArchitecture(instanceType: string): 'x86_64' | 'arm64' {
  const family = instanceType.split('.')[0] ?? ''
  return /^[a-z]+\d+g[a-z]*$/.test(family) || /-gb\d/.test(family) ? 'arm64' : 'x86_64'
}
