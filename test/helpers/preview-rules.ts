import { gunzipSync } from 'node:zlib'

// The checkov-equivalent rules issue #12 lists, applied to `ftplan preview --json`. Each names the checkov check it
// stands for (bridgecrewio/checkov, checkov/terraform/checks/resource/aws) where there is one.

export interface PreviewResource { type: string; name: string; inputs: Record<string, any> }

type Rule = { id: string; what: string; check: (rs: PreviewResource[]) => string[] }

const of = (rs: PreviewResource[], type: string) => rs.filter((r) => r.type === type)
const templates = (rs: PreviewResource[]) => of(rs, 'aws:ec2/launchTemplate:LaunchTemplate')
const fail = (cond: boolean, message: string) => (cond ? [] : [message])

/** Every IAM statement of the role policies, from their JSON documents. */
function statements(rs: PreviewResource[]): { Action: string | string[]; Resource: string | string[]; Effect: string }[] {
  return of(rs, 'aws:iam/rolePolicy:RolePolicy').flatMap((p) => (JSON.parse(p.inputs['policy'] as string) as { Statement: never[] }).Statement)
}

export const RULES: Rule[] = [
  { id: 'imdsv2', what: 'IMDSv2 required (CKV_AWS_79)', check: (rs) => templates(rs).flatMap((t) => fail(t.inputs['metadataOptions']?.httpTokens === 'required', `${t.name}: httpTokens is not required`)) },
  {
    id: 'ebs-encrypted', what: 'EBS encrypted (CKV_AWS_8)',
    check: (rs) => templates(rs).flatMap((t) => {
      const disks = (t.inputs['blockDeviceMappings'] ?? []) as { ebs?: { encrypted?: string } }[]
      return fail(disks.length > 0 && disks.every((d) => d.ebs?.encrypted === 'true'), `${t.name}: a volume is not encrypted`)
    }),
  },
  {
    id: 'no-public-ip', what: 'no public IP (CKV_AWS_88)',
    check: (rs) => [
      ...templates(rs).flatMap((t) => fail(((t.inputs['networkInterfaces'] ?? []) as { associatePublicIpAddress?: string }[]).every((n) => n.associatePublicIpAddress !== 'true'), `${t.name}: a NIC gets a public IP`)),
      ...of(rs, 'aws:ec2/subnet:Subnet').filter((s) => !s.name.endsWith('-public')).flatMap((s) => fail(s.inputs['mapPublicIpOnLaunch'] === false, `${s.name}: maps public IPs`)),
    ],
  },
  { id: 'monitoring', what: 'detailed monitoring (CKV_AWS_126)', check: (rs) => templates(rs).flatMap((t) => fail(t.inputs['monitoring']?.enabled === true, `${t.name}: no detailed monitoring`)) },
  { id: 'ebs-optimized', what: 'EBS-optimized (CKV_AWS_135)', check: (rs) => templates(rs).flatMap((t) => fail(t.inputs['ebsOptimized'] === 'true', `${t.name}: not EBS-optimized`)) },
  { id: 'instance-profile', what: 'instance profile attached', check: (rs) => templates(rs).flatMap((t) => fail(typeof t.inputs['iamInstanceProfile']?.arn === 'string', `${t.name}: no instance profile`)) },
  {
    id: 'no-open-ingress', what: 'no 0.0.0.0/0 or ::/0 ingress (CKV_AWS_24, CKV_AWS_260)',
    check: (rs) => [
      ...of(rs, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').flatMap((r) => fail(r.inputs['cidrIpv4'] !== '0.0.0.0/0' && r.inputs['cidrIpv6'] !== '::/0', `${r.name}: open to the internet`)),
      ...of(rs, 'aws:ec2/securityGroup:SecurityGroup').flatMap((g) => fail(((g.inputs['ingress'] ?? []) as { cidrBlocks?: string[]; ipv6CidrBlocks?: string[] }[]).every((i) => !(i.cidrBlocks ?? []).includes('0.0.0.0/0') && !(i.ipv6CidrBlocks ?? []).includes('::/0')), `${g.name}: inline ingress open to the internet`)),
    ],
  },
  {
    id: 'described', what: 'every security group and rule described (CKV_AWS_23)',
    check: (rs) => rs.filter((r) => /^aws:(ec2\/securityGroup:|vpc\/securityGroup(Ingress|Egress)Rule:)/.test(r.type)).flatMap((r) => fail(typeof r.inputs['description'] === 'string' && r.inputs['description'].length > 0, `${r.name}: no description`)),
  },
  {
    id: 'no-secrets-in-user-data', what: 'no secrets in user data (CKV_AWS_46)',
    check: (rs) => templates(rs).flatMap((t) => {
      const text = gunzipSync(Buffer.from(t.inputs['userData'] as string, 'base64')).toString('utf8')
      return fail(!/PRIVATE KEY|AKIA[0-9A-Z]{16}|aws_secret_access_key|\bhf_[A-Za-z0-9]{30,}/.test(text), `${t.name}: user data holds a secret`)
    }),
  },
  { id: 'hop-limit', what: 'metadata hop limit ≤ 2 (CKV_AWS_341)', check: (rs) => templates(rs).flatMap((t) => fail((t.inputs['metadataOptions']?.httpPutResponseHopLimit ?? 1) <= 2, `${t.name}: hop limit over 2`)) },
  {
    id: 'no-iam-star', what: 'no IAM * on * (CKV_AWS_63, CKV_AWS_62)',
    check: (rs) => statements(rs).flatMap((st) => {
      const actions = [st.Action].flat()
      const resources = [st.Resource].flat()
      return fail(!(st.Effect === 'Allow' && actions.some((a) => a === '*' || a.endsWith(':*')) && resources.includes('*')), `a statement allows ${actions.join(',')} on *`)
    }),
  },
]

/** Every rule's failures; empty when all hold. */
export function ruleFailures(resources: PreviewResource[]): Record<string, string[]> {
  return Object.fromEntries(RULES.map((r) => [r.id, r.check(resources)]))
}
