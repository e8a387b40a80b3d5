import { gunzipSync } from 'node:zlib'
import * as pulumi from '@pulumi/pulumi'
import { parse } from 'yaml'
import { beforeAll, describe, expect, it } from 'vitest'

// The root program under Pulumi's mocks (pulumi-aws-gpu.md §1.7): every resource it registers is recorded.
const created: pulumi.runtime.MockResourceArgs[] = []
await pulumi.runtime.setMocks({
  newResource(a) {
    created.push(a)
    const extra: Record<string, unknown> = {}
    if (a.type === 'aws:ec2/launchTemplate:LaunchTemplate') extra['latestVersion'] = 1
    if (a.type === 'aws:s3/bucket:Bucket') extra['bucket'] = a.name
    // reading an existing reservation: EC2 reports its zone
    if (a.type === 'aws:ec2/capacityReservation:CapacityReservation') extra['availabilityZone'] = 'us-east-1f'
    if (a.type.startsWith('aws:')) extra['arn'] = `arn:aws:${a.type.split(':')[1]!.split('/')[0]}:us-east-1:123456789012:${a.name}`
    // a provider fills in the auto-generated physical name; the mock uses the logical one
    return { id: `${a.name}-id`, state: { name: a.name, ...a.inputs, ...extra } }
  },
  call(a) {
    if (a.token === 'aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings') return { locations: ['us-east-1d', 'us-east-1a'], locationTypes: [], instanceTypes: [] }
    return a.inputs
  },
}, 'ftplan', 'test', true)

const settle = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve, reject) => {
  o.apply(resolve)
  setTimeout(() => reject(new Error('output never resolved (did a mock throw?)')), 10_000)
})

const EVIL = 'evil $(touch /tmp/pwned) `id` \'quote\' "dq"'
// SMALL is one node: a 36B LoRA whose 72.6 GB of bf16 weights no single H100 holds, so 1 × p5.48xlarge (8 × H100).
const SMALL = { model: { name: EVIL, model_type: 'llama', hidden_size: 8192, num_hidden_layers: 40, num_attention_heads: 64, num_key_value_heads: 8, intermediate_size: 28672, vocab_size: 128256 }, method: 'lora', seq_len: 4096, train: { tokens: 1e8 }, constraints: { regions: ['us-east-1'], gpus: ['H100'], max_nodes: 1 } }
// BIG is several nodes: 3 × p5.48xlarge costs the same as 4 within the time band, and the rule takes fewer GPUs.
const BIG = { model: 'meta-llama/Llama-3.1-70B', method: 'full', seq_len: 4096, train: { tokens: 1e8 }, constraints: { gpus: ['H100'], max_nodes: 4, regions: ['us-east-1'] } }

async function runStack(name: string, spec: object, extra: Record<string, string> = {}) {
  const start = created.length
  pulumi.runtime.setAllConfig({ 'ftplan:spec': JSON.stringify(spec), 'ftplan:name': name, ...extra })
  const { ftplanProgram } = await import('./program.js')
  const r = ftplanProgram('/nonexistent')
  await Promise.all(r.outputs.instanceIds.map(settle))
  await Promise.all(r.outputs.ssmCommands.map(settle))
  const resources = created.slice(start)
  return { r, resources, of: (type: string) => resources.filter((x) => x.type === type) }
}

// The launch templates carry the cloud-config gzipped (user-data.ts gzipUserData).
const decode = (b64: string) => gunzipSync(Buffer.from(b64, 'base64')).toString('utf8')

/** BIG's spec as the root program reads it, and the plan ftplan makes for it. */
async function planOfBig() {
  const { stackSpec } = await import('./program.js')
  const { planLoaded } = await import('../planner/plan-loaded.js')
  const { AWS_CATALOG } = await import('../instances/aws.js')
  const loaded = stackSpec('/nonexistent', 'test', { 'ftplan:spec': JSON.stringify(BIG) })
  const p = planLoaded(loaded, AWS_CATALOG)
  if (p.status !== 'fit') throw new Error('expected a plan')
  return { loaded, plan: p.plan }
}

/** Every child resource of a GpuCluster for BIG under these stack settings, with the options Pulumi gives it (a parent's transformations see them). */
async function childOptionsOfBig(name: string, values: Record<string, string>) {
  const { AWS_CATALOG } = await import('../instances/aws.js')
  const { clusterPlanFor } = await import('./cluster-plan.js')
  const { readSettings } = await import('./settings.js')
  const { GpuCluster } = await import('./gpu-cluster.js')
  const big = await planOfBig()
  const plan = clusterPlanFor(big.loaded, big.plan, readSettings(values, name).settings, AWS_CATALOG.asOf)
  const seen: { type: string; opts: pulumi.CustomResourceOptions }[] = []
  const cluster = new GpuCluster(name, { plan, sshPrivateKey: 'k' }, { transformations: [(a) => { seen.push({ type: a.type, opts: a.opts }); return undefined }] })
  await Promise.all(cluster.instanceIds.map(settle))
  return (type: string) => seen.filter((x) => x.type === type).map((x) => x.opts)
}

describe('the root program under mocks', () => {
  let one: Awaited<ReturnType<typeof runStack>>
  let multi: Awaited<ReturnType<typeof runStack>>
  beforeAll(async () => {
    one = await runStack('one', SMALL)
    multi = await runStack('multi', BIG)
  }, 60_000)

  it('creates the planned instances: 1 × p5.48xlarge, and 3 × p5.48xlarge for 70B full', () => {
    expect(one.of('aws:ec2/instance:Instance')).toHaveLength(1)
    expect(multi.of('aws:ec2/instance:Instance')).toHaveLength(3)
    for (const t of [...one.of('aws:ec2/launchTemplate:LaunchTemplate'), ...multi.of('aws:ec2/launchTemplate:LaunchTemplate')]) expect(t.inputs.instanceType).toBe('p5.48xlarge')
    expect(multi.r.outputs).toMatchObject({ instanceType: 'p5.48xlarge', nodes: 3, gpus: 24, region: 'us-east-1', catalogAsOf: '2026-07-20' })
  })

  it('every resource is a child of the GpuCluster component, through the component\'s own provider for the planned region', () => {
    const component = one.resources.find((x) => x.type === 'ftplan:index:GpuCluster')!
    expect(component.custom).toBe(false)
    const provider = one.resources.find((x) => x.type === 'pulumi:providers:aws')!
    expect(provider.inputs.region).toBe('us-east-1')
    const aws = one.resources.filter((x) => x.type.startsWith('aws:'))
    expect(aws.length).toBeGreaterThan(15)
    // the provider's URN carries its parent's type: GpuCluster$pulumi:providers:aws
    for (const r of aws) expect(r.provider).toMatch(/^urn:pulumi:test::ftplan::ftplan:index:GpuCluster\$pulumi:providers:aws::one-aws::/)
  })

  it('the stack\'s aws:region: the plan stays in it and the stack\'s own provider (every aws:* setting) creates the cluster', async () => {
    const west = await runStack('west', { ...SMALL, constraints: { gpus: ['H100'], max_nodes: 1 } }, { 'aws:region': 'us-west-2' })
    expect(west.r.outputs.region).toBe('us-west-2')
    expect(west.resources.filter((x) => x.type === 'pulumi:providers:aws' && x.name === 'west-aws')).toEqual([])
    const aws = west.resources.filter((x) => x.type.startsWith('aws:'))
    for (const r of aws) expect(r.provider ?? '').not.toContain('west-aws')
    pulumi.runtime.setAllConfig({ 'ftplan:spec': JSON.stringify(SMALL), 'ftplan:name': 'clash', 'aws:region': 'eu-west-1' })
    const { ftplanProgram } = await import('./program.js')
    expect(() => ftplanProgram('/nonexistent')).toThrow('the stack deploys to aws:region eu-west-1, which constraints.regions (us-east-1) leaves out')
  })

  it('a provider handed to the component is the one every resource uses', async () => {
    const awsSdk = await import('@pulumi/aws')
    const { GpuCluster } = await import('./gpu-cluster.js')
    const start = created.length
    const mine = new awsSdk.Provider('mine', { region: 'us-east-1' })
    const cluster = new GpuCluster('given', { plan: one.r.plan, sshPrivateKey: 'k' }, { provider: mine })
    await Promise.all(cluster.instanceIds.map(settle))
    const aws = created.slice(start).filter((x) => x.type.startsWith('aws:'))
    expect(aws.length).toBeGreaterThan(10)
    for (const r of aws) expect(r.provider).toMatch(/::pulumi:providers:aws::mine::/)
    expect(created.slice(start).filter((x) => x.type === 'pulumi:providers:aws' && x.name === 'given-aws')).toEqual([])
  })

  it('p5.48xlarge gets 32 EFA interfaces: card 0 an EFA with the static IP, 31 efa-only at device 1; no public IPs', () => {
    for (const t of multi.of('aws:ec2/launchTemplate:LaunchTemplate')) {
      const nics = t.inputs.networkInterfaces as Record<string, unknown>[]
      expect(nics).toHaveLength(32)
      expect(nics[0]).toMatchObject({ networkCardIndex: 0, deviceIndex: 0, interfaceType: 'efa' })
      expect(nics.slice(1).every((n, i) => n['networkCardIndex'] === i + 1 && n['deviceIndex'] === 1 && n['interfaceType'] === 'efa-only' && n['privateIpAddress'] === undefined)).toBe(true)
      // no public address: EC2 allows none with several NICs (the parameter itself is refused), and the subnet maps none
      expect(nics.every((n) => n['associatePublicIpAddress'] === undefined)).toBe(true)
    }
    expect(multi.of('aws:ec2/launchTemplate:LaunchTemplate').map((t) => (t.inputs.networkInterfaces as { privateIpAddress?: string }[])[0]!.privateIpAddress)).toEqual(['10.42.1.10', '10.42.1.11', '10.42.1.12'])
    for (const s of [...one.of('aws:ec2/subnet:Subnet'), ...multi.of('aws:ec2/subnet:Subnet')]) expect(s.inputs.mapPublicIpOnLaunch).toBe(false)
  })

  it('IMDSv2 is required and every volume is encrypted gp3', () => {
    for (const t of [...one.of('aws:ec2/launchTemplate:LaunchTemplate'), ...multi.of('aws:ec2/launchTemplate:LaunchTemplate')]) {
      expect(t.inputs.metadataOptions).toMatchObject({ httpTokens: 'required', httpEndpoint: 'enabled' })
      const disks = t.inputs.blockDeviceMappings as { ebs: Record<string, unknown> }[]
      expect(disks.length).toBeGreaterThan(0)
      for (const d of disks) expect(d.ebs).toMatchObject({ encrypted: 'true', volumeType: 'gp3' })
    }
  })

  it('no ingress from 0.0.0.0/0: the EFA group admits only itself; the endpoints only the VPC', () => {
    const ingress = [...one.of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule'), ...multi.of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')]
    expect(ingress.length).toBeGreaterThan(0)
    for (const rule of ingress) {
      expect(rule.inputs.cidrIpv4).not.toBe('0.0.0.0/0')
      expect(rule.inputs.cidrIpv6).toBeUndefined()
    }
    const self = multi.of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').find((x) => x.name === 'multi-efa-in')!
    expect(self.inputs.referencedSecurityGroupId).toBe(self.inputs.securityGroupId)
  })

  it('one zone: the subnet and every node in the first zone that offers the type; a cluster placement group for 3 nodes', () => {
    const zones = new Set([...multi.of('aws:ec2/subnet:Subnet').map((s) => s.inputs.availabilityZone), ...multi.of('aws:ec2/launchTemplate:LaunchTemplate').map((t) => t.inputs.placement.availabilityZone)])
    expect([...zones]).toEqual(['us-east-1a'])
    expect(multi.of('aws:ec2/placementGroup:PlacementGroup')).toHaveLength(1)
    expect(multi.of('aws:ec2/placementGroup:PlacementGroup')[0]!.inputs.strategy).toBe('cluster')
    expect(multi.of('aws:ec2/launchTemplate:LaunchTemplate').every((t) => t.inputs.placement.groupName === 'multi-pg')).toBe(true)
  })

  it('user data carries the ds_config byte for byte and a hostfile of every node\'s static IP', async () => {
    const { dsConfigText } = await import('../deepspeed/config.js')
    const { dsConfigForPlan } = await import('../deepspeed/for-plan.js')
    const { loaded, plan } = await planOfBig()
    // The HF-style config: HF Trainer and LLaMA-Factory, which ftplan-train launches, fill in its "auto" values.
    const expected = dsConfigText(dsConfigForPlan(loaded, plan, 'hf'))
    for (const [rank, t] of multi.of('aws:ec2/launchTemplate:LaunchTemplate').entries()) {
      expect(Buffer.from(t.inputs.userData, 'base64').length).toBeLessThanOrEqual(16 * 1024)
      const text = decode(t.inputs.userData)
      expect(text.startsWith('#cloud-config\n')).toBe(true)
      const doc = parse(text) as { write_files: { path: string; content: string }[]; runcmd: string[][] }
      const file = (path: string) => doc.write_files.find((f) => f.path === path)!.content
      expect(file('/etc/ftplan/launch/ds_config.json')).toBe(expected)
      expect(file('/etc/ftplan/launch/hostfile')).toBe('10.42.1.10 slots=8\n10.42.1.11 slots=8\n10.42.1.12 slots=8\n')
      // EFA between p5 nodes: libfabric's provider, which DeepSpeed's runner forwards only from .deepspeed_env
      expect(file('/etc/ftplan/launch/.deepspeed_env')).toContain('FI_PROVIDER=efa\n')
      expect(file('/etc/ftplan/requirements.txt')).toBe('deepspeed==0.19.5\nllamafactory @ git+https://github.com/hiyouga/LLaMA-Factory.git@ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30\n')
      expect(file('/etc/ftplan/cluster.env')).toContain('FTPLAN_MARKET=on-demand\n')
      // the pinned LLaMA-Factory's ref, whose data/ folder the bootstrap fetches
      expect(file('/etc/ftplan/cluster.env')).toContain('FTPLAN_LF_REF=ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30\n')
      // no LLaMA-Factory checkout on a node: its demo set from the hub (dataset_dir ONLINE, data/parser.py:100)
      expect(parse(file('/etc/ftplan/launch/train.yaml'))).toMatchObject({ model_name_or_path: 'meta-llama/Llama-3.1-70B', dataset_dir: 'ONLINE', dataset: 'llamafactory/alpaca_en', finetuning_type: 'full' })
      expect(file('/etc/ftplan/node.env')).toContain(`NODE_RANK=${rank}\n`)
      expect(file('/etc/ftplan/node.env')).toContain('MASTER_ADDR=10.42.1.10\n')
      expect(text).not.toContain('PRIVATE KEY')
    }
  })

  it('a spec string with $(…), backticks and quotes stays data: it is only in a file\'s content, never in a command', () => {
    const t = one.of('aws:ec2/launchTemplate:LaunchTemplate')[0]!
    const doc = parse(decode(t.inputs.userData)) as { write_files: { path: string; content: string }[]; runcmd: string[][] }
    const plan = JSON.parse(doc.write_files.find((f) => f.path === '/etc/ftplan/plan.json')!.content) as { model: string }
    expect(plan.model).toBe(EVIL)
    expect(JSON.stringify(doc.runcmd)).not.toContain('touch')
    expect(doc.write_files.find((f) => f.path === '/etc/ftplan/bootstrap.sh')!.content).not.toContain('touch')
    // the time limit first, re-armed at every later boot by its unit, then the bootstrap
    expect(doc.runcmd).toEqual([['/etc/ftplan/arm-shutdown.sh'], ['systemctl', 'enable', 'ftplan-time-limit.service'], ['/etc/ftplan/bootstrap.sh']])
    // the env files the scripts source hold only checked values
    for (const f of doc.write_files.filter((x) => x.path.endsWith('.env'))) expect(f.content).toMatch(/^([A-Z_]+=[A-Za-z0-9/_.:-]+\n)+$/)
  })

  it('least privilege: the node reads its own cluster\'s SSH key and nothing else of SSM; no managed policy, no GetParameter* on *', () => {
    const [param] = one.of('aws:ssm/parameter:Parameter')
    expect(param!.inputs).toMatchObject({ name: '/ftplan/one/ssh/id_rsa', type: 'SecureString' })
    const statements = one.of('aws:iam/rolePolicy:RolePolicy').flatMap((p) => (JSON.parse(p.inputs.policy) as { Statement: { Action: string | string[]; Resource: string }[] }).Statement)
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: 'arn:aws:ssm:us-east-1:123456789012:one-ssh-key' })
    for (const st of statements) {
      const actions = [st.Action].flat()
      // AmazonSSMManagedInstanceCore grants ssm:GetParameter* on *: every node could read every cluster's key
      if (st.Resource === '*') expect(actions.filter((a) => /^ssm:GetParameter|^ssm:\*|^\*$/.test(a))).toEqual([])
      expect(actions).not.toContain('*')
    }
    // Session Manager's own actions, as AWS's AWSCloud9SSMInstanceProfile grants them
    expect(statements.flatMap((st) => [st.Action].flat())).toEqual(expect.arrayContaining(['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel']))
    expect(one.of('aws:iam/rolePolicyAttachment:RolePolicyAttachment')).toEqual([])
  })

  it('the SSH key is made once by a tls.PrivateKey in the stack\'s state (RSA 3072), not regenerated by the program on every run', () => {
    const keys = one.of('tls:index/privateKey:PrivateKey')
    expect(keys.map((k) => [k.name, k.inputs.algorithm, k.inputs.rsaBits])).toEqual([['one-ssh', 'RSA', 3072]])
  })

  it('the bill stops: every node shuts down after its time limit and a shutdown terminates it; the limit is an instance tag, not launch-template data', () => {
    const o = multi.r.outputs
    // the default: twice the estimated hours plus one, in whole hours (settings.ts maxHoursFor)
    expect(o.maxHours).toBe(Math.ceil(2 * o.estimatedJobHours! + 1))
    for (const t of multi.of('aws:ec2/launchTemplate:LaunchTemplate')) {
      expect(t.inputs.instanceInitiatedShutdownBehavior).toBe('terminate')
      expect(t.inputs.metadataOptions.instanceMetadataTags).toBe('enabled')
      expect(JSON.stringify(t.inputs.tagSpecifications)).not.toContain('max-minutes')
    }
    for (const i of multi.of('aws:ec2/instance:Instance')) expect(i.inputs.tags['ftplan:max-minutes']).toBe(String(Math.ceil(o.maxHours * 60)))
  })

  it('ftplan:maxHours sets the limit', async () => {
    const capped = await runStack('capped', SMALL, { 'ftplan:maxHours': '1.5' })
    expect(capped.r.outputs.maxHours).toBe(1.5)
    expect(capped.of('aws:ec2/instance:Instance')[0]!.inputs.tags['ftplan:max-minutes']).toBe('90')
  })

  it('checkov-style rules: detailed monitoring, EBS-optimized, every security group and rule described', () => {
    for (const t of [...one.of('aws:ec2/launchTemplate:LaunchTemplate'), ...multi.of('aws:ec2/launchTemplate:LaunchTemplate')]) {
      expect(t.inputs.monitoring).toEqual({ enabled: true })
      expect(t.inputs.ebsOptimized).toBe('true')
    }
    const groups = [...one.of('aws:ec2/securityGroup:SecurityGroup'), ...multi.of('aws:ec2/securityGroup:SecurityGroup')]
    const rules = [...one.resources, ...multi.resources].filter((x) => /^aws:vpc\/securityGroup(Ingress|Egress)Rule:/.test(x.type))
    expect(rules.length).toBeGreaterThan(4)
    for (const x of [...groups, ...rules]) expect(typeof x.inputs.description === 'string' && x.inputs.description.length > 0, x.name).toBe(true)
  })

  it('instances are replaced delete-before-create: their static IP can belong to one instance at a time', async () => {
    const instances = (await childOptionsOfBig('dbr', {}))('aws:ec2/instance:Instance')
    expect(instances).toHaveLength(3)
    for (const opts of instances) expect(opts.deleteBeforeReplace).toBe(true)
    // the node's own status tag is not Pulumi's to remove on a refreshed up
    for (const opts of instances) expect(opts.ignoreChanges).toEqual(['tags["ftplan:bootstrap"]'])
  })

  it('a looked-up zone stays: a later lookup that answers otherwise moves neither the subnet nor the nodes; a reservation\'s zone is its own', async () => {
    const options = async (name: string, values: Record<string, string>) => {
      const of = await childOptionsOfBig(name, values)
      return (type: string) => of(type).map((o) => o.ignoreChanges ?? [])
    }
    const looked = await options('zl', {})
    expect(looked('aws:ec2/subnet:Subnet')).toEqual([['availabilityZone'], ['availabilityZone']])
    expect(looked('aws:ec2/launchTemplate:LaunchTemplate')).toEqual(Array(3).fill(['placement.availabilityZone']))
    const reserved = await options('zr', { market: 'capacity-block', capacityReservationId: 'cr-0123456789abcdef0' })
    expect(reserved('aws:ec2/subnet:Subnet').flat()).toEqual([])
    expect(reserved('aws:ec2/launchTemplate:LaunchTemplate').flat()).toEqual([])
  })

  it('user data holds nothing that moves with the catalog or the estimate, so a newer catalog does not replace the nodes', () => {
    for (const t of multi.of('aws:ec2/launchTemplate:LaunchTemplate')) {
      const text = decode(t.inputs.userData)
      for (const word of ['catalogAsOf', 'hourlyCostUsd', 'estimatedJob', 'gpuMemoryNeededGb', '2026-07-20']) expect(text).not.toContain(word)
    }
  })

  it('the cost outputs are plain numbers, known at preview', () => {
    const o = multi.r.outputs
    expect(typeof o.hourlyCostUsd).toBe('number')
    expect(o.hourlyCostUsd).toBeCloseTo(3 * 55.04, 1)
    expect(typeof o.estimatedJobHours).toBe('number')
    // hours are rounded to the hundredth for display; the cost is from the unrounded hours
    expect(Math.abs(o.estimatedJobCostUsd! - o.estimatedJobHours! * o.hourlyCostUsd!)).toBeLessThan(0.005 * o.hourlyCostUsd! + 0.01)
    // what ftplan-train runs from the job folder on every node: LLaMA-Factory's CLI on the folder's YAML and config
    expect(o.launchCommand).toBe('FORCE_TORCHRUN=1 NNODES=3 NODE_RANK=$NODE_RANK NPROC_PER_NODE=8 MASTER_ADDR=10.42.1.10 MASTER_PORT=29500 llamafactory-cli train launch/train.yaml deepspeed=launch/ds_config.json')
    expect(o.trainCommand).toBe('ftplan-train llamafactory')
    // the NAT's own hour (gateway $0.045 + its IPv4 $0.005) and its per-GB processing of 3 nodes × (2 B × 70.55e9 + 3 GB)
    expect(o.natHourlyCostUsd).toBe(0.05)
    expect(o.natDownloadCostUsd).toBeCloseTo(3 * (2 * 70.553706496 + 3) * 0.045, 1)
    expect(o.gpuMemoryNeededGb).toBeLessThanOrEqual(o.gpuMemoryAvailableGb)
  })

  it('a Capacity Block: capacity-block market, the reservation targeted, no placement group of ours, its own zone', async () => {
    const cb = await runStack('cb', BIG, { 'ftplan:market': 'capacity-block', 'ftplan:capacityReservationId': 'cr-0123456789abcdef0' })
    expect(cb.of('aws:ec2/placementGroup:PlacementGroup')).toHaveLength(0)
    // read (id given), not created: the subnet and every node go to the reservation's zone, not the first that offers the type
    const read = cb.of('aws:ec2/capacityReservation:CapacityReservation')
    expect(read.map((r) => r.id)).toEqual(['cr-0123456789abcdef0'])
    for (const subnet of cb.of('aws:ec2/subnet:Subnet')) expect(subnet.inputs.availabilityZone).toBe('us-east-1f')
    for (const t of cb.of('aws:ec2/launchTemplate:LaunchTemplate')) expect(t.inputs.placement.availabilityZone).toBe('us-east-1f')
    for (const t of cb.of('aws:ec2/launchTemplate:LaunchTemplate')) {
      expect(t.inputs.instanceMarketOptions).toEqual({ marketType: 'capacity-block' })
      expect(t.inputs.capacityReservationSpecification).toEqual({ capacityReservationTarget: { capacityReservationId: 'cr-0123456789abcdef0' } })
      expect(t.inputs.placement.groupName).toBeUndefined()
    }
  })

  it('spot: one-time requests that terminate on interruption (the only kind a cluster placement group takes)', async () => {
    const spot = await runStack('spot', BIG, { 'ftplan:market': 'spot' })
    for (const t of spot.of('aws:ec2/launchTemplate:LaunchTemplate')) {
      expect(t.inputs.instanceMarketOptions).toEqual({ marketType: 'spot', spotOptions: { instanceInterruptionBehavior: 'terminate', spotInstanceType: 'one-time' } })
    }
    expect(spot.r.outputs.market).toBe('spot')
    expect(spot.r.outputs.estimatedJobCostUsd).toBeCloseTo(spot.r.outputs.estimatedJobHours! * spot.r.outputs.spotHourlyCostUsd!, -1)
  })

  it('the user\'s VPC and subnet: no network of ours, static addresses inside their CIDR, SSH only from their range', async () => {
    const own = await runStack('own', BIG, {
      'ftplan:vpcId': 'vpc-0123456789abcdef0', 'ftplan:subnetId': 'subnet-0123456789abcdef0', 'ftplan:subnetCidr': '172.31.32.0/20',
      'ftplan:availabilityZone': 'us-east-1c', 'ftplan:sshCidr': '203.0.113.7/32',
    })
    expect(own.of('aws:ec2/vpc:Vpc')).toHaveLength(0)
    expect(own.of('aws:ec2/subnet:Subnet')).toHaveLength(0)
    const templates = own.of('aws:ec2/launchTemplate:LaunchTemplate')
    expect(templates.map((t) => t.inputs.networkInterfaces[0].privateIpAddress)).toEqual(['172.31.32.10', '172.31.32.11', '172.31.32.12'])
    expect(templates.every((t) => t.inputs.networkInterfaces.every((n: { subnetId: string }) => n.subnetId === 'subnet-0123456789abcdef0'))).toBe(true)
    expect(templates.every((t) => t.inputs.placement.availabilityZone === 'us-east-1c')).toBe(true)
    const ssh = own.of('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').find((r) => r.inputs.fromPort === 22)!
    expect(ssh.inputs).toMatchObject({ cidrIpv4: '203.0.113.7/32', ipProtocol: 'tcp', toPort: 22 })
  })

  it('a subnet of ours in the user\'s VPC, at their CIDR: no VPC, gateway or SSM endpoints of ours (theirs may hold the private DNS), S3 through our route table', async () => {
    const theirs = await runStack('theirs', BIG, { 'ftplan:vpcId': 'vpc-0123456789abcdef0', 'ftplan:subnetCidr': '172.31.200.0/24', 'ftplan:natGatewayId': 'nat-0123456789abcdef0' })
    expect(theirs.of('aws:ec2/vpc:Vpc')).toHaveLength(0)
    expect(theirs.of('aws:ec2/internetGateway:InternetGateway')).toHaveLength(0)
    expect(theirs.of('aws:ec2/natGateway:NatGateway')).toHaveLength(0)
    // out through their NAT, from our subnet's own route table
    expect(theirs.of('aws:ec2/route:Route').map((r) => r.inputs)).toEqual([{ routeTableId: 'theirs-private-id', destinationCidrBlock: '0.0.0.0/0', natGatewayId: 'nat-0123456789abcdef0' }])
    expect(theirs.of('aws:ec2/subnet:Subnet').map((x) => [x.inputs.vpcId, x.inputs.cidrBlock])).toEqual([['vpc-0123456789abcdef0', '172.31.200.0/24']])
    const endpoints = theirs.of('aws:ec2/vpcEndpoint:VpcEndpoint')
    expect(endpoints.map((e) => e.inputs.vpcEndpointType)).toEqual(['Gateway'])
    expect(endpoints[0]!.inputs.routeTableIds).toEqual(['theirs-private-id'])
    expect(theirs.of('aws:ec2/launchTemplate:LaunchTemplate').map((t) => t.inputs.networkInterfaces[0].privateIpAddress)).toEqual(['172.31.200.10', '172.31.200.11', '172.31.200.12'])
  })

  it('bad settings stop the program with every problem named', async () => {
    pulumi.runtime.setAllConfig({ 'ftplan:spec': JSON.stringify(SMALL), 'ftplan:sshCidr': '0.0.0.0/0', 'ftplan:markit': 'spot' })
    const { ftplanProgram } = await import('./program.js')
    expect(() => ftplanProgram('/nonexistent')).toThrow('stack test settings:\n  ftplan:sshCidr: 0.0.0.0/0 opens SSH to the whole internet; give your own address range, or leave it out and use SSM Session Manager\n  ftplan:markit is not a setting; did you mean ftplan:market?')
  })

  it('the entry point exports the cost outputs as plain values: what pulumi preview prints', async () => {
    pulumi.runtime.setAllConfig({ 'ftplan:spec': JSON.stringify(SMALL), 'ftplan:name': 'main' })
    const m = await import('./main.js')
    await Promise.all(m.instanceIds.map(settle))
    expect(m).toMatchObject({ instanceType: 'p5.48xlarge', region: 'us-east-1', nodes: 1, gpus: 8, gpuModel: 'H100', hourlyCostUsd: 55.04, market: 'on-demand', catalogAsOf: '2026-07-20' })
    expect(typeof m.estimatedJobCostUsd).toBe('number')
    // the session lands as ubuntu, who holds the SSH key pdsh needs and ~/.deepspeed_env, not as ssm-user
    expect(await settle(m.ssmCommands[0]!)).toBe('aws ssm start-session --region us-east-1 --document-name AWS-StartInteractiveCommand --parameters \'command=["sudo -iu ubuntu"]\' --target main-node-0-id')
  })
})

describe('what trains and what stops the bill', () => {
  let one: Awaited<ReturnType<typeof runStack>>
  let spot: Awaited<ReturnType<typeof runStack>>
  beforeAll(async () => {
    one = await runStack('bill', SMALL)
    spot = await runStack('bills', BIG, { 'ftplan:market': 'spot' })
  }, 60_000)
  type Statement = { Effect: string; Action: string | string[]; Resource: string; Condition?: Record<string, Record<string, unknown>> }
  const statementsOf = (r: typeof one) => r.of('aws:iam/rolePolicy:RolePolicy').flatMap((p) => (JSON.parse(p.inputs.policy) as { Statement: Statement[] }).Statement)

  it('a NAT gateway by default in a VPC of ours, so pip and apt reach the internet; HTTP out for Ubuntu\'s mirrors', () => {
    expect(one.of('aws:ec2/natGateway:NatGateway')).toHaveLength(1)
    expect(one.of('aws:ec2/route:Route')[0]!.inputs).toMatchObject({ destinationCidrBlock: '0.0.0.0/0', natGatewayId: 'bill-nat-id' })
    const out = one.of('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule').filter((r) => r.inputs.cidrIpv4 === '0.0.0.0/0').map((r) => r.inputs.fromPort)
    expect(out.sort()).toEqual([443, 80])
    // through the NAT the nodes reach SSM: no interface endpoints to pay for
    expect(one.of('aws:ec2/vpcEndpoint:VpcEndpoint').map((e) => e.inputs.vpcEndpointType)).toEqual(['Gateway'])
  })

  it('offline: no NAT, no HTTP out, SSM through endpoints, the user\'s image', async () => {
    const off = await runStack('off', SMALL, { 'ftplan:offline': 'true', 'ftplan:amiId': 'ami-0123456789abcdef0' })
    expect(off.of('aws:ec2/natGateway:NatGateway')).toHaveLength(0)
    expect(off.of('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule').map((r) => r.inputs.fromPort).filter((p) => p === 80)).toEqual([])
    expect(off.of('aws:ec2/vpcEndpoint:VpcEndpoint').map((e) => e.inputs.serviceName).sort()).toEqual(['com.amazonaws.us-east-1.ec2messages', 'com.amazonaws.us-east-1.s3', 'com.amazonaws.us-east-1.ssm', 'com.amazonaws.us-east-1.ssmmessages'])
    expect(off.r.outputs.natHourlyCostUsd).toBeNull()
    expect(decode(off.of('aws:ec2/launchTemplate:LaunchTemplate')[0]!.inputs.userData)).toContain('FTPLAN_OFFLINE=1\n')
  })

  it('checkpoints: an S3 bucket, encrypted, versioned, public access blocked, emptied on destroy unless kept; the node\'s role reaches that bucket only', async () => {
    expect(one.of('aws:s3/bucket:Bucket').map((b) => b.inputs.forceDestroy)).toEqual([true])
    expect(one.of('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration')[0]!.inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }])
    expect(one.of('aws:s3/bucketVersioning:BucketVersioning')[0]!.inputs.versioningConfiguration).toEqual({ status: 'Enabled' })
    expect(one.of('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock')[0]!.inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true })
    const s3 = statementsOf(one).filter((st) => [st.Action].flat().some((a) => a.startsWith('s3:')))
    expect(s3.map((st) => st.Resource)).toEqual(['arn:aws:s3:us-east-1:123456789012:bill-checkpoints', 'arn:aws:s3:us-east-1:123456789012:bill-checkpoints/*'])
    const kept = await runStack('kept', SMALL, { 'ftplan:retainCheckpoints': 'true' })
    expect(kept.of('aws:s3/bucket:Bucket').map((b) => b.inputs.forceDestroy)).toEqual([false])
  })

  it('a node tags only itself and only ftplan:bootstrap; on-demand nodes cannot terminate anything', () => {
    const tagging = statementsOf(one).find((st) => st.Action === 'ec2:CreateTags')!
    expect(tagging.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/ftplan:cluster': 'bill' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['ftplan:bootstrap'] } })
    expect(statementsOf(one).flatMap((st) => [st.Action].flat())).not.toContain('ec2:TerminateInstances')
  })

  it('spot: a node may end its own cluster\'s instances (one reclaimed node leaves the others unable to train), nothing else', () => {
    const end = statementsOf(spot).find((st) => st.Action === 'ec2:TerminateInstances')!
    expect(end).toEqual({ Effect: 'Allow', Action: 'ec2:TerminateInstances', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: { StringEquals: { 'aws:ResourceTag/ftplan:cluster': 'bills' } } })
    for (const i of spot.of('aws:ec2/instance:Instance')) expect(i.inputs.tags['ftplan:cluster']).toBe('bills')
    expect(decode(spot.of('aws:ec2/launchTemplate:LaunchTemplate')[0]!.inputs.userData)).toContain('FTPLAN_MARKET=spot\n')
  })

  it('every node finds its bucket and key parameter in its own tags; the job starts with one command on node 0', async () => {
    const [node] = one.of('aws:ec2/instance:Instance')
    expect(node!.inputs.tags).toMatchObject({ 'ftplan:bucket': 'bill-checkpoints', 'ftplan:ssh-key': '/ftplan/bill/ssh/id_rsa', 'ftplan:cluster': 'bill' })
    expect(await settle(one.r.outputs.startJob)).toBe('aws ssm start-session --region us-east-1 --document-name AWS-StartInteractiveCommand --parameters \'command=["sudo -iu ubuntu tmux new-session -A -s ftplan ftplan-train llamafactory"]\' --target bill-node-0-id')
    expect(one.r.outputs).toMatchObject({ bootstrapLog: '/var/log/ftplan-bootstrap.log', idleMinutes: 30, trainCommand: 'ftplan-train llamafactory' })
  })
})

describe('the stack file is the spec when there is one', () => {
  it('errors point at the stack file\'s line and column', async () => {
    const { stackSpec } = await import('./program.js')
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-stack-'))
    mkdirSync(join(dir, 'stacks'))
    writeFileSync(join(dir, 'stacks', 'Pulumi.dev.yaml'), 'config:\n  ftplan:spec:\n    model: meta-llama/Llama-3.1-8B\n    methd: lora\n')
    expect(() => stackSpec(dir, 'dev', {})).toThrow('the spec has problems:\nstacks/Pulumi.dev.yaml:4:5: methd: unknown key; allowed: version, model, method, lora, freeze, quantization, precision, optimizer, scheduler, batch, seq_len, gradient_checkpointing, attention, loss, deepspeed, gpus, train, constraints, margin, software; did you mean method?')
  })
})
