import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { ROOT } from './run-cli.js'

const FIXTURES = join(ROOT, 'test/fixtures/hub')

/**
 * A local stand-in for the Hugging Face Hub (test/fixtures/hub/README.md): it answers the requests @huggingface/hub
 * makes for /<repo>/resolve/<revision>/config.json (a ranged GET for the size, then the file, with an ETag).
 */
/**
 * Serves every test/fixtures/hub/<org>--<name>.json as <org>/<name> at revision main (Qwen/Qwen3-4B-Instruct-2507 also at
 * v1.1, for a pinned revision); meta-llama/Llama-3.2-1B only with a token.
 */
export function hubStandIn(requests: string[] = []): Server {
  const SERVED: Record<string, { file: string; token?: string }> = Object.fromEntries(readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((f) => [f.replace(/\.json$/, '').replace('--', '/'), { file: f }]))
  SERVED['meta-llama/Llama-3.2-1B']!.token = 'hf_test_token'
  const revisions = (repo: string) => (repo === 'Qwen/Qwen3-4B-Instruct-2507' ? ['main', 'v1.1'] : ['main'])
  return createServer((req, res) => {
    requests.push(req.url ?? '')
    const m = /^\/(.+)\/resolve\/([^/]+)\/config\.json$/.exec(req.url ?? '')
    const repo = m ? SERVED[m[1]!] : undefined
    if (!m || !repo || !revisions(m[1]!).includes(m[2]!)) {
      res.writeHead(404, { 'X-Error-Code': 'RepoNotFound', 'Content-Type': 'application/json' }).end('{"error":"Repository not found"}')
      return
    }
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      res.writeHead(401, { 'X-Error-Code': 'GatedRepo', 'Content-Type': 'application/json' }).end('{"error":"Access to model is restricted"}')
      return
    }
    const body = readFileSync(join(FIXTURES, repo.file))
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''))
    if (range) {
      const start = Number(range[1])
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${body.length}`, 'Content-Length': end - start + 1, 'Content-Type': 'application/json', ETag: etag }).end(body.subarray(start, end + 1))
    } else res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/json', ETag: etag }).end(body)
  })
}

