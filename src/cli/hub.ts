import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { removeQuietly } from './write.js'

/**
 * The Hugging Face Hub as ftplan reads it: a model id outside the catalog (`org/name`, or `org/name@revision`) has its
 * config.json fetched once from the Hub and kept in ftplan's cache, so every later read (the Pulumi program's
 * included) is a file read. The variables are the Hub's own: HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE.
 */
export interface HubSettings {
  endpoint: string
  token: string | undefined
  offline: boolean
  cacheDir: string
  /**
   * Seconds a request may take before ftplan gives up: HF_HUB_DOWNLOAD_TIMEOUT, as the Python hub reads it, 10 when
   * unset (huggingface_hub constants.py DEFAULT_DOWNLOAD_TIMEOUT = 10).
   */
  timeoutSeconds: number
}

export const HUB_ID = /^([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([\w./-]+))?$/

export function hubSettings(env: Readonly<Record<string, string | undefined>>): HubSettings {
  const cacheHome = env['FTPLAN_CACHE_DIR'] ?? (env['XDG_CACHE_HOME'] ? join(env['XDG_CACHE_HOME'], 'ftplan') : join(homedir(), '.cache', 'ftplan'))
  return {
    endpoint: (env['HF_ENDPOINT'] ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token: env['HF_TOKEN'] ?? env['HUGGING_FACE_HUB_TOKEN'],
    offline: ['1', 'true', 'yes', 'on'].includes((env['HF_HUB_OFFLINE'] ?? '').toLowerCase()),
    cacheDir: cacheHome,
    timeoutSeconds: positiveSeconds(env['HF_HUB_DOWNLOAD_TIMEOUT']) ?? 10,
  }
}

function positiveSeconds(text: string | undefined): number | undefined {
  const n = text === undefined || !/^\d+(\.\d+)?$/.test(text.trim()) ? NaN : Number(text)
  return n > 0 ? n : undefined
}

/** `org/name@rev` → the repository and revision (main when none). */
export function hubRef(id: string): { repo: string; revision: string } | null {
  const m = HUB_ID.exec(id)
  // models/, datasets/ and spaces/ are the Hub's own URL prefixes, never an organisation: such an id is a local folder.
  if (!m || /^(models|datasets|spaces)\//i.test(m[1]!)) return null
  return { repo: m[1]!, revision: m[2] ?? 'main' }
}

/** Where a fetched config.json is kept: per Hub host, repository and revision. */
export function hubCachePath(s: HubSettings, repo: string, revision: string): string {
  const host = new URL(s.endpoint).host.replace(/[^\w.-]/g, '_')
  return join(s.cacheDir, 'hub', host, ...repo.split('/'), revision.replace(/[^\w.-]/g, '_'), 'config.json')
}

export type HubFetch = { ok: true; path: string } | { ok: false; reason: string }

/** Fetches config.json into the cache (written whole, then renamed into place). @huggingface/hub loads only here. */
export async function fetchHubConfig(s: HubSettings, repo: string, revision: string): Promise<HubFetch> {
  if (s.offline) return { ok: false, reason: `HF_HUB_OFFLINE is set and ${repo}@${revision} is not in ftplan's cache (${hubCachePath(s, repo, revision)})` }
  const { downloadFile } = await import('@huggingface/hub')
  let text: string
  try {
    // A Hub that takes the connection and never answers must not hang the command: every request has a deadline.
    const deadline = AbortSignal.timeout(s.timeoutSeconds * 1000)
    const timed: typeof fetch = (input, init) => fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline })
    const blob = await downloadFile({ repo, path: 'config.json', revision, hubUrl: s.endpoint, fetch: timed, ...(s.token ? { accessToken: s.token } : {}) })
    if (!blob) return { ok: false, reason: `${repo} has no config.json at revision ${revision} on ${s.endpoint}` }
    text = await blob.text()
  } catch (e) {
    if ((e as Error).name === 'TimeoutError' || (e as { cause?: Error }).cause?.name === 'TimeoutError') {
      return { ok: false, reason: `${s.endpoint} did not answer for ${repo} within ${s.timeoutSeconds} s (HF_HUB_DOWNLOAD_TIMEOUT sets the wait)` }
    }
    const status = (e as { statusCode?: number }).statusCode
    if (status === 401 || status === 403) return { ok: false, reason: `${s.endpoint} refused ${repo} (HTTP ${status}): a gated or private model needs a token with access, in HF_TOKEN${s.token ? ' (the one set was refused)' : ''}` }
    if (status === 404) return { ok: false, reason: `${s.endpoint} has no model ${repo} at revision ${revision}` }
    return { ok: false, reason: `${s.endpoint} could not be reached for ${repo}: ${(e as Error).message}` }
  }
  try {
    JSON.parse(text)
  } catch {
    return { ok: false, reason: `${repo}'s config.json from ${s.endpoint} is not JSON` }
  }
  const path = hubCachePath(s, repo, revision)
  const tmp = `${path}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(tmp, text)
    renameSync(tmp, path)
  } catch (e) {
    removeQuietly(tmp)
    return { ok: false, reason: `${repo}'s config.json was fetched, but ftplan's cache cannot be written at ${dirname(path)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); set FTPLAN_CACHE_DIR to a folder you can write` }
  }
  return { ok: true, path }
}
