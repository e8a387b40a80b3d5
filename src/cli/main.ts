import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Command, CommanderError } from 'commander'
import { formatIssue, SpecError } from '../errors.js'
import { MODELS } from '../models/catalog.js'
import { modelRows, renderModelsTable } from '../report/models-table.js'
import { renderSpecCheck, specCheckJson } from '../report/spec-check.js'
import { loadSpec } from '../spec/load.js'
import { addEstimateCommand, UsageError } from './estimate-command.js'
import { addPlanCommands } from './plan-command.js'
import { addDeepSpeedCommands } from './deepspeed-commands.js'
import { addInfraCommands } from './infra-commands.js'
import { fetchHubConfig, hubRef, hubSettings } from './hub.js'
import { fileSources, INPUT_LIMITS, readInput } from './sources.js'

/** Documented exit codes (README "Exit codes"). */
export const EXIT = { ok: 0, userError: 1, usage: 2, internal: 70 } as const
const MAX_ISSUES_SHOWN = 25

export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  cwd: string
  /** The environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, FTPLAN_CACHE_DIR); process.env when absent. */
  env?: Readonly<Record<string, string | undefined>>
}

/** A spec names a Hub model ftplan has not cached yet: main fetches its config.json, then runs the command again. */
class NeedsHubModel extends Error {
  constructor(readonly repo: string, readonly revision: string, readonly spec: SpecError) {
    super(`${repo}@${revision}`)
  }
}

/** A problem with the user's input that is not inside a spec (a missing file): printed, exit 1. */
class UserError extends Error {}

const EXAMPLES = `
Examples:
  ftplan models                                  list the built-in models with exact parameter counts
  ftplan spec check stacks/Pulumi.example.yaml   validate a spec and show the defaults filled in
  ftplan spec check train_lora.yaml --json       a LLaMA-Factory training YAML, as JSON
  ftplan estimate stacks/Pulumi.example.yaml     memory per GPU, term by term, and the GPU sizes it fits
  ftplan estimate spec.yaml --gpus 8 --zero 3 --compare
  ftplan plan stacks/Pulumi.example.yaml         the cheapest AWS instances that fit, and why cheaper ones do not
  ftplan instances --region us-east-1            the built-in catalog, with its source and date
  ftplan ds-config spec.yaml -o ds_config.json   the DeepSpeed config for the chosen plan
  ftplan check ds_config.json --spec spec.yaml --instance p4d.24xlarge --nodes 2
  ftplan preview stacks/Pulumi.example.yaml      every resource the Pulumi program would create, and the cost
  ftplan emit stacks/Pulumi.example.yaml --out cluster/   a self-contained Pulumi project for the plan

Exit codes: 0 ok, 1 bad input (spec, model, file), 2 bad usage (unknown command or option), 70 internal error.`

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export function buildProgram(io: CliIo, state: { exitCode: number; hubTried?: boolean } = { exitCode: 0 }): Command {
  const program = new Command('ftplan')
    .description('Plan LLM fine-tuning on rented GPUs: memory per GPU, the cheapest instances that fit, a DeepSpeed config.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (s, write) => write(s) })
    .showSuggestionAfterError(true)
    .addHelpText('after', EXAMPLES)

  program
    .command('models')
    .description('list the built-in model catalog: parameters, layers, hidden size, heads, vocab, context')
    .option('--json', 'print JSON instead of a table')
    .action((opts: { json?: boolean }) => {
      const rows = modelRows(MODELS)
      io.stdout(opts.json ? JSON.stringify({ version: 1, models: rows }, null, 2) + '\n' : renderModelsTable(rows))
    })

  const readSpec = (file: string) => {
    const read = readInput(resolve(io.cwd, file), file, INPUT_LIMITS.spec)
    if ('problem' in read) throw new UserError(`${read.problem}${read.problem.endsWith('no such file') ? ' (expected a spec YAML, a Pulumi stack file or a LLaMA-Factory YAML)' : ''}`)
    const text = read.text
    try {
      return loadSpec(text, file, fileSources(io.cwd, io.env ?? process.env))
    } catch (error) {
      // Every action reads its spec before it writes anything, so fetching and running again is safe.
      const id = error instanceof SpecError ? error.issues.map((i) => /^unknown model "([^"]+)"/.exec(i.message)?.[1]).find((m) => m !== undefined) : undefined
      const ref = id ? hubRef(id) : null
      if (ref && !state.hubTried) throw new NeedsHubModel(ref.repo, ref.revision, error as SpecError)
      throw error
    }
  }
  const spec = program.command('spec').description('work with fine-tuning specs')
  spec
    .command('check')
    .description('validate a spec (ftplan YAML, Pulumi stack file or LLaMA-Factory YAML); print it normalized, with the defaults filled in')
    .argument('<file>', 'spec file')
    .option('--json', 'print JSON instead of text')
    .action((file: string, opts: { json?: boolean }) => {
      const loaded = readSpec(file)
      io.stdout(opts.json ? JSON.stringify(specCheckJson(loaded), null, 2) + '\n' : renderSpecCheck(loaded))
    })
  addEstimateCommand(program, io, readSpec)
  const ctx = { io, readSpec, userError: (m: string) => new UserError(m), usageError: (m: string) => new UsageError(m), setExitCode: (c: number) => void (state.exitCode = c) }
  addPlanCommands(program, { ...ctx, stderr: io.stderr })
  addDeepSpeedCommands(program, { ...ctx, stderr: io.stderr })
  addInfraCommands(program, ctx)
  return program
}

/** Runs the CLI and returns its exit code; never throws, never exits the process. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const state = { exitCode: EXIT.ok as number, hubTried: false }
  try {
    try {
      await buildProgram(io, state).parseAsync([...argv], { from: 'user' })
    } catch (error) {
      if (!(error instanceof NeedsHubModel)) throw error
      // A model outside the catalog: its config.json from the Hugging Face Hub, cached, then the command again.
      state.hubTried = true
      const fetched = await fetchHubConfig(hubSettings(io.env ?? process.env), error.repo, error.revision)
      if (!fetched.ok) {
        const issues = error.spec.issues.map((i) => (/^unknown model "/.test(i.message) ? { ...i, message: `${i.message}, nor on the Hub: ${fetched.reason}`, allowed: 'a catalog id (see `ftplan models`), a Hub id the Hub serves, a model folder or a path to its config.json' } : i))
        throw new SpecError(issues)
      }
      io.stderr(`note: fetched ${error.repo}'s config.json (revision ${error.revision}) from the Hugging Face Hub into ${fetched.path}\n`)
      await buildProgram(io, state).parseAsync([...argv], { from: 'user' })
    }
    return state.exitCode
  } catch (error) {
    if (error instanceof CommanderError) {
      // `commander.help` is help shown because no command was given: a usage error, printed to stderr.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage
    }
    if (error instanceof SpecError) {
      const n = error.issues.length
      const files = [...new Set(error.issues.map((i) => i.file))].join(', ')
      // One screen: a catalog of 100,000 bad rows must not print 100,000 lines.
      const shown = error.issues.slice(0, MAX_ISSUES_SHOWN).map((i) => `  ${formatIssue(i)}`)
      if (n > MAX_ISSUES_SHOWN) shown.push(`  … and ${(n - MAX_ISSUES_SHOWN).toLocaleString('en-US')} more; fix these and run again`)
      io.stderr(`error: ${n.toLocaleString('en-US')} problem${n === 1 ? '' : 's'} in ${files}:\n${shown.join('\n')}\n`)
      return EXIT.userError
    }
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n`)
      return EXIT.usage
    }
    if (error instanceof UserError) {
      io.stderr(`error: ${error.message}\n`)
      return EXIT.userError
    }
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error)
    io.stderr(`internal error (a bug in ftplan, please report it with the command you ran):\n${stack}\n`)
    return EXIT.internal
  }
}

function processIo(): CliIo {
  // `ftplan … | head` closes the pipe early: the reader has what it wanted, so stop quietly, not with a trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
      throw error
    })
  }
  return { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), cwd: process.cwd() }
}
