import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { checkDsConfig } from '../deepspeed/check.js'
import { dsConfigText } from '../deepspeed/config.js'
import { dsConfigForPlan } from '../deepspeed/for-plan.js'
import { launchFilesFor } from '../deepspeed/launch.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { gb } from '../report/estimate-view.js'
import { planLoaded, readCatalog, type CommandContext } from './plan-command.js'
import { readText } from './sources.js'
import { writeFileAtomic } from './write.js'

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
    .description('write the DeepSpeed config for the chosen plan (the same bucket sizes the estimate used), and optionally the launch files')
    .argument('<spec>', 'spec file')
    .option('-o, --output <file>', 'write the config here (atomically) instead of printing it')
    .option('--style <style>', 'deepspeed: fully explicit; hf: "auto" where HF Trainer / LLaMA-Factory fill values in', style, 'deepspeed')
    .option('--launch-dir <dir>', 'also write hostfile, .deepspeed_env and launch.sh for the plan there')
    .option('--catalog <file>', 'instance catalog CSV (default: the built-in AWS catalog)')
    .option('--force', 'overwrite existing files')
    .addHelpText('after', '\nExamples:\n  ftplan ds-config stacks/Pulumi.example.yaml\n  ftplan ds-config spec.yaml --style hf -o ds_config.json --launch-dir launch/')
    .action((file: string, opts: { output?: string; style: 'hf' | 'deepspeed'; launchDir?: string; catalog?: string; force?: boolean }) => {
      const loaded = ctx.readSpec(file)
      const result = planLoaded(loaded, readCatalog(ctx, opts.catalog))
      if (result.status !== 'fit') throw ctx.userError(`nothing fits, so there is no plan to write a config for; \`ftplan plan ${file}\` says why and what would fit`)
      const p = result.plan
      const config = dsConfigForPlan(loaded, p, opts.style)
      const text = dsConfigText(config)
      const outputs: [string, string][] = []
      if (opts.output) outputs.push([resolve(ctx.io.cwd, opts.output), text])
      if (opts.launchDir) {
        const dir = resolve(ctx.io.cwd, opts.launchDir)
        mkdirSync(dir, { recursive: true })
        const launch = launchFilesFor({ nodes: p.nodes, gpusPerNode: p.offer.gpuCount, efa: (p.offer.efaInterfaces ?? 0) > 0 })
        const script = ['#!/usr/bin/env bash', `# ${p.nodes} × ${p.offer.instanceType} (${p.strategy.gpus} GPUs). Run one of these on node-0:`, launch.commands.deepspeed, `# ${launch.commands.torchrun}`, `# ${launch.commands.llamafactory}`, '']
        outputs.push([join(dir, 'hostfile'), launch.hostfile], [join(dir, '.deepspeed_env'), launch.deepspeedEnv], [join(dir, 'launch.sh'), script.join('\n')])
        if (!opts.output) outputs.push([join(dir, 'ds_config.json'), text])
      }
      // Refuse before writing anything, so a refusal leaves no partial set of files.
      const existing = opts.force ? [] : outputs.filter(([path]) => existsSync(path)).map(([path]) => path)
      if (existing.length > 0) throw ctx.userError(`${existing.join(', ')} exist${existing.length === 1 ? 's' : ''}; ftplan does not overwrite files without --force`)
      for (const [path, content] of outputs) {
        const failure = writeFileAtomic(path, content, true)
        if (failure) throw ctx.userError(failure)
      }
      if (!opts.output && !opts.launchDir) ctx.io.stdout(text)
      else ctx.stderr(`wrote ${outputs.map(([path]) => path).join(', ')} for ${p.nodes} × ${p.offer.instanceType} (${p.strategy.gpus} GPUs, ZeRO-${p.strategy.zeroStage})\n`)
      if (p.strategy.zeroStage === 0) ctx.stderr('note: the plan runs without ZeRO (its estimate is HF autocast without DeepSpeed); under DeepSpeed, stage 0 adds an fp32 gradient accumulator, 4 B per parameter\n')
      if (opts.style === 'hf') ctx.stderr(`note: HF Trainer fills the "auto" values: run with per_device_train_batch_size ${p.strategy.microBatch}, gradient_accumulation_steps ${p.strategy.accumulation}${p.strategy.gradientCheckpointing ? ' and gradient checkpointing on' : ''}, as the plan chose\n`)
      if (config.optimizer) ctx.stderr('note: offload needs DeepSpeed\'s own CPU optimizer, so the config has an optimizer block: set optimizer.params.lr to your learning rate\n')
    })

  program
    .command('check')
    .description("check a DeepSpeed config against DeepSpeed's rules, then estimate memory for exactly that config on that hardware")
    .argument('<ds_config>', 'a DeepSpeed JSON config')
    .requiredOption('--spec <file>', 'the spec of the run (model, method, sequence length, …)')
    .option('--gpus <n>', 'data-parallel GPUs (world size)', int('the GPU count'))
    .option('--gpu-memory-gb <gb>', 'memory of each GPU, GB', gbArg)
    .option('--instance <type>', 'an instance type from the catalog (sets the GPUs per node, their memory and host RAM)')
    .option('--nodes <n>', 'nodes of --instance', int('the node count'), 1)
    .addHelpText('after', '\nExamples:\n  ftplan check ds_config.json --spec spec.yaml --gpus 8 --gpu-memory-gb 80\n  ftplan check ds_z3_config.json --spec train_lora.yaml --instance p4d.24xlarge --nodes 2')
    .action((configFile: string, opts: { spec: string; gpus?: number; gpuMemoryGb?: number; instance?: string; nodes: number }) => {
      const loaded = ctx.readSpec(opts.spec)
      const text = readText(resolve(ctx.io.cwd, configFile))
      if (text === null) throw ctx.userError(`${configFile}: no such file`)
      let hw = { gpus: opts.gpus ?? loaded.spec.gpus, gpusPerNode: Math.min(opts.gpus ?? loaded.spec.gpus, 8), gpuMemoryBytes: opts.gpuMemoryGb === undefined ? null : opts.gpuMemoryGb * 1e9, hostMemoryBytes: null as number | null }
      let where = `${hw.gpus} GPU${hw.gpus > 1 ? 's' : ''}${opts.gpuMemoryGb ? ` of ${opts.gpuMemoryGb} GB` : ''}`
      if (opts.instance) {
        const offer = AWS_CATALOG.offers.find((o) => o.instanceType === opts.instance)
        if (!offer) throw ctx.userError(`unknown instance type ${opts.instance}; \`ftplan instances\` lists them`)
        hw = { gpus: offer.gpuCount * opts.nodes, gpusPerNode: offer.gpuCount, gpuMemoryBytes: offer.gpuMemoryMiB * 2 ** 20, hostMemoryBytes: offer.hostMemoryGiB * 2 ** 30 }
        where = `${opts.nodes} × ${offer.instanceType} (${hw.gpus} × ${offer.gpu})`
      }
      const r = checkDsConfig(text, configFile, loaded.spec, loaded.model.arch, hw)
      const e = r.estimate
      const s = r.strategy
      const out = [`${configFile}: valid DeepSpeed config for ${where}`, `  ZeRO-${s.zeroStage}, offload ${s.offload}, ${r.precision}, micro-batch ${s.microBatch} × accumulation ${s.accumulation}, reduce_bucket_size ${s.zero.reduceBucketSize}`]
      out.push(`  memory per GPU: ${gb(e.perGpu.totalBytes)} GB total (peak in ${e.peakPhase}); CPU RAM per node ${gb(e.perNode.cpuBytes)} GB`)
      if (r.fits === true) out.push(`fits: ${gb(r.usableBytes! - e.perGpu.totalBytes)} GB to spare of ${gb(r.usableBytes!)} GB usable`)
      if (r.fits === null) out.push('fit not judged: give --gpu-memory-gb or --instance')
      if (r.overflow) {
        out.push(`does not fit: needs ${gb(e.perGpu.totalBytes)} GB per GPU, ${gb(r.usableBytes!)} GB usable, over by ${gb(r.overflow.overBytes)} GB`)
        out.push(`  largest terms: ${r.overflow.largest.map((t) => `${t.term} ${gb(t.bytes)} GB`).join(', ')}`)
        out.push(r.overflow.fixes.length > 0 ? '  any one of these fits:' : '  no single change to the config fits; `ftplan plan` searches the hardware too', ...r.overflow.fixes.map((f) => `    - ${f}`))
      }
      out.push(...r.notes.map((n) => `note: ${n}`))
      ctx.io.stdout(out.join('\n') + '\n')
      if (r.fits === false) ctx.setExitCode(1)
    })
}
