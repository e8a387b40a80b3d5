import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hubStandIn } from '../../test/helpers/hub-stand-in.js'
import { ROOT } from '../../test/helpers/run-cli.js'
import { hubCachePath, hubRef, hubSettings } from './hub.js'
import { main } from './main.js'

// A local stand-in for the Hugging Face Hub (test/fixtures/hub/README.md): it answers the requests @huggingface/hub
// makes for /<repo>/resolve/<revision>/config.json (a ranged GET for the size, then the file), and one repository is
// gated behind a token. No test reaches the internet.
let server: Server
let endpoint = ''
const requests: string[] = []

beforeAll(async () => {
  server = hubStandIn(requests)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

async function ftplan(env: Record<string, string>, ...argv: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd: ROOT, env })
  return { code, stdout, stderr }
}

/** A command against the stand-in with a cache of its own, and where that cache keeps a repository's config.json. */
async function withFreshCache(...argv: string[]) {
  const env = { HF_ENDPOINT: endpoint, FTPLAN_CACHE_DIR: mkdtempSync(join(tmpdir(), 'ftplan-cache-')) }
  return { r: await ftplan(env, ...argv), env, cached: (repo: string, revision: string) => hubCachePath(hubSettings(env), repo, revision) }
}

function specFile(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ftplan-hub-'))
  writeFileSync(join(dir, 'spec.yaml'), body)
  return join(dir, 'spec.yaml')
}

describe('a model outside the catalog, from the Hugging Face Hub', () => {
  it('org/name and org/name@revision are Hub ids; models/…, datasets/… and spaces/… are the Hub\'s URL prefixes, so local folders', () => {
    expect(hubRef('Qwen/Qwen3-4B-Instruct-2507')).toEqual({ repo: 'Qwen/Qwen3-4B-Instruct-2507', revision: 'main' })
    expect(hubRef('Qwen/Qwen3-4B-Instruct-2507@v1.1')).toEqual({ repo: 'Qwen/Qwen3-4B-Instruct-2507', revision: 'v1.1' })
    for (const id of ['models/Llama-2-7b', 'datasets/x', 'spaces/y', 'a/b/c']) expect(hubRef(id)).toBeNull()
  })
  it('fetched once through HF_ENDPOINT, cached, and said so; then read offline from the cache', async () => {
    const spec = specFile('model: Qwen/Qwen3-4B-Instruct-2507\nmethod: lora\n')
    const { r: first, env, cached } = await withFreshCache('spec', 'check', spec)
    expect(first.code, first.stderr).toBe(0)
    const path = cached('Qwen/Qwen3-4B-Instruct-2507', 'main')
    expect(first.stderr).toBe(`note: fetched Qwen/Qwen3-4B-Instruct-2507's config.json (revision main) from the Hugging Face Hub into ${path}\n`)
    expect(existsSync(path)).toBe(true)
    // Qwen3-4B: 36 × (q 2560×4096 + k, v 2560×1024 + o 4096×2560 + MLP 3 × 2560×9728 + norms) + tied embedding 151936 × 2560
    const perLayer = 2560 * 4096 + 2 * 2560 * 1024 + 4096 * 2560 + 3 * 2560 * 9728 + 2 * 2560 + 2 * 128
    expect(first.stdout).toContain(`model      Qwen/Qwen3-4B-Instruct-2507 (qwen3): ${(36 * perLayer + 151936 * 2560 + 2560).toLocaleString('en-US')} parameters`)
    expect(first.stdout).toContain(`config.json of Qwen/Qwen3-4B-Instruct-2507 (revision main) from ${endpoint}, cached at ${path}`)
    const before = requests.length
    const offline = await ftplan({ ...env, HF_HUB_OFFLINE: '1' }, 'plan', spec)
    expect(offline.code, offline.stderr).toBe(0)
    expect(offline.stderr).toBe('')
    expect(requests.length).toBe(before)
  })

  it("a LLaMA-Factory YAML's model_revision is the revision fetched and cached (ModelArguments.model_revision)", async () => {
    const yaml = specFile('model_name_or_path: Qwen/Qwen3-4B-Instruct-2507\nmodel_revision: v1.1\nstage: sft\ndo_train: true\nfinetuning_type: lora\nbf16: true\n')
    const { r, cached } = await withFreshCache('spec', 'check', yaml)
    expect(r.code, r.stderr).toBe(0)
    const path = cached('Qwen/Qwen3-4B-Instruct-2507', 'v1.1')
    expect(r.stderr).toBe(`note: fetched Qwen/Qwen3-4B-Instruct-2507's config.json (revision v1.1) from the Hugging Face Hub into ${path}\n`)
    expect(requests.some((u) => u.includes('/Qwen/Qwen3-4B-Instruct-2507/resolve/v1.1/config.json'))).toBe(true)
  })

  it('a gated model: refused without a token, naming HF_TOKEN and the fallback; fetched with one', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'ftplan-cache-'))
    const spec = specFile('model: meta-llama/Llama-3.2-1B\n'.replace('Llama-3.2-1B', 'Llama-3.2-1B@main'))
    // a catalog id with @revision is not the catalog entry: it goes to the Hub like any other
    const refused = await ftplan({ HF_ENDPOINT: endpoint, FTPLAN_CACHE_DIR: cache }, 'spec', 'check', spec)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('model: unknown model "meta-llama/Llama-3.2-1B@main"; not in the catalog, and no model folder')
    expect(refused.stderr).toContain(`, nor on the Hub: ${endpoint} refused meta-llama/Llama-3.2-1B (HTTP 401): a gated or private model needs a token with access, in HF_TOKEN`)
    expect(refused.stderr).toContain('a path to its config.json')
    const granted = await ftplan({ HF_ENDPOINT: endpoint, FTPLAN_CACHE_DIR: cache, HF_TOKEN: 'hf_test_token' }, 'spec', 'check', spec)
    expect(granted.code, granted.stderr).toBe(0)
    expect(granted.stdout).toContain('1,235,814,400 parameters')
  })

  it('a model the Hub does not have, a Hub that cannot be reached, and offline without a cache: clear errors, exit 1', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'ftplan-cache-'))
    const missing = await ftplan({ HF_ENDPOINT: endpoint, FTPLAN_CACHE_DIR: cache }, 'spec', 'check', specFile('model: nobody/nothing-7b\n'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`${endpoint} has no model nobody/nothing-7b at revision main`)
    const down = await ftplan({ HF_ENDPOINT: 'http://127.0.0.1:9', FTPLAN_CACHE_DIR: cache }, 'spec', 'check', specFile('model: Qwen/Qwen3-4B-Instruct-2507\n'))
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('http://127.0.0.1:9 could not be reached for Qwen/Qwen3-4B-Instruct-2507')
    const offline = await ftplan({ HF_ENDPOINT: endpoint, FTPLAN_CACHE_DIR: cache, HF_HUB_OFFLINE: '1' }, 'spec', 'check', specFile('model: Qwen/Qwen3-4B-Instruct-2507\n'))
    expect(offline.code).toBe(1)
    expect(offline.stderr).toContain('HF_HUB_OFFLINE is set and Qwen/Qwen3-4B-Instruct-2507@main is not in ftplan\'s cache')
  })

  it('a LLaMA-Factory YAML names the Hub model as LLaMA-Factory does (model_name_or_path)', async () => {
    const yaml = specFile('model_name_or_path: Qwen/Qwen3-4B-Instruct-2507\nstage: sft\ndo_train: true\nfinetuning_type: lora\nlora_target: all\nbf16: true\n')
    const { r } = await withFreshCache('estimate', yaml)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Qwen/Qwen3-4B-Instruct-2507')
  })
})

describe('a Hub that never answers', () => {
  it('is given up after HF_HUB_DOWNLOAD_TIMEOUT seconds with a message that says so, never a hang', async () => {
    // Takes the connection, reads the request, sends nothing.
    const { createServer } = await import('node:http')
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
    try {
      const started = Date.now()
      const r = await ftplan({ HF_ENDPOINT: url, FTPLAN_CACHE_DIR: mkdtempSync(join(tmpdir(), 'ftplan-hub-')), HF_HUB_DOWNLOAD_TIMEOUT: '0.5' }, 'spec', 'check', specFile('model: some-org/some-model\nmethod: lora\n'))
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`nor on the Hub: ${url} did not answer for some-org/some-model within 0.5 s (HF_HUB_DOWNLOAD_TIMEOUT sets the wait)`)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      silent.closeAllConnections()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    }
  })
  it('HF_HUB_DOWNLOAD_TIMEOUT must be a positive number of seconds; otherwise the default, 10', () => {
    expect(hubSettings({ HF_HUB_DOWNLOAD_TIMEOUT: '2.5' }).timeoutSeconds).toBe(2.5)
    for (const bad of ['0', '-1', 'abc', '1e3', '']) expect(hubSettings({ HF_HUB_DOWNLOAD_TIMEOUT: bad }).timeoutSeconds).toBe(10)
    expect(hubSettings({}).timeoutSeconds).toBe(10)
  })
})

describe("a cache ftplan cannot write", () => {
  it('is a user error naming the folder and FTPLAN_CACHE_DIR, not a crash', async () => {
    // A file where the cache folder would be: mkdir fails with ENOTDIR (root or not).
    const base = mkdtempSync(join(tmpdir(), 'ftplan-hub-'))
    writeFileSync(join(base, 'cache'), 'a file')
    const r = await ftplan({ HF_ENDPOINT: endpoint, FTPLAN_CACHE_DIR: join(base, 'cache') }, 'spec', 'check', specFile('model: Qwen/Qwen3-4B-Instruct-2507\nmethod: lora\n'))
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).not.toContain('internal error')
    expect(r.stderr).toMatch(/Qwen\/Qwen3-4B-Instruct-2507's config\.json was fetched, but ftplan's cache cannot be written at .*cache\/hub\/127\.0\.0\.1_\d+\/Qwen\/Qwen3-4B-Instruct-2507\/main \(ENOTDIR\); set FTPLAN_CACHE_DIR to a folder you can write/)
  })
})
