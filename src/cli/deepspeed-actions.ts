import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { checkDsConfig, runFromSpec, type CheckHardware } from '../deepspeed/check.js'
import { argvOf, trainerArgs } from '../deepspeed/hf-args.js'
import { launchFolderFor } from '../deepspeed/launch-folder.js'
import { GPU_MODELS } from '../instances/gpus.js'
import { runPrecision } from '../planner/contract.js'
import { planFinetune } from '../planner/plan.js'
import { checkJson, renderCheck } from '../report/check-view.js'
import { batchMode, planLoaded, readCatalog, type CommandContext } from './plan-command.js'
import { INPUT_LIMITS, readInput, readText } from './sources.js'
import { folderNames, heldIn, recoverLeftovers, someNames, writeOutputs, type Output } from './write.js'
import { gpuVisibleBytes } from '../instances/visible-memory.js'

export interface DsConfigOptions { output?: string; style?: 'hf' | 'deepspeed'; launchDir?: string; catalog?: string; force?: boolean }
export interface CheckOptions { spec: string; plan?: boolean; gpus?: number; gpuMemoryGb?: number; instance?: string; nodes?: number; catalog?: string; json?: boolean }
type Ctx = CommandContext & { stderr(text: string): void }

/** Every file a launch folder can hold (launch-folder.ts). */
const LAUNCH_FILES = ['ds_config.json', 'launch.sh', 'train.yaml', 'hostfile', '.deepspeed_env']

/** `ftplan ds-config`: plan, then write the config (stdout, -o) and the launch folder (--launch-dir). */
export function dsConfigAction(ctx: Ctx, file: string, opts: DsConfigOptions): void {
  if (opts.output !== undefined && (opts.output === '' || /[\\/]$/.test(opts.output))) throw ctx.usageError(`-o names the file to write; ${JSON.stringify(opts.output)} is ${opts.output === '' ? 'empty' : 'a folder path'}: give a file name, or --launch-dir for a folder`)
  if (opts.launchDir === '') throw ctx.usageError('--launch-dir names the folder to write; it is empty')
  if (opts.force && !opts.output && !opts.launchDir) throw ctx.usageError('--force lets -o and --launch-dir replace what they write; without either it has nothing to overwrite')
  const loaded = ctx.readSpec(file)
  const result = planLoaded(loaded, readCatalog(ctx, opts.catalog))
  if (result.status !== 'fit') throw ctx.userError(`nothing fits, so there is no plan to write a config for; \`ftplan plan ${file}\` says why and what would fit`)
  const p = result.plan
  const styleOf = opts.style ?? (loaded.source === 'llamafactory' ? 'hf' : 'deepspeed')
  const lfText = loaded.source === 'llamafactory' ? readText(resolve(ctx.io.cwd, file)) : null
  const folder = launchFolderFor(loaded, p, styleOf, lfText)
  const text = folder.files['ds_config.json']!
  const written: string[] = []
  const output = opts.output ? resolve(ctx.io.cwd, opts.output) : null
  const dir = opts.launchDir ? resolve(ctx.io.cwd, opts.launchDir) : null
  // What a killed run left is put back first, so the checks below see the previous output (write.ts).
  for (const target of [output, dir]) if (target) recoverLeftovers(target)
  // Refuse before writing anything, so a refusal leaves no partial set of files.
  if (output && !opts.force && existsSync(output)) throw ctx.userError(`${output} exists; ftplan does not overwrite files without --force`)
  const protectedPaths = [resolve(ctx.io.cwd, file), ctx.io.cwd]
  const held = dir ? heldIn(dir, protectedPaths) : undefined
  if (dir && held !== undefined && existsSync(dir)) throw ctx.userError(`${dir} holds ${held}, which writing the launch folder there would delete, even with --force; give --launch-dir a new folder`)
  const present = dir ? folderNames(dir) : null
  if (present && 'problem' in present) throw ctx.userError(present.problem)
  if (present) {
    // --force replaces a launch folder ftplan wrote, never a folder that holds anything else.
    const foreign = present.names.filter((name) => !LAUNCH_FILES.includes(name))
    if (foreign.length > 0) throw ctx.userError(`${dir} holds files ftplan did not write (${someNames(foreign)}); give --launch-dir a new or empty folder`)
    if (present.names.length > 0 && !opts.force) throw ctx.userError(`${dir} already holds a launch folder; ftplan does not overwrite files without --force`)
  }
  // Both staged before either is committed: a failure writing one leaves neither (write.ts writeOutputs).
  const outputs: Output[] = []
  if (output) outputs.push({ kind: 'file', path: output, text })
  if (dir) outputs.push({ kind: 'folder', path: dir, files: folder.files, modes: { 'launch.sh': 0o755 } })
  const failure = outputs.length > 0 ? writeOutputs(outputs, true, protectedPaths) : null
  if (failure) throw ctx.userError(failure)
  if (output) written.push(opts.output!)
  if (dir) written.push(`${join(opts.launchDir!, '/')} (${Object.keys(folder.files).join(', ')})`)
  if (!output && !dir) ctx.io.stdout(text)
  else ctx.stderr(`wrote ${written.join(' and ')} for ${p.nodes} × ${p.offer.instanceType} (${p.strategy.gpus} GPUs, ZeRO-${p.strategy.zeroStage}, ${styleOf} style)\n`)
  if (folder.edits.length > 0) {
    ctx.stderr(`${dir ? `${join(opts.launchDir!, 'train.yaml')} is ${file} with these edits` : `${file} needs these edits to run the plan (--launch-dir writes the edited YAML)`}:\n${folder.edits.map((e) => `  ${e.key}: ${e.from === null ? '(unset)' : String(e.from)} → ${e.to === null ? '(removed)' : String(e.to)}   # ${e.why}`).join('\n')}\n`)
  }
  const args = argvOf(trainerArgs(folder.input))
  if (styleOf === 'hf') ctx.stderr(`note: HF Trainer fills the "auto" values from its arguments: ${dir ? 'launch.sh passes' : 'pass'} ${args}\n`)
  else ctx.stderr(`note: under HF Trainer the arguments must agree with the config, or it refuses to start: ${dir ? 'launch.sh passes' : 'pass'} ${args}\n`)
  for (const n of folder.notes) ctx.stderr(`note: ${n}\n`)
}

/** `ftplan check`: DeepSpeed's verdicts on a config, then its memory on the hardware given or planned. */
export function checkAction(ctx: Ctx, configFile: string, opts: CheckOptions): void {
  if (opts.plan && (opts.gpus !== undefined || opts.gpuMemoryGb !== undefined || opts.instance !== undefined)) throw ctx.usageError('--plan takes the hardware from the plan: give it alone, or --instance / --gpus / --gpu-memory-gb without it')
  if (opts.instance && (opts.gpus !== undefined || opts.gpuMemoryGb !== undefined)) throw ctx.usageError('--instance sets the GPUs and their memory: give it alone, or --gpus / --gpu-memory-gb without it')
  if (opts.nodes !== undefined && !opts.instance) throw ctx.usageError('--nodes counts nodes of --instance; without it, give the world size with --gpus')
  if (opts.catalog !== undefined && !opts.plan && !opts.instance) throw ctx.usageError('--catalog is read for --plan or --instance; give one of them, or leave --catalog out')
  const nodes = opts.nodes ?? 1
  const loaded = ctx.readSpec(opts.spec)
  const read = readInput(resolve(ctx.io.cwd, configFile), configFile, INPUT_LIMITS.json)
  if ('problem' in read) throw ctx.userError(read.problem)
  const text = read.text
  // Without an instance, nodes of up to 8 GPUs, the size of AWS's training instances (p4d, p5, g5.48xlarge): the
  // node size sets only the host memory per node, which is not checked when no instance is given.
  let hw: CheckHardware = { gpus: opts.gpus ?? loaded.spec.gpus, gpusPerNode: Math.min(opts.gpus ?? loaded.spec.gpus, 8), gpuMemoryBytes: opts.gpuMemoryGb === undefined ? null : opts.gpuMemoryGb * 1e9, hostMemoryBytes: null }
  let where = `${hw.gpus} GPU${hw.gpus > 1 ? 's' : ''}${opts.gpuMemoryGb ? ` of ${opts.gpuMemoryGb} GB` : ''}`
  let run = runFromSpec(loaded.spec)
  if (opts.plan) {
    const result = planLoaded(loaded, readCatalog(ctx, opts.catalog))
    if (result.status !== 'fit') throw ctx.userError(`nothing fits ${opts.spec}, so there is no plan to check against; \`ftplan plan ${opts.spec}\` says why`)
    const p = result.plan
    hw = { gpus: p.strategy.gpus, gpusPerNode: p.offer.gpuCount, gpuMemoryBytes: gpuVisibleBytes(p.offer), hostMemoryBytes: p.offer.hostMemoryGiB * 2 ** 30 }
    const precision = runPrecision(loaded.spec, p)
    run = { microBatch: p.strategy.microBatch, accumulation: p.strategy.accumulation, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : 'bf16', gradientCheckpointing: p.strategy.gradientCheckpointing }
    where = `the plan, ${p.nodes} × ${p.offer.instanceType} (${hw.gpus} × ${p.offer.gpu})`
  } else if (opts.instance) {
    const offer = readCatalog(ctx, opts.catalog).offers.find((o) => o.instanceType === opts.instance)
    if (!offer) throw ctx.userError(`unknown instance type ${opts.instance}; \`ftplan instances\` lists them`)
    hw = { gpus: offer.gpuCount * nodes, gpusPerNode: offer.gpuCount, gpuMemoryBytes: gpuVisibleBytes(offer), hostMemoryBytes: offer.hostMemoryGiB * 2 ** 30 }
    run = runFromSpec(loaded.spec, GPU_MODELS[offer.gpu].bf16)
    where = `${nodes} × ${offer.instanceType} (${hw.gpus} × ${offer.gpu})`
    // What the spec leaves open (micro-batch, checkpointing) is what ftplan would plan on exactly this hardware.
    const here = planFinetune({ spec: { ...loaded.spec, constraints: { ...loaded.spec.constraints, regions: [], gpus: [], spot: false, maxHourlyUsd: null, budgetUsd: null } }, arch: loaded.model.arch, catalog: { offers: [{ ...offer, priceUsdPerHour: offer.priceUsdPerHour ?? 1 }], source: 'check', asOf: '' }, batch: batchMode(loaded) }, { maxNodes: nodes, onlyNodes: nodes })
    const match = here.status === 'fit' ? here.plan : undefined
    if (match) {
      const precision = runPrecision(loaded.spec, match)
      run = { microBatch: match.strategy.microBatch, accumulation: match.strategy.accumulation, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : 'bf16', gradientCheckpointing: match.strategy.gradientCheckpointing }
      where += ", with ftplan's plan for it"
    }
  }
  const r = checkDsConfig(text, configFile, loaded.spec, loaded.model.arch, hw, run)
  ctx.io.stdout(opts.json ? JSON.stringify(checkJson(configFile, r), null, 2) + '\n' : renderCheck(configFile, where, r))
  if (r.fits === false || r.findings.some((f) => f.verdict === 'error')) ctx.setExitCode(1)
}
