import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../../test/helpers/run-cli.js'

describe('ftplan preview (Pulumi mock mode, in process)', () => {
  it('--json lists every resource with its inputs and the cost outputs; the SSH key stays secret', async () => {
    const r = await runCli('preview', 'stacks/Pulumi.example.yaml', '--json')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout) as { version: number; resources: { type: string; name: string; inputs: Record<string, any> }[]; outputs: Record<string, unknown> }
    expect(j.version).toBe(1)
    const types = j.resources.map((x) => x.type)
    expect(types).toContain('ftplan:index:GpuCluster')
    expect(types.filter((t) => t === 'aws:ec2/instance:Instance')).toHaveLength(1)
    const lt = j.resources.find((x) => x.type === 'aws:ec2/launchTemplate:LaunchTemplate')!
    // 1 × p5.4xlarge: it costs what 1 × p5.48xlarge does within the time band, and the rule takes the fewer GPUs
    expect(lt.inputs['instanceType']).toBe('p5.4xlarge')
    expect(lt.inputs['networkInterfaces']).toHaveLength(1)
    expect(j.resources.find((x) => x.type === 'aws:ssm/parameter:Parameter')!.inputs['value']).toBe('[secret]')
    expect(r.stdout).not.toContain('PRIVATE KEY')
    expect(j.outputs).toMatchObject({ instanceType: 'p5.4xlarge', nodes: 1, gpus: 1, hourlyCostUsd: 6.88, privateIps: ['10.42.1.10'], catalogAsOf: '2026-07-20' })
    expect(typeof j.outputs['estimatedJobCostUsd']).toBe('number')
  }, 60_000)

  it('a spec that fits nothing is a user error, before any Pulumi code loads', async () => {
    const r = await runCli('preview', 'test/fixtures/specs/eu-only.yaml')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('nothing fits, so there is nothing to provision')
  })

  it.each([['llama8b-lora-1gpu', 'g6e.xlarge', 1, 1], ['qwen32b-full', 'p4de.24xlarge', 1, 4], ['llama70b-full', 'p5.48xlarge', 3, 32]])('the example stack %s previews as %s × %i', async (stack, type, nodes, nics) => {
    const r = await runCli('preview', `stacks/Pulumi.${stack}.yaml`, '--json')
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout) as { resources: { type: string; inputs: Record<string, any> }[]; outputs: Record<string, unknown> }
    expect(j.outputs).toMatchObject({ instanceType: type, nodes })
    const templates = j.resources.filter((x) => x.type === 'aws:ec2/launchTemplate:LaunchTemplate')
    expect(templates).toHaveLength(nodes)
    for (const t of templates) expect(t.inputs['networkInterfaces']).toHaveLength(nics)
    expect(j.resources.filter((x) => x.type === 'aws:ec2/placementGroup:PlacementGroup')).toHaveLength(nodes > 1 ? 1 : 0)
  }, 60_000)

  it('a subnet too small for the planned nodes is a user error naming the file, not a stack trace', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ftplan-')), 'Pulumi.tiny.yaml')
    writeFileSync(file, [
      'config:', '  ftplan:vpcId: vpc-0123456789abcdef0', '  ftplan:subnetId: subnet-0123456789abcdef0', '  ftplan:subnetCidr: 10.0.0.16/28', '  ftplan:availabilityZone: us-east-1a',
      // 405B full is planned on 9 × p5.48xlarge (72 × H100)
      '  ftplan:spec:', '    model: meta-llama/Llama-3.1-405B', '    method: full', '    seq_len: 4096', '    train: { tokens: 1e8 }', '    constraints: { gpus: [H100], max_nodes: 16, regions: [us-east-1] }', '',
    ].join('\n'))
    for (const command of ['preview', 'emit']) {
      const r = await runCli(command, file, ...(command === 'emit' ? ['--out', join(tmpdir(), `ftplan-never-${process.pid}`)] : []))
      expect(r).toMatchObject({ code: 1, stdout: '' })
      expect(r.stderr).toBe(`error: ${file}: 10.0.0.16/28 has room for 5 nodes from .10, not 9\n`)
    }
  })
})
