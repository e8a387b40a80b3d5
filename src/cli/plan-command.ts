import { resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { AWS_CATALOG } from '../instances/aws.js'
import { loadCatalog } from '../instances/load.js'
import type { Catalog } from '../instances/types.js'
import { candidateJson, planJson } from '../planner/contract.js'
import { constraintCosts } from '../planner/constraint-cost.js'
import { adviceFor } from '../planner/advice.js'
import { DEFAULT_KEEP, planFinetune, type LayoutCache } from '../planner/plan.js'
import { planInputOf } from '../planner/plan-loaded.js'
import { renderInstances } from '../report/instances-view.js'
import { renderPlan } from '../report/plan-view.js'
import type { LoadedSpec } from '../spec/load.js'
import { addPlanFlags, planFlagsGiven, withPlanFlags, type PlanFlags } from './plan-flags.js'
import { decimalInteger } from './numbers.js'
import { INPUT_LIMITS, readInput } from './sources.js'

export interface CommandContext {
  io: { stdout(text: string): void; cwd: string }
  readSpec(file: string): LoadedSpec
  userError(message: string): Error
  /** Options that contradict each other or do nothing together: exit 2, as commander's own usage errors. */
  usageError(message: string): Error
  /** Set by an action to make the process exit non-zero without an error message of its own. */
  setExitCode(code: number): void
}

function positiveInt(value: string): number {
  const n = decimalInteger(value)
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new InvalidArgumentError('expected an integer 0..1000.')
  return n
}

export { batchMode, planLoaded } from '../planner/plan-loaded.js'

export function readCatalog(ctx: CommandContext, file: string | undefined): Catalog {
  if (!file) return AWS_CATALOG
  const read = readInput(resolve(ctx.io.cwd, file), file, INPUT_LIMITS.catalog)
  if ('problem' in read) throw ctx.userError(`${read.problem}${read.problem.endsWith('no such file') ? " (expected ftplan's catalog CSV or SkyPilot's vms.csv)" : ''}`)
  return loadCatalog(read.text, file)
}

export function addPlanCommands(program: Command, ctx: CommandContext & { stderr(text: string): void }): void {
  addPlanFlags(program
    .command('plan'))
    .description('the cheapest instance group that fits, the next cheapest, and why every cheaper offer does not')
    .argument('<spec>', 'spec file (ftplan YAML, Pulumi stack file or LLaMA-Factory YAML)')
    .option('--catalog <file>', "instance catalog CSV: ftplan's columns or SkyPilot's vms.csv (default: the built-in AWS catalog)")
    .option('--top <n>', 'alternatives to show', positiveInt, 5)
    .option('--json', 'print the plan contract as JSON')
    .option('--update', 'a Pulumi stack file: re-plan and pin the result (stacks/Pulumi.<stack>.lock.json), which `pulumi up` creates')
    .addHelpText('after', '\nExamples:\n  ftplan plan stacks/Pulumi.example.yaml\n  ftplan plan stacks/Pulumi.example.yaml --update\n  ftplan plan spec.yaml --catalog my-prices.csv --top 10 --json')
    .action(async (file: string, opts: { catalog?: string; top: number; json?: boolean; update?: boolean } & PlanFlags) => {
      const flags = planFlagsGiven(opts)
      if (opts.epochs !== undefined && opts.tokens === undefined) throw ctx.usageError('--epochs goes with --tokens: give the dataset size in tokens too')
      if (opts.update && flags.length > 0) throw ctx.usageError(`--update pins the plan the stack file itself makes, which \`pulumi up\` reads; put ${flags.join(', ')} in its ftplan:spec instead`)
      const loaded = withPlanFlags(ctx.readSpec(file), opts)
      if (opts.update && loaded.source !== 'pulumi-stack') throw ctx.userError(`--update pins the plan of a Pulumi stack file (stacks/Pulumi.<stack>.yaml), which \`pulumi up\` reads; ${file} is not one`)
      const catalog = readCatalog(ctx, opts.catalog)
      const input = planInputOf(loaded, catalog)
      const layouts: LayoutCache = new Map()
      const result = planFinetune(input, { layouts, keep: Math.max(DEFAULT_KEEP, opts.top) })
      // Changes that make the run cheaper: tried, offered, never applied (planner/advice.ts).
      const advice = adviceFor(input, result)
      // Choices of the user's that rule out cheaper plans, with what keeping each costs (planner/constraint-cost.ts).
      const costs = constraintCosts(loaded, input, result, layouts)
      if (opts.update && result.status !== 'fit') throw ctx.userError(`nothing fits, so there is no plan to pin; \`ftplan plan ${file}\` says why and what would fit`)
      const constraintCost = costs.map((c) => ({ field: c.field, costsUsd: c.costsUsd, unit: c.unit, without: candidateJson(loaded.spec, c.without) }))
      ctx.io.stdout(opts.json ? JSON.stringify({ ...planJson(loaded.spec, result, opts.top), advice, constraintCost }, null, 2) + '\n' : renderPlan(loaded, result, opts.top, advice, costs))
      if (result.status === 'no-fit') ctx.setExitCode(1)
      // A stack file's pinned plan is what `pulumi up` creates: say so, or pin this one (infra code loads only here).
      if (loaded.source === 'pulumi-stack' && (opts.update || !opts.json)) {
        const note = opts.update && result.status === 'fit'
          ? await (await import('./infra-actions.js')).pinStackPlan(ctx, file, loaded, result.plan, catalog.asOf)
          : (await import('./lock-actions.js')).lockNote(ctx, file)
        if (note) (opts.json ? ctx.stderr : ctx.io.stdout)(note)
      }
    })

  program
    .command('instances')
    .description('list the instance catalog: GPUs, memory, CPUs, RAM, NVMe, network, EFA, prices, with its source and date')
    .option('--region <region>', 'only this region')
    .option('--catalog <file>', 'a user catalog CSV instead of the built-in one')
    .option('--json', 'print JSON')
    .action((opts: { region?: string; catalog?: string; json?: boolean }) => {
      const catalog = readCatalog(ctx, opts.catalog)
      if (opts.region && !catalog.offers.some((o) => o.region === opts.region)) {
        const regions = [...new Set(catalog.offers.map((o) => o.region))]
        throw ctx.userError(`no offers in region ${opts.region}; the catalog has ${regions.join(', ')}`)
      }
      const offers = catalog.offers.filter((o) => !opts.region || o.region === opts.region)
      ctx.io.stdout(opts.json ? JSON.stringify({ version: 1, source: catalog.source, asOf: catalog.asOf, offers }, null, 2) + '\n' : renderInstances(catalog, opts.region))
    })
}
