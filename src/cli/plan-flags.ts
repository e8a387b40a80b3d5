import { InvalidArgumentError, type Command } from 'commander'
import { decimalInteger, decimalNumber } from './numbers.js'
import { AWS_REGION_PATTERN, AWS_REGIONS, GPU_NAMES } from '../instances/names.js'
import { LIMITS } from '../spec/normalize.js'
import type { LoadedSpec } from '../spec/load.js'
import type { Constraints, FinetuneSpec } from '../spec/spec.js'
import { didYouMean } from '../suggest.js'

/**
 * Data size and constraints given beside any spec, for the files that cannot carry them (a LLaMA-Factory YAML has
 * no `train` or `constraints`): what `plan` needs to rank by job cost (issue #15). A flag wins over the file.
 */
export interface PlanFlags {
  tokens?: number
  epochs?: number
  gpus?: string[]
  regions?: string[]
  maxNodes?: number
  maxHourly?: number
  spot?: boolean
}

const positive = (what: string, max: number, integer = false) => (value: string): number => {
  const n = integer ? decimalInteger(value) : decimalNumber(value)
  if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} above 0${max < Infinity ? ` and at most ${max}` : ''} for ${what}, got ${JSON.stringify(value)}.`)
  return n
}

function list(what: string, check: (item: string) => string | null) {
  return (value: string): string[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean)
    if (items.length === 0) throw new InvalidArgumentError(`expected a comma-separated list of ${what}.`)
    for (const item of items) {
      const problem = check(item)
      if (problem) throw new InvalidArgumentError(problem)
    }
    return [...new Set(items)]
  }
}

export function addPlanFlags(command: Command): Command {
  return command
    .option('--tokens <n>', 'tokens to train on (a spec\'s train.tokens; ranks by job cost)', positive('--tokens', LIMITS.tokens))
    .option('--epochs <n>', 'passes over those tokens (with --tokens; default 1)', positive('--epochs', 1e6, true))
    .option('--gpus <names>', `GPU models to plan on, comma-separated (constraints.gpus): ${GPU_NAMES.join(', ')}`, list('GPU names', (g) => {
      if ((GPU_NAMES as readonly string[]).includes(g)) return null
      const near = didYouMean(g, GPU_NAMES)
      return `${JSON.stringify(g)} is not a GPU ftplan knows; allowed: ${GPU_NAMES.join(', ')}${near ? `; did you mean ${near}?` : ''}`
    }))
    .option('--regions <names>', 'AWS regions to plan in, comma-separated (constraints.regions)', list('AWS regions', (r) => {
      if (AWS_REGION_PATTERN.test(r)) return null
      const near = didYouMean(r, AWS_REGIONS)
      return `${JSON.stringify(r)} is not an AWS region name; allowed: names such as us-east-1${near ? `; did you mean ${near}?` : ''}`
    }))
    .option('--max-nodes <n>', 'most nodes a plan may use (constraints.max_nodes)', positive('--max-nodes', LIMITS.maxNodes, true))
    .option('--max-hourly <usd>', 'most a plan may cost per hour, all nodes (constraints.max_hourly_usd)', positive('--max-hourly', 1e9))
    .option('--spot', 'rank by spot prices (constraints.spot)')
}

/** The spec with the flags applied; a flag counts as the user's own value (not a filled default). */
/** Flags given, as the user typed them; empty when none. */
export function planFlagsGiven(f: PlanFlags): string[] {
  const given: [unknown, string][] = [[f.tokens, '--tokens'], [f.epochs, '--epochs'], [f.gpus, '--gpus'], [f.regions, '--regions'], [f.maxNodes, '--max-nodes'], [f.maxHourly, '--max-hourly'], [f.spot, '--spot']]
  return given.filter(([v]) => v !== undefined && v !== false).map(([, name]) => name)
}

/** The spec with the flags applied; a flag counts as the user's own value (not a filled default). */
export function withPlanFlags(loaded: LoadedSpec, f: PlanFlags): LoadedSpec {
  const c: Constraints = { ...loaded.spec.constraints }
  const set: string[] = []
  if (f.gpus) { c.gpus = f.gpus; set.push('constraints.gpus') }
  if (f.regions) { c.regions = f.regions; set.push('constraints.regions') }
  if (f.maxNodes !== undefined) { c.maxNodes = f.maxNodes; set.push('constraints.max_nodes') }
  if (f.maxHourly !== undefined) { c.maxHourlyUsd = f.maxHourly; set.push('constraints.max_hourly_usd') }
  if (f.spot) { c.spot = true; set.push('constraints.spot') }
  const spec: FinetuneSpec = { ...loaded.spec, constraints: c }
  if (f.tokens !== undefined) {
    spec.train = { tokens: f.tokens, epochs: f.epochs ?? 1, mfu: loaded.spec.train?.mfu ?? null }
    set.push('train')
  }
  const given = planFlagsGiven(f)
  return {
    ...loaded,
    spec,
    defaults: loaded.defaults.filter((d) => !set.some((p) => d.path === p || d.path.startsWith(`${p}.`))),
    notes: given.length > 0 ? [...loaded.notes, `from the command line, over the file: ${given.join(', ')}`] : loaded.notes,
  }
}
