import { join } from 'node:path'
import * as pulumi from '@pulumi/pulumi'
import { parse, stringify } from 'yaml'
import { fileSources, readText } from '../cli/sources.js'
import { writeFileAtomic } from '../cli/write.js'
import { SpecError } from '../errors.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { planLoaded } from '../planner/plan-loaded.js'
import { loadSpec, type LoadedSpec } from '../spec/load.js'
import { withStackRegion } from '../spec/stack-region.js'
import { clusterPlanFor, type ClusterOutputs, type ClusterPlan } from './cluster-plan.js'
import { GpuCluster } from './gpu-cluster.js'
import { describeLock, lockFileName, lockText, parseLock, stackFingerprint, stackInputs } from './lock.js'
import { readSettings, type ClusterSettings } from './settings.js'

export interface ProgramResult {
  cluster: GpuCluster
  plan: ClusterPlan
  outputs: ClusterOutputs & {
    instanceIds: pulumi.Output<string>[]; privateIps: string[]; ssmCommands: pulumi.Output<string>[]; checkpointBucket: pulumi.Output<string>; startJob: pulumi.Output<string>
  }
}

const stackFile = (stack: string) => join('stacks', `Pulumi.${stack}.yaml`)

/**
 * The stack's spec: its stack file when there is one (so errors point at file:line:col), else the
 * `ftplan:spec` config value. Throws one readable message, never a stack trace of ours.
 */
export function stackSpec(cwd: string, stack: string, config: Record<string, string>, text = readText(join(cwd, stackFile(stack)))): LoadedSpec {
  const file = stackFile(stack)
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

/** The stack file's `config:` mapping (its text, as read), or Pulumi's config when the program runs without one. */
function stackConfig(text: string | null, config: Record<string, string>): Record<string, unknown> {
  if (text === null || !text.includes('ftplan:spec')) return config
  try {
    const doc = parse(text) as { config?: Record<string, unknown> } | null
    return doc?.config ?? config
  } catch {
    return config
  }
}

/**
 * The root program: the stack's pinned plan when its lock matches the stack's inputs; otherwise plan the spec, create
 * the cluster the plan chose, and on `pulumi up` pin it (stacks/Pulumi.<stack>.lock.json), so the next run creates the
 * same cluster whatever the catalog says by then.
 */
export function ftplanProgram(cwd = process.cwd()): ProgramResult {
  const stack = pulumi.getStack()
  const config = pulumi.runtime.allConfig()
  const ftplanKeys = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith('ftplan:')).map(([k, v]) => [k.slice('ftplan:'.length), v]))
  const { settings, problems } = readSettings(ftplanKeys, stack)
  if (problems.length > 0) throw new Error(`stack ${stack} settings:\n  ${problems.join('\n  ')}`)
  const region = config['aws:region']
  const inherit = region !== undefined && region !== ''
  const text = readText(join(cwd, stackFile(stack)))
  const inputs = stackInputs(stackConfig(text, config))
  const fingerprint = stackFingerprint(inputs.spec, inputs.settings, inputs.awsRegion)
  const lockFile = join('stacks', lockFileName(stack))
  const locked = readText(join(cwd, lockFile))
  if (locked !== null) {
    const lock = parseLock(locked, lockFile)
    if (typeof lock === 'string') throw new Error(lock)
    if (lock.fingerprint !== fingerprint) {
      throw new Error(`the spec or ftplan:* settings of stack ${stack} changed since its plan was pinned (${lockFile}: ${describeLock(lock)}).\n` +
        `Re-plan on purpose with \`ftplan plan stacks/Pulumi.${stack}.yaml --update\` (a running cluster whose type, nodes or user data change is replaced), or undo the change.`)
    }
    pulumi.log.info(`ftplan: the pinned plan of ${lockFile}: ${describeLock(lock)}; \`ftplan plan stacks/Pulumi.${stack}.yaml --update\` re-plans`)
    return clusterFromPlan(lock.plan, true, inherit)
  }
  let loaded = stackSpec(cwd, stack, config, text)
  // A stack file applies its aws:region when it is read; a spec from config gets it here.
  if (region && loaded.source !== 'pulumi-stack') {
    const applied = withStackRegion(loaded.spec, region)
    if (applied.problem) throw new Error(`the spec has problems:\n${applied.problem}`)
    loaded = { ...loaded, spec: applied.spec }
  }
  const result = buildCluster(loaded, settings, true, inherit)
  if (pulumi.runtime.isDryRun()) {
    pulumi.log.info(`ftplan: this plan is not pinned yet: \`pulumi up\` pins it to ${lockFile} (or \`ftplan plan stacks/Pulumi.${stack}.yaml --update\` now)`)
  } else {
    const failure = writeFileAtomic(join(cwd, lockFile), lockText(result.plan, fingerprint, new Date()), false)
    pulumi.log.info(failure ? `ftplan: could not pin the plan: ${failure}` : `ftplan: pinned the plan to ${lockFile}; commit it with the stack file`)
  }
  return result
}

/** Plans the spec and creates its cluster; shared by the root program and `ftplan preview`. */
export function buildCluster(loaded: LoadedSpec, settings: ClusterSettings, log = true, inheritProvider = false): ProgramResult {
  const result = planLoaded(loaded, AWS_CATALOG)
  if (result.status !== 'fit') throw new Error(`nothing in the catalog fits this spec:\n  ${result.suggestions.join('\n  ')}\n(\`ftplan plan\` shows every rejected offer)`)
  return clusterFromPlan(clusterPlanFor(loaded, result.plan, settings, AWS_CATALOG.asOf), log, inheritProvider)
}

/** Creates the cluster a plan describes. With the stack's aws:region the stack's own provider (all its aws:* settings) serves. */
export function clusterFromPlan(plan: ClusterPlan, log = true, inheritProvider = false): ProgramResult {
  const cluster = new GpuCluster(plan.name, { plan, inheritProvider })
  const o = plan.outputs
  // Also in the preview's diagnostics: older CLIs print no outputs on a new stack's first preview (pulumi#10018).
  if (log) pulumi.log.info(`ftplan: ${o.nodes} × ${o.instanceType} in ${o.region} (${o.gpus} × ${o.gpuModel}), $${o.hourlyCostUsd ?? '?'}/hour on-demand` +
    (o.estimatedJobCostUsd !== null ? `; job ≈ ${o.estimatedJobHours} hours, $${o.estimatedJobCostUsd} (${o.market})` : ''))
  const ssmCommands = cluster.instanceIds.map((id) => pulumi.interpolate`${o.ssmSession} --target ${id}`)
  return { cluster, plan, outputs: { ...o, instanceIds: cluster.instanceIds, privateIps: cluster.privateIps, ssmCommands, checkpointBucket: cluster.bucketName, startJob: cluster.startJob } }
}
