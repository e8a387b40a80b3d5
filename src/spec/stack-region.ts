import type { FinetuneSpec } from './spec.js'

/**
 * A Pulumi stack deploys to its `aws:region`, so a plan for that stack must stay there: the region becomes the
 * spec's only region. A spec whose constraints.regions leave it out contradicts the stack, and that is the
 * problem returned.
 */
export function withStackRegion(spec: FinetuneSpec, region: string): { spec: FinetuneSpec; problem: string | null } {
  const regions = spec.constraints.regions
  if (regions.length > 0 && !regions.includes(region)) {
    return { spec, problem: `the stack deploys to aws:region ${region}, which constraints.regions (${regions.join(', ')}) leaves out` }
  }
  return { spec: { ...spec, constraints: { ...spec.constraints, regions: [region] } }, problem: null }
}
