import { join } from 'node:path'
import * as pulumi from '@pulumi/pulumi'
import { stringify } from 'yaml'
import { fileSources, readText } from '../cli/sources.js'
import { SpecError } from '../errors.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { planLoaded } from '../planner/plan-loaded.js'
import { loadSpec, type LoadedSpec } from '../spec/load.js'
import { withStackRegion } from '../spec/stack-region.js'
import { clusterPlanFor, type ClusterOutputs, type ClusterPlan } from './cluster-plan.js'
import { GpuCluster } from './gpu-cluster.js'
import { readSettings, type ClusterSettings } from './settings.js'

export interface ProgramResult {
  cluster: GpuCluster
  plan: ClusterPlan
  outputs: ClusterOutputs & {
    instanceIds: pulumi.Output<string>[]; privateIps: string[]; ssmCommands: pulumi.Output<string>[]; checkpointBucket: pulumi.Output<string>; startJob: pulumi.Output<string>
  }
}

/**
 * The stack's spec: its stack file when there is one (so errors point at file:line:col), else the
 * `ftplan:spec` config value. Throws one readable message, never a stack trace of ours.
 */
export function stackSpec(cwd: string, stack: string, config: Record<string, string>): LoadedSpec {
  const file = join('stacks', `Pulumi.${stack}.yaml`)
  const text = readText(join(cwd, file))
  const sources = fileSources(cwd)
  try {
    if (text !== null && text.includes('ftplan:spec')) return loadSpec(text, file, sources)
    const raw = config['ftplan:spec']
    if (raw === undefined) throw new Error(`stack ${stack} has no ftplan:spec: put the spec under config: ftplan:spec: in ${file}`)
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      value = raw
    }
    return loadSpec(stringify(value), `${file} (ftplan:spec)`, sources)
  } catch (error) {
    if (error instanceof SpecError) throw new Error(`the spec has problems:\n${error.message}`)
    throw error
  }
}

/** The root program: read the spec and settings from the stack, plan, and create the cluster the plan chose. */
export function ftplanProgram(cwd = process.cwd()): ProgramResult {
  const stack = pulumi.getStack()
  const config = pulumi.runtime.allConfig()
  const ftplanKeys = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith('ftplan:')).map(([k, v]) => [k.slice('ftplan:'.length), v]))
  const { settings, problems } = readSettings(ftplanKeys, stack)
  if (problems.length > 0) throw new Error(`stack ${stack} settings:\n  ${problems.join('\n  ')}`)
  const region = config['aws:region']
  let loaded = stackSpec(cwd, stack, config)
  // A stack file applies its aws:region when it is read; a spec from config gets it here.
  if (region && loaded.source !== 'pulumi-stack') {
    const applied = withStackRegion(loaded.spec, region)
    if (applied.problem) throw new Error(`the spec has problems:\n${applied.problem}`)
    loaded = { ...loaded, spec: applied.spec }
  }
  return buildCluster(loaded, settings, true, region !== undefined && region !== '')
}

/** Plans the spec and creates its cluster; shared by the root program and `ftplan preview`. */
export function buildCluster(loaded: LoadedSpec, settings: ClusterSettings, log = true, inheritProvider = false): ProgramResult {
  const result = planLoaded(loaded, AWS_CATALOG)
  if (result.status !== 'fit') throw new Error(`nothing in the catalog fits this spec:\n  ${result.suggestions.join('\n  ')}\n(\`ftplan plan\` shows every rejected offer)`)
  const plan = clusterPlanFor(loaded, result.plan, settings, AWS_CATALOG.asOf)
  // With the stack's aws:region the plan is in that region, and the stack's own provider (all its aws:* settings) serves.
  const cluster = new GpuCluster(plan.name, { plan, inheritProvider })
  const o = plan.outputs
  // Also in the preview's diagnostics: older CLIs print no outputs on a new stack's first preview (pulumi#10018).
  if (log) pulumi.log.info(`ftplan: ${o.nodes} × ${o.instanceType} in ${o.region} (${o.gpus} × ${o.gpuModel}), $${o.hourlyCostUsd ?? '?'}/hour on-demand` +
    (o.estimatedJobCostUsd !== null ? `; job ≈ ${o.estimatedJobHours} hours, $${o.estimatedJobCostUsd} (${o.market})` : ''))
  const ssmCommands = cluster.instanceIds.map((id) => pulumi.interpolate`${o.ssmSession} --target ${id}`)
  return { cluster, plan, outputs: { ...o, instanceIds: cluster.instanceIds, privateIps: cluster.privateIps, ssmCommands, checkpointBucket: cluster.bucketName, startJob: cluster.startJob } }
}
