import type { LNode } from './located.js'
import type { FieldReader } from './reader.js'

/**
 * What the cluster's bootstrap installs into the image's PyTorch environment (`pip install -r`): pinned, so
 * every node and every rerun gets the same stack. Defaults: the releases ftplan's configs are checked against
 * (deepspeed/versions.ts): DeepSpeed 0.19.5 and LLaMA-Factory at the commit whose rules ftplan read.
 */
export interface Software {
  /** A DeepSpeed release, installed as deepspeed==<version>. */
  deepspeed: string
  /** A LLaMA-Factory release (llamafactory==<v>) or a git commit of hiyouga/LLaMA-Factory; null: not installed. */
  llamafactory: string | null
  /** More pip requirements, name and optional version bounds (`flash-attn==2.8.3`, `wandb>=0.19`). */
  packages: readonly string[]
}

export const LLAMAFACTORY_COMMIT = 'ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30'
export const SOFTWARE_DEFAULTS: Software = { deepspeed: '0.19.5', llamafactory: LLAMAFACTORY_COMMIT, packages: [] }
export const SOFTWARE_KEYS = ['deepspeed', 'llamafactory', 'packages'] as const

const RELEASE = /^\d+\.\d+(\.\d+)?([.-]?(post|dev|rc)\d+)?$/
const COMMIT = /^[0-9a-f]{7,40}$/
/** PEP 508 name, extras and version clauses; no URLs, paths or pip options (a line of requirements.txt that pip reads as an option could redirect the index). */
const REQUIREMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?((===?|!=|~=|<=?|>=?)[A-Za-z0-9.*+!_-]+(,(===?|!=|~=|<=?|>=?)[A-Za-z0-9.*+!_-]+)*)?$/

type Field = <T>(map: Map<string, LNode>, key: string, path: string, fallback: T, read: (n: LNode, p: string) => T | undefined) => T

export function readSoftware(map: Map<string, LNode>, r: FieldReader, field: Field): Software {
  const version = (n: LNode, p: string, allowed: string, pattern: RegExp): string | undefined => {
    if (n.kind === 'scalar' && typeof n.value === 'number') return r.fail(n, p, `${n.value} reads as a number; quote the version so no digit is lost`, { allowed })
    const s = r.string(n, p, allowed)
    if (s === undefined) return undefined
    return pattern.test(s) ? s : r.fail(n, p, `${JSON.stringify(s)} is not ${allowed}`, { allowed })
  }
  const deepspeed = field(map, 'deepspeed', 'software.deepspeed', SOFTWARE_DEFAULTS.deepspeed, (n, p) => version(n, p, "a DeepSpeed release in quotes, e.g. '0.19.5'", RELEASE))
  // `none` reads as a value of its own: a reader's null would mean "use the default".
  const lfRaw = field(map, 'llamafactory', 'software.llamafactory', SOFTWARE_DEFAULTS.llamafactory as string | null, (n, p) => {
    if (n.kind === 'scalar' && (n.value === false || n.value === 'none')) return 'none'
    return version(n, p, "a LLaMA-Factory release in quotes ('0.9.4'), a git commit of hiyouga/LLaMA-Factory, or none", new RegExp(`${RELEASE.source}|${COMMIT.source}`))
  })
  const llamafactory = lfRaw === 'none' ? null : lfRaw
  const packages = field(map, 'packages', 'software.packages', [...SOFTWARE_DEFAULTS.packages], (n, p) => {
    const list = r.stringList(n, p, 'pip requirements such as flash-attn==2.8.3')
    if (!list) return undefined
    let ok = true
    list.forEach((s, i) => {
      if (!REQUIREMENT.test(s)) {
        ok = false
        r.fail(n.kind === 'seq' ? n.items[i]! : n, `${p}[${i}]`, `${JSON.stringify(s)} is not a pip requirement by name`, { allowed: 'name[extras] with optional version bounds, e.g. flash-attn==2.8.3 or wandb>=0.19 (no URLs, paths or options)' })
      }
    })
    return ok ? list : undefined
  })
  return { deepspeed, llamafactory, packages }
}

/** requirements.txt for the bootstrap's `pip install -r`. */
export function requirementsTxt(s: Software): string {
  const lf = s.llamafactory === null ? [] : [COMMIT.test(s.llamafactory) && !RELEASE.test(s.llamafactory)
    ? `llamafactory @ git+https://github.com/hiyouga/LLaMA-Factory.git@${s.llamafactory}`
    : `llamafactory==${s.llamafactory}`]
  return [`deepspeed==${s.deepspeed}`, ...lf, ...s.packages].join('\n') + '\n'
}

/** The git ref of the pinned LLaMA-Factory: the commit itself, or the release's tag (v0.9.4); '' when not installed. */
export function llamafactoryRef(s: Software): string {
  if (s.llamafactory === null) return ''
  return COMMIT.test(s.llamafactory) && !RELEASE.test(s.llamafactory) ? s.llamafactory : `v${s.llamafactory}`
}
