import { existsSync, lstatSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { AWS_CATALOG } from '../instances/aws.js'
import { ClusterError } from '../infra/cluster-error.js'
import { clusterPlanFor, type ClusterPlan } from '../infra/cluster-plan.js'
import { COMPONENT_FILES, emittedProject } from '../infra/emit.js'
import { describeLock, lockFileName, lockText, parseLock, stackFingerprint, type StackInputs } from '../infra/lock.js'
import { inputsOf, stackName } from './lock-actions.js'
import { readSettings, type ClusterSettings } from '../infra/settings.js'
import { planLoaded } from '../planner/plan-loaded.js'
import { renderPreview } from '../report/preview-view.js'
import type { Candidate } from '../planner/plan.js'
import type { LoadedSpec } from '../spec/load.js'
import type { CommandContext } from './plan-command.js'
import { parse } from 'yaml'
import { entry, parseLocated } from '../spec/located.js'
import { readText } from './sources.js'
import { folderNames, fsReason, heldIn, someNames, writeDirAtomic, writeFileAtomic } from './write.js'

/** A Pulumi stack file's inputs, read once (null for other spec files), and its `ftplan:*` settings, validated. */
function stackOf(ctx: CommandContext, file: string, loaded: LoadedSpec): { inputs: StackInputs | null; settings: ClusterSettings } {
  const text = loaded.source === 'pulumi-stack' ? readText(resolve(ctx.io.cwd, file)) ?? '' : null
  const inputs = text === null ? null : inputsOf(ctx, file, text)
  const { settings, problems } = readSettings(inputs && text !== null ? { ...inputs.settings, ...settingsAsWritten(text) } : {}, stackName(file))
  if (problems.length > 0) {
    throw ctx.userError(`${problems.length} problem${problems.length === 1 ? '' : 's'} in the stack settings of ${file}:\n  ${atTheirKeys(problems, text ?? '', file).join('\n  ')}`)
  }
  return { inputs, settings }
}

/**
 * The stack file's `ftplan:*` scalars as written, as Pulumi hands them to the program (strings): `1e400` stays `1e400`,
 * where a YAML number would be Infinity and echo as null.
 */
function settingsAsWritten(text: string): Record<string, string> {
  try {
    const doc = parse(text, { schema: 'failsafe' }) as { config?: Record<string, unknown> } | null
    return Object.fromEntries(Object.entries(doc?.config ?? {}).filter(([k, v]) => k.startsWith('ftplan:') && k !== 'ftplan:spec' && typeof v === 'string').map(([k, v]) => [k.slice('ftplan:'.length), v as string]))
  } catch {
    return {}
  }
}

/**
 * Each settings problem at the line of the first `ftplan:<key>` it names, in file order: every problem names the
 * setting it is about (infra/settings.ts), so the user finds them all at once, top to bottom.
 */
function atTheirKeys(problems: string[], text: string, file: string): string[] {
  const root = parseLocated(text, file).root
  const config = root?.kind === 'map' ? entry(root, 'config')?.value : undefined
  return problems.map((p) => {
    const key = /ftplan:([A-Za-z]+)/.exec(p)?.[1]
    const pos = key && config?.kind === 'map' ? entry(config, `ftplan:${key}`)?.keyPos : undefined
    return { line: pos?.line ?? 0, text: pos ? `${file}:${pos.line}:${pos.col}: ${p}` : `${file}: ${p}` }
  }).sort((a, b) => a.line - b.line).map((x) => x.text)
}

function fitOrThrow(ctx: CommandContext, file: string, loaded: LoadedSpec) {
  const result = planLoaded(loaded, AWS_CATALOG)
  if (result.status !== 'fit') throw ctx.userError(`nothing fits, so there is nothing to provision; \`ftplan plan ${file}\` says why and what would fit`)
  return result.plan
}

/** The cluster's own checks (addresses that do not fit the subnet, user data over 16 KB) are the user's to fix. */
async function userFacing<T>(ctx: CommandContext, file: string, build: () => T | Promise<T>): Promise<T> {
  try {
    return await build()
  } catch (error) {
    if (error instanceof ClusterError) throw ctx.userError(`${file}: ${error.message}`)
    throw error
  }
}

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)))
}

/** What `npm install && npm run build` makes in an emitted project: replaced with it, made again by the user. */
const BUILD_OUTPUTS = ['node_modules', 'package-lock.json', 'index.js', 'index.js.map', 'index.d.ts']

/**
 * `emit --force` replaces a project ftplan emitted, never a folder of other files; the Pulumi stack files `pulumi stack
 * init` made in it (Pulumi.<stack>.yaml) are copied into the new project, into `files`. Returns the names kept.
 */
function keptFromProject(ctx: CommandContext, dir: string, files: Record<string, string>): string[] {
  const present = folderNames(dir)
  if (present === null) return []
  if ('problem' in present) throw ctx.userError(present.problem)
  const { names } = present
  const emitted = new Set(Object.keys(files).map((f) => f.split('/')[0]!))
  const stackFiles = /^Pulumi\.[^/]+\.ya?ml$/
  const isStackFile = (n: string) => stackFiles.test(n) && lstatSync(join(dir, n), { throwIfNoEntry: false })?.isFile() === true
  const foreign = names.filter((n) => !emitted.has(n) && !BUILD_OUTPUTS.includes(n) && !isStackFile(n))
  if (foreign.length > 0) {
    throw ctx.userError(`${dir} holds files ftplan did not write (${someNames(foreign)}); --force replaces a project ftplan emitted, with its build outputs and stack files, never other files: emit into a new folder, or move them out`)
  }
  const kept = names.filter((n) => isStackFile(n) && !emitted.has(n))
  for (const n of kept) {
    try {
      files[n] = readFileSync(join(dir, n), 'utf8')
    } catch (error) {
      throw ctx.userError(`cannot keep ${join(dir, n)} in the new project: ${fsReason(error, join(dir, n))}; move it out, or emit into a new folder`)
    }
  }
  return kept
}

export async function emitProject(ctx: CommandContext, file: string, opts: { out: string; force?: boolean }): Promise<void> {
  if (opts.out === '') throw ctx.usageError('--out names the folder to write the project to; it is empty')
  const loaded = ctx.readSpec(file)
  const { settings } = stackOf(ctx, file, loaded)
  const plan = fitOrThrow(ctx, file, loaded)
  const lfText = loaded.source === 'llamafactory' ? readText(resolve(ctx.io.cwd, file)) : null
  const cluster = await userFacing(ctx, file, () => clusterPlanFor(loaded, plan, settings, AWS_CATALOG.asOf, lfText))
  const files = emittedProject(cluster)
  // the compiled files (dist/ is two levels up from src/cli and dist/cli alike); their source maps stay behind
  for (const name of COMPONENT_FILES) files[`ftplan/${name}`] = readFileSync(new URL(`../../dist/infra/${name}`, import.meta.url), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n')
  const dir = resolve(ctx.io.cwd, opts.out)
  const protect = [resolve(ctx.io.cwd, file), ctx.io.cwd]
  // A folder holding the spec or the working folder is refused whole by writeDirAtomic, with its own reason.
  const kept = opts.force && heldIn(dir, protect) === undefined ? keptFromProject(ctx, dir, files) : []
  const failure = writeDirAtomic(dir, files, opts.force === true, protect)
  if (failure) throw ctx.userError(failure)
  if (kept.length > 0) ctx.io.stdout(`kept ${kept.join(', ')} from the project it replaces; run npm install && npm run build again\n`)
  const o = cluster.outputs
  ctx.io.stdout(`wrote ${opts.out}: a Pulumi project for ${o.nodes} × ${o.instanceType} in ${o.region} (${o.gpus} × ${o.gpuModel}), $${o.hourlyCostUsd?.toFixed(2) ?? '?'}/hour on-demand` +
    `${o.estimatedJobCostUsd !== null ? `, job ≈ ${o.estimatedJobHours} hours, $${o.estimatedJobCostUsd.toFixed(2)}` : ''}\nnext: cd ${opts.out} && npm install && npm run build && pulumi stack init dev && pulumi preview\n`)
}

export async function previewStack(ctx: CommandContext, file: string, opts: { json?: boolean }): Promise<void> {
  const loaded = ctx.readSpec(file)
  const { inputs, settings } = stackOf(ctx, file, loaded)
  fitOrThrow(ctx, file, loaded)
  const pinned = inputs ? pinnedPlan(ctx, file, inputs) : null
  const { mockPreview } = await import('../infra/preview.js')
  // As the root program: a stack with aws:region uses the stack's own provider (spec/load.ts kept the plan in that region).
  const preview = await userFacing(ctx, file, () => mockPreview(loaded, settings, loaded.stackRegion !== undefined, pinned))
  if (opts.json) {
    ctx.io.stdout(JSON.stringify({ version: 1, resources: preview.resources, outputs: preview.outputs }, null, 2) + '\n')
    return
  }
  const stack = loaded.source === 'pulumi-stack' ? stackName(file) : null
  ctx.io.stdout(renderPreview(preview, onPath('pulumi')
    ? `pulumi is installed: \`pulumi preview${stack ? ` -s ${stack}` : ''}\` shows the real plan with your AWS credentials${stack ? '' : ' (put the spec under ftplan:spec in a stack file first)'}`
    : `no pulumi CLI here: this is the program run against mocks; with the CLI and AWS credentials, \`pulumi preview -s ${stack ?? '<stack>'}\` shows the real plan`))
}

/**
 * `ftplan plan <stack file> --update`: plan as the root program does and pin the result beside the stack file, where
 * `pulumi up` reads it. Returns the line to print.
 */
export async function pinStackPlan(ctx: CommandContext, file: string, loaded: LoadedSpec, plan: Candidate, catalogAsOf: string): Promise<string> {
  const { inputs, settings } = stackOf(ctx, file, loaded)
  if (inputs === null) throw ctx.userError(`--update pins the plan of a Pulumi stack file (stacks/Pulumi.<stack>.yaml), which \`pulumi up\` reads; ${file} is not one`)
  const cluster = await userFacing(ctx, file, () => clusterPlanFor(loaded, plan, settings, catalogAsOf))
  const lockFile = join(dirname(file), lockFileName(stackName(file)))
  const text = lockText(cluster, stackFingerprint(inputs.spec, inputs.settings, inputs.awsRegion), new Date())
  // ftplan's own file, replaced on purpose: that is what --update asks for.
  const failure = writeFileAtomic(resolve(ctx.io.cwd, lockFile), text, true)
  if (failure) throw ctx.userError(failure)
  const o = cluster.outputs
  return `pinned: ${lockFile} now holds ${o.nodes} × ${o.instanceType} in ${o.region}; \`pulumi up -s ${stackName(file)}\` creates exactly that (commit it with the stack file)\n`
}

/** The stack's pinned plan, as the root program takes it: none without a lock; a refusal when the stack changed since. */
function pinnedPlan(ctx: CommandContext, file: string, inputs: StackInputs): ClusterPlan | null {
  const lockFile = join(dirname(file), lockFileName(stackName(file)))
  const text = readText(resolve(ctx.io.cwd, lockFile))
  if (text === null) return null
  const lock = parseLock(text, lockFile)
  if (typeof lock === 'string') throw ctx.userError(lock)
  if (lock.fingerprint !== stackFingerprint(inputs.spec, inputs.settings, inputs.awsRegion)) {
    throw ctx.userError(`the spec or settings of ${file} changed since ${lockFile} pinned its plan (${describeLock(lock)}): \`pulumi up\` refuses it too; re-plan with \`ftplan plan ${file} --update\``)
  }
  return lock.plan
}
