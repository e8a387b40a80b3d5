import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as pulumi from '@pulumi/pulumi'
import { describe, expect, it } from 'vitest'
import { runCli } from '../../test/helpers/run-cli.js'
import { parseLock, stackFingerprint, stackInputs } from './lock.js'

// `pulumi up` (not a preview): the program pins what it creates.
const created: pulumi.runtime.MockResourceArgs[] = []
await pulumi.runtime.setMocks({
  newResource(a) {
    created.push(a)
    return { id: `${a.name}-id`, state: { name: a.name, arn: `arn:aws:x:us-east-1:123456789012:${a.name}`, latestVersion: 1, bucket: a.name, ...a.inputs } }
  },
  call: (a) => (a.token === 'aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings' ? { locations: ['us-east-1a'] } : a.inputs),
}, 'ftplan', 'test', false)

const STACK = [
  'config:', '  aws:region: us-east-1', '  ftplan:maxHours: 12', '  ftplan:spec:', '    model: meta-llama/Llama-3.1-8B', '    method: lora', '    seq_len: 2048',
  '    train: { tokens: 1e8 }', '    constraints: { gpus: [L40S], max_nodes: 1 }', '',
].join('\n')

function stackDir(text = STACK): string {
  const dir = mkdtempSync(join(tmpdir(), 'ftplan-lock-'))
  mkdirSync(join(dir, 'stacks'))
  writeFileSync(join(dir, 'stacks/Pulumi.test.yaml'), text)
  return dir
}

async function up(dir: string) {
  // what Pulumi hands the program: every value a string, objects as JSON
  pulumi.runtime.setAllConfig({
    'aws:region': 'us-east-1', 'ftplan:maxHours': '12',
    'ftplan:spec': JSON.stringify({ train: { tokens: 1e8 }, constraints: { max_nodes: 1, gpus: ['L40S'] }, seq_len: 2048, method: 'lora', model: 'meta-llama/Llama-3.1-8B' }),
  })
  const { ftplanProgram } = await import('./program.js')
  const start = created.length
  const r = ftplanProgram(dir)
  await Promise.all(r.outputs.instanceIds.map((id) => new Promise((resolve) => id.apply(resolve))))
  return { r, resources: created.slice(start) }
}

describe('the fingerprint of a stack\'s inputs', () => {
  it('the stack file as YAML wrote it and Pulumi\'s string config (keys in another order) are the same inputs', async () => {
    const { parse } = await import('yaml')
    const fromFile = stackInputs((parse(STACK) as { config: Record<string, unknown> }).config)
    const fromPulumi = stackInputs({ 'aws:region': 'us-east-1', 'ftplan:maxHours': '12', 'ftplan:spec': JSON.stringify({ train: { tokens: 100000000 }, model: 'meta-llama/Llama-3.1-8B', method: 'lora', seq_len: 2048, constraints: { max_nodes: 1, gpus: ['L40S'] } }) })
    expect(fromFile.settings).toEqual({ maxHours: '12' })
    expect(stackFingerprint(fromFile.spec, fromFile.settings, fromFile.awsRegion)).toBe(stackFingerprint(fromPulumi.spec, fromPulumi.settings, fromPulumi.awsRegion))
    expect(stackFingerprint(fromFile.spec, { maxHours: '13' }, 'us-east-1')).not.toBe(stackFingerprint(fromFile.spec, fromFile.settings, 'us-east-1'))
  })
  it('a lock that is not one is named, with the way out', () => {
    expect(parseLock('{', 'stacks/Pulumi.x.lock.json')).toMatch(/^stacks\/Pulumi\.x\.lock\.json is not JSON .*re-pin with `ftplan plan <stack file> --update`$/)
    expect(parseLock('{"version": 2}', 'l.json')).toBe('l.json is not a plan lock of this ftplan (version 1 with fingerprint, pinnedAt and plan); re-pin with `ftplan plan <stack file> --update`')
  })
})

describe('the root program pins its plan on `pulumi up` and keeps it', () => {
  it('the first up pins; a later run with a newer catalog creates the pinned cluster, not a re-plan', async () => {
    const dir = stackDir()
    const first = await up(dir)
    const lockFile = join(dir, 'stacks/Pulumi.test.lock.json')
    const lock = JSON.parse(readFileSync(lockFile, 'utf8'))
    expect(lock.plan.instanceType).toBe(first.r.outputs.instanceType)
    // Stand-in for a catalog that moved since the pin: the pinned plan names a type, price and date today's plan would not.
    lock.plan.instanceType = 'g6e.12xlarge'
    lock.plan.outputs = { ...lock.plan.outputs, instanceType: 'g6e.12xlarge', hourlyCostUsd: 9.99, catalogAsOf: '2026-01-01' }
    writeFileSync(lockFile, JSON.stringify(lock))
    const second = await up(dir)
    expect(second.r.outputs).toMatchObject({ instanceType: 'g6e.12xlarge', hourlyCostUsd: 9.99, catalogAsOf: '2026-01-01' })
    const templates = second.resources.filter((x) => x.type === 'aws:ec2/launchTemplate:LaunchTemplate')
    expect(templates.map((t) => t.inputs.instanceType)).toEqual(['g6e.12xlarge'])
    // the launch template's bytes are the pinned ones
    expect(templates[0]!.inputs.userData).toBe(lock.plan.userDataGzipBase64[0])
  }, 60_000)

  it('a changed spec is refused, naming the lock and `ftplan plan --update`', async () => {
    const dir = stackDir()
    await up(dir)
    writeFileSync(join(dir, 'stacks/Pulumi.test.yaml'), STACK.replace('seq_len: 2048', 'seq_len: 4096'))
    await expect(up(dir)).rejects.toThrow(/^the spec or ftplan:\* settings of stack test changed since its plan was pinned \(stacks\/Pulumi\.test\.lock\.json: 1 × \S+ in us-east-1, pinned \d{4}-\d\d-\d\d \(catalog of 2026-07-20\)\)\.\nRe-plan on purpose with `ftplan plan stacks\/Pulumi\.test\.yaml --update`/)
  }, 60_000)
})

describe('ftplan plan <stack file> --update, and what plan and preview say of a pin', () => {
  it('pins beside the stack file; plan then names the pin; preview shows the pinned cluster; a change makes both refuse or warn', async () => {
    const dir = stackDir()
    const file = join(dir, 'stacks/Pulumi.test.yaml')
    const before = await runCli('plan', file)
    expect(before.stdout).toContain(`not pinned: the first \`pulumi up -s test\` pins this plan to ${join(dir, 'stacks/Pulumi.test.lock.json')}`)
    const pin = await runCli('plan', file, '--update')
    expect(pin.code).toBe(0)
    expect(pin.stdout).toMatch(/pinned: \S+Pulumi\.test\.lock\.json now holds 1 × \S+ in us-east-1; `pulumi up -s test` creates exactly that/)
    const lock = JSON.parse(readFileSync(join(dir, 'stacks/Pulumi.test.lock.json'), 'utf8'))
    lock.plan.outputs.catalogAsOf = '2026-01-01'
    writeFileSync(join(dir, 'stacks/Pulumi.test.lock.json'), JSON.stringify(lock))
    expect((await runCli('plan', file)).stdout).toMatch(/pinned: \S+ \(1 × \S+ in us-east-1, pinned \d{4}-\d\d-\d\d \(catalog of 2026-01-01\)\) is what `pulumi up` creates/)
    const preview = await runCli('preview', file, '--json')
    expect(JSON.parse(preview.stdout).outputs.catalogAsOf).toBe('2026-01-01')
    writeFileSync(file, STACK.replace('ftplan:maxHours: 12', 'ftplan:maxHours: 6'))
    expect((await runCli('plan', file)).stdout).toContain('but the stack\'s spec or settings changed since: `pulumi up` refuses until')
    const refused = await runCli('preview', file)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('changed since')
  }, 60_000)

  it('--update needs a stack file', async () => {
    const r = await runCli('plan', 'test/fixtures/specs/llama2-7b-full.yaml', '--update')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--update pins the plan of a Pulumi stack file (stacks/Pulumi.<stack>.yaml), which `pulumi up` reads; test/fixtures/specs/llama2-7b-full.yaml is not one')
  })
})
