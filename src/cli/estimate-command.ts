import { InvalidArgumentError, type Command } from 'commander'
import { decimalInteger, decimalNumber } from './numbers.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { GPU_MODELS } from '../instances/gpus.js'
import { GPU_NAMES, type GpuName } from '../instances/names.js'
import type { InstanceOffer } from '../instances/types.js'
import { estimateJson, estimateMemory, type TimeSection } from '../memory/estimate.js'
import { stepTime, trainTokens } from '../planner/job-time.js'
import { UTILISATION } from '../planner/utilisation.js'
import { nearChoice } from '../suggest.js'
import { adapterInputCopyBytes, modelFacts } from '../memory/model-facts.js'
import { precisionRegime } from '../memory/regime.js'
import { strategyFromSpec, type StrategyOverrides } from '../memory/strategy.js'
import { compareEstimates, renderComparison } from '../report/compare-view.js'
import { renderEstimate } from '../report/estimate-view.js'
import { OFFLOADS, type Offload, type ZeroStage } from '../spec/spec.js'
import type { CliIo } from './main.js'

interface EstimateOptions {
  gpu?: GpuName
  nodes: number
  gpus?: number
  zero?: ZeroStage
  offload?: Offload
  gpuMemoryGb?: number
  json?: boolean
  compare?: boolean
  rule?: 'seed'
}

function positiveInt(value: string): number {
  const n = decimalInteger(value)
  if (!Number.isInteger(n) || n < 1 || n > 65_536) throw new InvalidArgumentError('expected an integer 1..65536.')
  return n
}

function zeroStage(value: string): ZeroStage {
  if (!['0', '1', '2', '3'].includes(value)) throw new InvalidArgumentError('expected 0, 1, 2 or 3.')
  return Number(value) as ZeroStage
}

function offload(value: string): Offload {
  if (!(OFFLOADS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${OFFLOADS.join(' | ')}.`)
  return value as Offload
}

function gpuMemory(value: string): number {
  const n = decimalNumber(value)
  if (!Number.isFinite(n) || n <= 0 || n > 10_000) throw new InvalidArgumentError('expected a size in GB, e.g. 80.')
  return n
}

function gpuName(value: string): GpuName {
  const match = GPU_NAMES.find((n) => n.toLowerCase() === value.trim().toLowerCase())
  if (!match) {
    const near = nearChoice(value, GPU_NAMES)
    throw new InvalidArgumentError(`expected one of ${GPU_NAMES.join(', ')}${near ? ` (did you mean ${near}?)` : ''}.`)
  }
  return match
}

/**
 * The network a time estimate assumes for `gpu`: the catalog's instance with that GPU and that many GPUs per
 * node (else its largest), for its bandwidth and EFA.
 */
function networkOf(gpu: GpuName, gpusPerNode: number): InstanceOffer | null {
  const offers = AWS_CATALOG.offers.filter((o) => o.gpu === gpu)
  return offers.find((o) => o.gpuCount === gpusPerNode) ?? [...offers].sort((a, b) => b.gpuCount - a.gpuCount)[0] ?? null
}

function rule(value: string): 'seed' {
  if (value !== 'seed') throw new InvalidArgumentError('the only rule is "seed".')
  return 'seed'
}

export class UsageError extends Error {}

export function addEstimateCommand(program: Command, io: CliIo, readSpec: (file: string) => import('../spec/load.js').LoadedSpec): void {
  program
    .command('estimate')
    .description('per-GPU memory of one training step, term by term, the phase that peaks, and which GPU sizes it fits')
    .argument('<spec>', 'spec file (ftplan YAML, Pulumi stack file or LLaMA-Factory YAML)')
    .option('--gpus <n>', 'data-parallel GPUs (default: the spec\'s gpus)', positiveInt)
    .option('--gpu <name>', `GPU model, for step time and job hours (${GPU_NAMES.join(', ')})`, gpuName)
    .option('--nodes <m>', 'nodes the GPUs are spread over (with --gpu)', positiveInt, 1)
    .option('--zero <stage>', 'DeepSpeed ZeRO stage 0-3 (0: no DeepSpeed; default: the spec, or 0 when auto)', zeroStage)
    .option('--offload <what>', `${OFFLOADS.join(' | ')} (default: the spec, or none when auto)`, offload)
    .option('--gpu-memory-gb <gb>', 'also check the fit against a GPU of this size', gpuMemory)
    .option('--compare', "show the seed rule of thumb and DeepSpeed's own estimator beside the estimate")
    .option('--rule <name>', 'print only a rule of thumb (seed)', rule)
    .option('--json', 'print the estimate contract as JSON')
    .addHelpText('after', '\nExamples:\n  ftplan estimate stacks/Pulumi.example.yaml\n  ftplan estimate spec.yaml --gpus 8 --zero 3 --compare\n  ftplan estimate spec.yaml --gpu H100 --gpus 16 --nodes 2 --zero 3\n  ftplan estimate spec.yaml --gpu-memory-gb 94 --json')
    .action((file: string, opts: EstimateOptions) => {
      if (opts.rule !== undefined) {
        const ignored = [opts.compare && '--compare', opts.gpu && '--gpu', opts.gpuMemoryGb !== undefined && '--gpu-memory-gb'].filter(Boolean)
        if (ignored.length > 0) throw new UsageError(`--rule prints only the rule of thumb; ${ignored.join(', ')} would be ignored: give them without --rule`)
      }
      const loaded = readSpec(file)
      const overrides: StrategyOverrides = {
        ...(opts.gpus !== undefined ? { gpus: opts.gpus } : {}),
        ...(opts.zero !== undefined ? { zeroStage: opts.zero } : {}),
        ...(opts.offload !== undefined ? { offload: opts.offload } : {}),
      }
      const base = strategyFromSpec(loaded.spec, loaded.model.arch, overrides)
      if (base.gpus % opts.nodes !== 0) throw new UsageError(`--gpus ${base.gpus} do not split evenly over --nodes ${opts.nodes}`)
      const strategy = { ...base, gpusPerNode: base.gpus / opts.nodes }
      if (strategy.offload === 'optimizer+params' && strategy.zeroStage !== 3) throw new UsageError(`--offload optimizer+params needs ZeRO stage 3, but the stage is ${strategy.zeroStage}; add --zero 3`)
      if (strategy.offload === 'optimizer' && strategy.zeroStage === 0) throw new UsageError('--offload optimizer needs DeepSpeed ZeRO 1, 2 or 3; add --zero 2 (or 1, 3)')
      const regime = precisionRegime(loaded.spec, strategy)
      const facts = modelFacts(loaded.spec, loaded.model.arch, adapterInputCopyBytes(loaded.spec, regime.adaptersInAutocast))
      const estimate = estimateMemory(loaded.spec, loaded.model.arch, strategy, facts)
      const comparison = compareEstimates(loaded.spec, facts, strategy, estimate)
      if (opts.rule === 'seed') {
        io.stdout(opts.json ? JSON.stringify({ version: 1, seedRule: comparison.seedRule }, null, 2) + '\n' : renderComparison(comparison, true))
        return
      }
      let time: TimeSection | null | undefined
      const timeNotes: string[] = []
      if (opts.gpu) {
        const net = networkOf(opts.gpu, strategy.gpusPerNode)
        const offer: InstanceOffer = net ?? { ...AWS_CATALOG.offers[0]!, gpu: opts.gpu, networkGbps: null, efaInterfaces: 0 }
        const step = stepTime(loaded.spec, loaded.model.arch, facts, offer, GPU_MODELS[opts.gpu], opts.nodes, strategy)
        const tokens = trainTokens(loaded.spec)
        time = step === null ? null : {
          gpu: opts.gpu, gpus: strategy.gpus, nodes: opts.nodes, stepSeconds: step.stepSeconds, tokensPerSecond: step.tokensPerSecond,
          tokensPerSecondPerGpu: step.tokensPerSecond / strategy.gpus, mfu: step.mfu, jobHours: tokens === null ? null : tokens / step.tokensPerSecond / 3600,
        }
        timeNotes.push(step === null
          ? `no published TFLOPS for ${opts.gpu}: no time estimate`
          : `time: README "Time model", ${Math.round(step.hfu * 100)}% hardware utilisation (${loaded.spec.train?.mfu != null ? 'train.mfu' : `${UTILISATION[opts.gpu].basis} for ${opts.gpu}`})${opts.nodes > 1 ? `, network as ${offer.instanceType} (${offer.networkGbps ?? '?'} Gbps${offer.efaInterfaces ? ', EFA' : ''})` : ''}`)
      }
      if (opts.json) {
        const json = estimateJson(estimate, time, timeNotes)
        io.stdout(JSON.stringify(opts.compare ? { ...json, compare: comparison } : json, null, 2) + '\n')
        return
      }
      const sizes = opts.gpuMemoryGb !== undefined ? [opts.gpuMemoryGb] : []
      io.stdout(renderEstimate(loaded, strategy, { ...estimate, assumptions: [...estimate.assumptions, ...timeNotes] }, sizes, time ?? null) + (opts.compare ? '\n' + renderComparison(comparison) : ''))
    })
}
