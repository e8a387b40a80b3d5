import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ruleFailures, RULES, type PreviewResource } from '../../test/helpers/preview-rules.js'
import { ROOT, runCli } from '../../test/helpers/run-cli.js'

const STACKS = readdirSync(join(ROOT, 'stacks')).filter((f) => /^Pulumi\..+\.yaml$/.test(f))

describe('each example stack\'s `ftplan preview --json` passes the 11 rules', () => {
  it('there are 11 rules and every example stack is checked', () => {
    expect(RULES).toHaveLength(11)
    expect(STACKS.length).toBeGreaterThanOrEqual(4)
  })
  it.each(STACKS)('%s', async (file) => {
    const r = await runCli('preview', `stacks/${file}`, '--json')
    expect(r.code, r.stderr).toBe(0)
    const { resources } = JSON.parse(r.stdout) as { resources: PreviewResource[] }
    const failures = ruleFailures(resources)
    expect(failures).toEqual(Object.fromEntries(RULES.map((x) => [x.id, []])))
  }, 60_000)

  it('the rules catch what they name: a plan with an open SSH rule, a public IP, IMDSv1 and a key in user data fails them', async () => {
    const r = await runCli('preview', 'stacks/Pulumi.example.yaml', '--json')
    const { resources } = JSON.parse(r.stdout) as { resources: PreviewResource[] }
    const t = resources.find((x) => x.type === 'aws:ec2/launchTemplate:LaunchTemplate')!
    const { gzipSync } = await import('node:zlib')
    const broken: PreviewResource[] = [
      ...resources.filter((x) => x !== t),
      { ...t, inputs: { ...t.inputs, metadataOptions: { httpTokens: 'optional', httpPutResponseHopLimit: 3 }, monitoring: { enabled: false }, userData: gzipSync('-----BEGIN OPENSSH PRIVATE KEY-----').toString('base64') } },
      { type: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', name: 'open', inputs: { cidrIpv4: '0.0.0.0/0', fromPort: 22 } },
      { type: 'aws:iam/rolePolicy:RolePolicy', name: 'admin', inputs: { policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) } },
    ]
    const failures = ruleFailures(broken)
    expect(Object.entries(failures).filter(([, v]) => v.length > 0).map(([k]) => k).sort()).toEqual(['described', 'hop-limit', 'imdsv2', 'monitoring', 'no-iam-star', 'no-open-ingress', 'no-secrets-in-user-data'])
  }, 60_000)
})
