import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gunzipSync } from 'node:zlib'
import * as pulumi from '@pulumi/pulumi'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, runCli } from '../../test/helpers/run-cli.js'

// Emitted projects live inside the repository so that their imports of @pulumi/* resolve to ours.
const work = join(ROOT, `.test-emit-${process.pid}`)
const tsc = (...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], { encoding: 'utf8' })
// 3 × p5.48xlarge: it costs what 4 do within the time band, and the rule takes the fewer GPUs.
const BIG = 'model: meta-llama/Llama-3.1-70B\nmethod: full\nseq_len: 4096\ntrain: { tokens: 1e8 }\nconstraints: { gpus: [H100], max_nodes: 4, regions: [us-east-1] }\n'

describe('ftplan emit', () => {
  beforeAll(async () => {
    mkdirSync(work, { recursive: true })
    writeFileSync(join(work, 'big.yaml'), BIG)
    expect((await runCli('emit', 'stacks/Pulumi.example.yaml', '--out', join(work, 'one'))).code).toBe(0)
    expect((await runCli('emit', join(work, 'big.yaml'), '--out', join(work, 'multi'))).code).toBe(0)
  }, 60_000)
  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it('writes the project: Pulumi.yaml, package.json with public dependencies only, index.ts, plan.json, README', () => {
    const dir = join(work, 'multi')
    expect(parse(readFileSync(join(dir, 'Pulumi.yaml'), 'utf8'))).toMatchObject({ name: 'ftplan-big', runtime: { name: 'nodejs' }, main: 'index.js' })
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect(pkg.dependencies).toEqual({ '@pulumi/pulumi': '3.248.0', '@pulumi/aws': '^7.48.0', '@pulumi/tls': '^5.6.1' })
    const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { userData: string[] }
    expect(plan.userData[0]).toContain('10.42.1.10 slots=8\n      10.42.1.11 slots=8\n      10.42.1.12 slots=8\n')
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('| price | $165.12/hour on-demand')
    // the component is ftplan's own compiled file, not a second copy of the logic
    expect(readFileSync(join(dir, 'ftplan/gpu-cluster.js'), 'utf8')).toBe(readFileSync(join(ROOT, 'dist/infra/gpu-cluster.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'))
  })

  it('refuses a folder that is not empty without --force, and changes nothing', async () => {
    const file = join(work, 'one', 'plan.json')
    const before = { text: readFileSync(file, 'utf8'), mtime: statSync(file).mtimeMs }
    const r = await runCli('emit', join(work, 'big.yaml'), '--out', join(work, 'one'))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`error: ${join(work, 'one')} is not empty; ftplan does not overwrite files without --force\n`)
    expect(readFileSync(file, 'utf8')).toBe(before.text)
    expect(statSync(file).mtimeMs).toBe(before.mtime)
  })

  it('type-checks with tsc --noEmit against the installed @pulumi/aws', () => {
    for (const name of ['one', 'multi']) expect(tsc('--noEmit', '-p', join(work, name))).toBe('')
  }, 120_000)

  it('runs under Pulumi mocks: the planned instances, with the pinned user data byte for byte and per-stack names in tags', async () => {
    for (const name of ['one', 'multi']) tsc('-p', join(work, name))
    const created: pulumi.runtime.MockResourceArgs[] = []
    await pulumi.runtime.setMocks({
      newResource(a) {
        created.push(a)
        return { id: `${a.name}-id`, state: { name: a.name, arn: `arn:aws:x:us-east-1:123456789012:${a.name}`, latestVersion: 1, ...a.inputs } }
      },
      call: (a) => (a.token === 'aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings' ? { locations: ['us-east-1a'] } : a.inputs),
    }, 'ftplan-emitted', 'test', true)
    for (const [name, nodes] of [['one', 1], ['multi', 3]] as const) {
      const mod = await import(pathToFileURL(join(work, name, 'index.js')).href) as { instanceIds: pulumi.Output<string>[]; nodes: number; hourlyCostUsd: number }
      await Promise.all(mod.instanceIds.map((id) => new Promise((resolve) => id.apply(resolve))))
      expect(mod.nodes).toBe(nodes)
      expect(typeof mod.hourlyCostUsd).toBe('number')
      const prefix = name === 'one' ? 'example' : 'big'
      const templates = created.filter((r) => r.type === 'aws:ec2/launchTemplate:LaunchTemplate' && r.name.startsWith(`${prefix}-`))
      expect(templates).toHaveLength(nodes)
      expect(created.filter((r) => r.type === 'aws:ec2/instance:Instance' && r.name.startsWith(`${prefix}-`))).toHaveLength(nodes)
      const plan = JSON.parse(readFileSync(join(work, name, 'plan.json'), 'utf8')) as { userDataGzipBase64: string[]; userData: string[] }
      // the key's SSM path carries the stack (here "test"), and every node reads that path from its tag
      const key = created.filter((r) => r.type === 'aws:ssm/parameter:Parameter' && r.name.startsWith(`${prefix}-`))
      expect(key.map((k) => k.inputs.name)).toEqual([`/ftplan/${prefix}/test/ssh/id_rsa`])
      templates.forEach((t, i) => {
        expect(t.inputs.userData).toBe(plan.userDataGzipBase64[i])
        expect(gunzipSync(Buffer.from(t.inputs.userData, 'base64')).toString('utf8')).toBe(plan.userData[i])
      })
      for (const node of created.filter((r) => r.type === 'aws:ec2/instance:Instance' && r.name.startsWith(`${prefix}-`))) {
        expect(node.inputs.tags).toMatchObject({ 'ftplan:ssh-key': `/ftplan/${prefix}/test/ssh/id_rsa`, 'ftplan:cluster': `${prefix}/test` })
      }
    }
  }, 120_000)
})
