import { chmodSync, existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { checkDsConfig, runFromSpec, type CheckHardware } from '../deepspeed/check.js'
import { argvOf, trainerArgs } from '../deepspeed/hf-args.js'
import { launchFolderFor } from '../deepspeed/launch-folder.js'
import { GPU_MODELS } from '../instances/gpus.js'
import { runPrecision } from '../planner/contract.js'
import { renderCheck } from '../report/check-view.js'
import { planLoaded, readCatalog, type CommandContext } from './plan-command.js'
import { readText } from './sources.js'
import { writeDirAtomic, writeFileAtomic } from './write.js'

const int = (label: string) => (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 65_536) throw new InvalidArgumentError(`expected ${label}, an integer 1..65536.`)
  return n
}
const gbArg = (value: string): number => {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0 || n > 10_000) throw new InvalidArgumentError('expected a size in GB, e.g. 80.')
  return n
}
const style = (value: string): 'hf' | 'deepspeed' => {
  if (value !== 'hf' && value !== 'deepspeed') throw new InvalidArgumentError('expected hf or deepspeed.')
  return value
}

export function addDeepSpeedCommands(program: Command, ctx: CommandContext & { stderr(text: string): void }): void {
  program
    .command('ds-config')
    .description('write the DeepSpeed config for the chosen plan (the same bucket sizes the estimate used), and optionally a launch folder that starts it')
    .argument('<spec>', 'spec file')
    .option('-o, --output <file>', 'write the config here (atomically) instead of printing it')
    .option('--style <style>', 'deepspeed: fully explicit (default for ftplan specs); hf: "auto" where HF Trainer / LLaMA-Factory fill values in (default for LLaMA-Factory YAMLs)', style)
    .option('--launch-dir <dir>', 'also write a launch folder: ds_config.json, launch.sh, train.yaml (LLaMA-Factory), and hostfile and .deepspeed_env for multi-node plans')
    .option('--catalog <file>', 'instance catalog CSV (default: the built-in AWS catalog)')
    .option('--force', 'overwrite existing files')
    .addHelpText('after', '\nExamples:\n  ftplan ds-config stacks/Pulumi.example.yaml\n  ftplan ds-config spec.yaml --style hf -o ds_config.json --launch-dir launch/')
    .action((file: string, opts: { output?: string; style?: 'hf' | 'deepspeed'; launchDir?: string; catalog?: string; force?: boolean }) => {
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
      // Refuse before writing anything, so a refusal leaves no partial set of files.
      if (output && !opts.force && existsSync(output)) throw ctx.userError(`${output} exists; ftplan does not overwrite files without --force`)
      if (dir && !opts.force && existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) throw ctx.userError(`${dir} exists and is not an empty folder; ftplan does not overwrite files without --force`)
      if (output) {
        const failure = writeFileAtomic(output, text, true)
        if (failure) throw ctx.userError(failure)
        written.push(opts.output!)
      }
      if (dir) {
        const failure = writeDirAtomic(dir, folder.files, true)
        if (failure) throw ctx.userError(failure)
        chmodSync(join(dir, 'launch.sh'), 0o755)
        written.push(`${join(opts.launchDir!, '/')} (${Object.keys(folder.files).join(', ')})`)
      }
      if (!output && !dir) ctx.io.stdout(text)
      else ctx.stderr(`wrote ${written.join(' and ')} for ${p.nodes} × ${p.offer.instanceType} (${p.strategy.gpus} GPUs, ZeRO-${p.strategy.zeroStage}, ${styleOf} style)\n`)
      if (folder.edits.length > 0) {
        ctx.stderr(`${dir ? `${join(opts.launchDir!, 'train.yaml')} is ${file} with these edits` : `${file} needs these edits to run the plan`}:\n${folder.edits.map((e) => `  ${e.key}: ${e.from === null ? '(unset)' : String(e.from)} → ${e.to === null ? '(removed)' : String(e.to)}   # ${e.why}`).join('\n')}\n`)
      }
      if (styleOf === 'hf') ctx.stderr(`note: HF Trainer fills the "auto" values from its arguments: ${dir ? 'launch.sh passes' : 'pass'} ${argvOf(trainerArgs(folder.input))}\n`)
      for (const n of folder.notes) ctx.stderr(`note: ${n}\n`)
    })

  program
    .command('check')
    .description("check a DeepSpeed config the way DeepSpeed reads it (error / warning / ok, with DeepSpeed's source line), then estimate memory for exactly that config on that hardware")
    .argument('<ds_config>', 'a DeepSpeed JSON config')
    .requiredOption('--spec <file>', 'the spec of the run (model, method, sequence length, …)')
    .option('--plan', "check against the plan ftplan makes for the spec: its hardware, and its micro-batch, accumulation, precision and checkpointing for HF's \"auto\" values")
    .option('--gpus <n>', 'data-parallel GPUs (world size)', int('the GPU count'))
    .option('--gpu-memory-gb <gb>', 'memory of each GPU, GB', gbArg)
    .option('--instance <type>', 'an instance type from the catalog (sets the GPUs per node, their memory and host RAM)')
    .option('--nodes <n>', 'nodes of --instance', int('the node count'), 1)
    .option('--catalog <file>', 'instance catalog CSV for --plan and --instance (default: the built-in AWS catalog)')
    .addHelpText('after', '\nExamples:\n  ftplan check ds_config.json --spec spec.yaml --plan\n  ftplan check ds_config.json --spec spec.yaml --gpus 8 --gpu-memory-gb 80\n  ftplan check ds_z3_config.json --spec train_lora.yaml --instance p4d.24xlarge --nodes 2')
    .action((configFile: string, opts: { spec: string; plan?: boolean; gpus?: number; gpuMemoryGb?: number; instance?: string; nodes: number; catalog?: string }) => {
      if (opts.plan && (opts.gpus !== undefined || opts.gpuMemoryGb !== undefined || opts.instance !== undefined)) throw ctx.userError('--plan takes the hardware from the plan: give it alone, or --instance / --gpus / --gpu-memory-gb without it')
      if (opts.instance && (opts.gpus !== undefined || opts.gpuMemoryGb !== undefined)) throw ctx.userError('--instance sets the GPUs and their memory: give it alone, or --gpus / --gpu-memory-gb without it')
      const loaded = ctx.readSpec(opts.spec)
      const text = readText(resolve(ctx.io.cwd, configFile))
      if (text === null) throw ctx.userError(`${configFile}: no such file`)
      let hw: CheckHardware = { gpus: opts.gpus ?? loaded.spec.gpus, gpusPerNode: Math.min(opts.gpus ?? loaded.spec.gpus, 8), gpuMemoryBytes: opts.gpuMemoryGb === undefined ? null : opts.gpuMemoryGb * 1e9, hostMemoryBytes: null }
      let where = `${hw.gpus} GPU${hw.gpus > 1 ? 's' : ''}${opts.gpuMemoryGb ? ` of ${opts.gpuMemoryGb} GB` : ''}`
      let run = runFromSpec(loaded.spec)
      if (opts.plan) {
        const result = planLoaded(loaded, readCatalog(ctx, opts.catalog))
        if (result.status !== 'fit') throw ctx.userError(`nothing fits ${opts.spec}, so there is no plan to check against; \`ftplan plan ${opts.spec}\` says why`)
        const p = result.plan
        hw = { gpus: p.strategy.gpus, gpusPerNode: p.offer.gpuCount, gpuMemoryBytes: p.offer.gpuMemoryMiB * 2 ** 20, hostMemoryBytes: p.offer.hostMemoryGiB * 2 ** 30 }
        const precision = runPrecision(loaded.spec, p)
        run = { microBatch: p.strategy.microBatch, accumulation: p.strategy.accumulation, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : 'bf16', gradientCheckpointing: p.strategy.gradientCheckpointing }
        where = `the plan, ${p.nodes} × ${p.offer.instanceType} (${hw.gpus} × ${p.offer.gpu})`
      } else if (opts.instance) {
        const offer = readCatalog(ctx, opts.catalog).offers.find((o) => o.instanceType === opts.instance)
        if (!offer) throw ctx.userError(`unknown instance type ${opts.instance}; \`ftplan instances\` lists them`)
        hw = { gpus: offer.gpuCount * opts.nodes, gpusPerNode: offer.gpuCount, gpuMemoryBytes: offer.gpuMemoryMiB * 2 ** 20, hostMemoryBytes: offer.hostMemoryGiB * 2 ** 30 }
        run = runFromSpec(loaded.spec, GPU_MODELS[offer.gpu].bf16)
        where = `${opts.nodes} × ${offer.instanceType} (${hw.gpus} × ${offer.gpu})`
      }
      const r = checkDsConfig(text, configFile, loaded.spec, loaded.model.arch, hw, run)
      ctx.io.stdout(renderCheck(configFile, where, r))
      if (r.fits === false || r.findings.some((f) => f.verdict === 'error')) ctx.setExitCode(1)
    })
}
