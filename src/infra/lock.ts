import { createHash } from 'node:crypto'
import type { ClusterPlan } from './cluster-types.js'

/**
 * A stack's pinned plan: the cluster ftplan chose, kept beside the stack file as `Pulumi.<stack>.lock.json`. The root
 * program creates what it holds and never re-plans while the stack's inputs are the ones it was pinned from, so a
 * newer catalog or ftplan cannot move a running job to another region, type or node count. `ftplan plan <stack
 * file> --update` re-plans on purpose.
 */
export interface PlanLock {
  version: 1
  pinnedAt: string
  /** Hash of the stack's inputs (ftplan:spec as written, every other ftplan:* setting, aws:region). */
  fingerprint: string
  plan: ClusterPlan
}

export const lockFileName = (stack: string) => `Pulumi.${stack}.lock.json`

/** Sorted keys, so the same inputs hash the same however YAML or Pulumi ordered them. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, canonical(v)]))
  return value
}

/**
 * The inputs as the user wrote them (not as ftplan normalised them: a newer ftplan with new defaults must not
 * read as a changed spec). `settings` are the ftplan:* values but spec, as Pulumi hands them: strings.
 */
export function stackFingerprint(spec: unknown, settings: Record<string, string>, awsRegion: string | undefined): string {
  const text = JSON.stringify(canonical({ spec, settings, awsRegion: awsRegion ?? null }))
  return 'sha256:' + createHash('sha256').update(text).digest('hex')
}

export function lockText(plan: ClusterPlan, fingerprint: string, pinnedAt: Date): string {
  const lock: PlanLock = { version: 1, pinnedAt: pinnedAt.toISOString(), fingerprint, plan }
  return JSON.stringify(lock, null, 2) + '\n'
}

/** The lock, or a message saying what is wrong with the file. */
export function parseLock(text: string, file: string): PlanLock | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return `${file} is not JSON (${error instanceof Error ? error.message : String(error)}); re-pin with \`ftplan plan <stack file> --update\``
  }
  const lock = value as Partial<PlanLock>
  if (lock?.version !== 1 || typeof lock.fingerprint !== 'string' || typeof lock.pinnedAt !== 'string' || !lock.plan || !Array.isArray(lock.plan.userDataGzipBase64)) {
    return `${file} is not a plan lock of this ftplan (version 1 with fingerprint, pinnedAt and plan); re-pin with \`ftplan plan <stack file> --update\``
  }
  return lock as PlanLock
}

/** One line on what the lock pins. */
export function describeLock(lock: PlanLock): string {
  const o = lock.plan.outputs
  return `${o.nodes} × ${o.instanceType} in ${o.region}, pinned ${lock.pinnedAt.slice(0, 10)} (catalog of ${o.catalogAsOf})`
}

export interface StackInputs {
  /** ftplan:spec as written (a mapping, or a string Pulumi could not read as JSON). */
  spec: unknown
  /** The other ftplan:* settings, keyed without the prefix, as strings. */
  settings: Record<string, string>
  awsRegion: string | undefined
}

/**
 * The stack's inputs from its `config:` mapping: a stack file's (values as YAML wrote them) or Pulumi's (every value
 * a string, objects as JSON). Both read the same: non-strings are written as JSON, and a JSON string spec is parsed.
 */
export function stackInputs(config: Record<string, unknown>): StackInputs {
  const settings: Record<string, string> = {}
  let spec: unknown = config['ftplan:spec']
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith('ftplan:') && key !== 'ftplan:spec') settings[key.slice('ftplan:'.length)] = typeof value === 'string' ? value : JSON.stringify(value)
  }
  if (typeof spec === 'string') {
    try {
      spec = JSON.parse(spec)
    } catch {
      // a plain string stays as it is
    }
  }
  const region = config['aws:region']
  return { spec, settings, awsRegion: typeof region === 'string' && region !== '' ? region : undefined }
}
