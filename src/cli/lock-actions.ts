import { basename, dirname, join, resolve } from 'node:path'
import { parse } from 'yaml'
import { describeLock, lockFileName, parseLock, stackFingerprint, stackInputs, type StackInputs } from '../infra/lock.js'
import type { CommandContext } from './plan-command.js'
import { readText } from './sources.js'

// What `ftplan plan` says of a stack's pin: small on purpose, as it loads on the plan path.

/** `Pulumi.<stack>.yaml` names its stack; any other spec file names the cluster after itself. */
export function stackName(file: string): string {
  const m = /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file))
  return m ? m[1]! : basename(file).replace(/\.[^.]*$/, '')
}

/** A Pulumi stack file's inputs as the root program reads them (lock.ts stackInputs). */
export function inputsOf(ctx: CommandContext, file: string, text = readText(resolve(ctx.io.cwd, file)) ?? ''): StackInputs {
  const doc = parse(text) as { config?: Record<string, unknown> } | null
  return stackInputs(doc?.config ?? {})
}

/** For `ftplan plan` of a stack file: what its lock pins, and whether the stack still matches it. The line to print. */
export function lockNote(ctx: CommandContext, file: string): string {
  const lockFile = join(dirname(file), lockFileName(stackName(file)))
  const text = readText(resolve(ctx.io.cwd, lockFile))
  if (text === null) return `not pinned: the first \`pulumi up -s ${stackName(file)}\` pins this plan to ${lockFile} (or \`ftplan plan ${file} --update\` now)\n`
  const lock = parseLock(text, lockFile)
  if (typeof lock === 'string') return `${lock}\n`
  const inputs = inputsOf(ctx, file)
  const same = lock.fingerprint === stackFingerprint(inputs.spec, inputs.settings, inputs.awsRegion)
  return same
    ? `pinned: ${lockFile} (${describeLock(lock)}) is what \`pulumi up\` creates; \`--update\` replaces it with the plan above\n`
    : `pinned: ${lockFile} (${describeLock(lock)}), but the stack's spec or settings changed since: \`pulumi up\` refuses until \`ftplan plan ${file} --update\`\n`
}
