import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { cpuArchitecture } from '../instances/arch.js'
import { AWS_CATALOG, AWS_OFFERS } from '../instances/aws.js'
import { planLoaded } from '../planner/plan-loaded.js'
import { loadSpec } from '../spec/load.js'
import { clusterPlanFor, rootVolumeGb } from './cluster-plan.js'
import { nicLayout } from './efa.js'
import { CONFIG_DIR } from './node-scripts.js'
import { nodeIps, parseCidr } from './network.js'
import { dlamiParameter, readSettings } from './settings.js'
import { cloudInit, gzipUserData, type NodeBoot } from './user-data.js'

const efaOf = (type: string) => AWS_OFFERS.find((o) => o.instanceType === type)!.efaInterfaces ?? 0

describe('EFA interface layout per instance type (EC2 DescribeInstanceTypes via the catalog)', () => {
  it.each([['p5.48xlarge', 32], ['p4d.24xlarge', 4], ['g6e.48xlarge', 4], ['g5.48xlarge', 1]])('%s: %i EFA interfaces, the first carrying the IP', (type, count) => {
    const nics = nicLayout(efaOf(type), '10.42.1.10')
    expect(nics).toHaveLength(count)
    expect(nics[0]).toEqual({ networkCardIndex: 0, deviceIndex: 0, interfaceType: 'efa', deleteOnTermination: 'true', privateIpAddress: '10.42.1.10', ...(count === 1 ? { associatePublicIpAddress: 'false' } : {}) })
    // EC2 refuses AssociatePublicIpAddress, even false, when an instance has several NICs
    if (count > 1) expect(nics.every((n) => !('associatePublicIpAddress' in n))).toBe(true)
    expect(nics.slice(1).map((n) => [n.networkCardIndex, n.deviceIndex, n.interfaceType, n.privateIpAddress])).toEqual(Array.from({ length: count - 1 }, (_, i) => [i + 1, 1, 'efa-only', undefined]))
  })
  it('g5.xlarge has no EFA: one plain ENA with the IP', () => {
    expect(efaOf('g5.xlarge')).toBe(0)
    expect(nicLayout(0, '10.42.1.10')).toEqual([{ networkCardIndex: 0, deviceIndex: 0, deleteOnTermination: 'true', associatePublicIpAddress: 'false', privateIpAddress: '10.42.1.10' }])
  })
})

describe('static addresses', () => {
  it('node i is .10 + i of the subnet', () => {
    expect(nodeIps('10.42.1.0/24', 4)).toEqual(['10.42.1.10', '10.42.1.11', '10.42.1.12', '10.42.1.13'])
    expect(nodeIps('172.31.64.0/20', 2)).toEqual(['172.31.64.10', '172.31.64.11'])
  })
  it('refuses a misaligned block, a non-CIDR, and more nodes than the subnet holds', () => {
    expect(() => parseCidr('10.42.1.5/24')).toThrow('not aligned')
    expect(() => parseCidr('10.42.1.0')).toThrow('not an IPv4 CIDR')
    // a /28 has 16 addresses: .10 … .14 leave the broadcast .15 alone, so 5 nodes fit and 6 do not
    expect(nodeIps('10.0.0.16/28', 5)).toHaveLength(5)
    expect(() => nodeIps('10.0.0.16/28', 6)).toThrow('room for 5 nodes')
  })
})

describe('stack settings', () => {
  it('defaults: the stack name, on-demand or spot from the spec, the DLAMI parameter, no SSH from outside', () => {
    const { settings, problems } = readSettings({}, 'Dev_1')
    expect(problems).toEqual([])
    // A NAT by default: the bootstrap installs DeepSpeed and LLaMA-Factory with pip and pdsh with apt.
    expect(settings).toMatchObject({ name: 'dev-1', market: null, sshCidr: null, amiId: null, rootDeviceName: '/dev/sda1', nat: true, offline: false, idleMinutes: 30, retainCheckpoints: false, pythonEnv: '/opt/pytorch' })
    expect(settings.amiParameter).toBeNull()
  })
  it('names the key, the value and what is allowed; did you mean; SSH from the whole internet is refused', () => {
    const { problems } = readSettings({ sshCidr: '0.0.0.0/0', market: 'reserved', amiID: 'ami-0123456789abcdef0', subnetId: 'subnet-0123456789abcdef0' }, 'dev')
    expect(problems).toEqual([
      'ftplan:market: "reserved" is not on-demand, spot or capacity-block',
      'ftplan:sshCidr: 0.0.0.0/0 opens SSH to the whole internet; give your own address range, or leave it out and use SSM Session Manager',
      'ftplan:subnetId needs ftplan:subnetCidr too: the nodes get static addresses in it, so the hostfile is known before they boot',
      'ftplan:subnetId needs ftplan:availabilityZone, the subnet\'s zone',
      'ftplan:subnetId needs ftplan:vpcId, the subnet\'s VPC',
      'ftplan:amiID is not a setting; did you mean ftplan:amiId? (allowed: spec, name, vpcId, subnetId, subnetCidr, availabilityZone, sshCidr, keyName, market, capacityReservationId, amiId, amiParameter, rootDeviceName, nat, maxHours, endpoints, natGatewayId, offline, idleMinutes, retainCheckpoints, pythonEnv)',
    ])
    expect(readSettings({ market: 'capacity-block' }, 'dev').problems).toEqual(['ftplan:market capacity-block needs ftplan:capacityReservationId, the cr-… id of the Capacity Block'])
    // a NAT of ours in the user's VPC would need their ranges and a second internet gateway
    expect(readSettings({ vpcId: 'vpc-0123456789abcdef0', subnetCidr: '172.31.200.0/24', natGatewayId: 'nat-0123456789abcdef0', nat: 'true' }, 'dev').problems).toEqual([
      'ftplan:nat creates a public subnet and an internet gateway of its own, which a VPC of yours cannot take; route through your VPC\'s NAT instead: give ftplan:subnetId of a subnet whose route table reaches it',
    ])
    // a subnet of ours in their VPC needs a way out for the installs: their NAT, or offline
    expect(readSettings({ vpcId: 'vpc-0123456789abcdef0', subnetCidr: '172.31.200.0/24' }, 'dev').problems).toEqual([
      'a subnet of ftplan\'s in your VPC (ftplan:vpcId + ftplan:subnetCidr) has no route out, and the bootstrap installs with pip and apt: give ftplan:natGatewayId (your NAT, nat-…), or ftplan:subnetId of a subnet that reaches the internet, or ftplan:offline: true with your AMI (and SSM endpoints in the VPC)',
    ])
    expect(readSettings({ natGatewayId: 'nat-0123456789abcdef0' }, 'dev').problems).toEqual(['ftplan:natGatewayId routes the subnet ftplan creates in your VPC: it needs ftplan:vpcId and ftplan:subnetCidr, without ftplan:subnetId (your own subnet routes as it does)'])
  })
  it('offline: no NAT, SSM endpoints instead, and it needs the user\'s image', () => {
    const offline = readSettings({ offline: 'true', amiId: 'ami-0123456789abcdef0' }, 'dev')
    expect(offline.problems).toEqual([])
    expect(offline.settings).toMatchObject({ offline: true, nat: false, endpoints: true })
    expect(readSettings({ offline: 'true' }, 'dev').problems).toEqual(['ftplan:offline installs nothing, so it needs your image: give ftplan:amiId (or ftplan:amiParameter) of an AMI with PyTorch, DeepSpeed and pdsh'])
    // the user's VPC routes through its own NAT, if any: ftplan makes none there
    expect(readSettings({ vpcId: 'vpc-0123456789abcdef0', subnetCidr: '172.31.200.0/24' }, 'dev').settings.nat).toBe(false)
    expect(readSettings({ idleMinutes: 'ten' }, 'dev').problems).toEqual(['ftplan:idleMinutes: "ten" is not whole minutes, 0 for no idle stop'])
  })
  it('SSM interface endpoints: in a VPC of ours without NAT; in the user\'s VPC only when asked (private DNS allows one per service)', () => {
    expect(readSettings({}, 'dev').settings.endpoints).toBe(false)
    expect(readSettings({ nat: 'false' }, 'dev').settings.endpoints).toBe(true)
    expect(readSettings({ vpcId: 'vpc-0123456789abcdef0', subnetCidr: '172.31.200.0/24' }, 'dev').settings.endpoints).toBe(false)
    expect(readSettings({ vpcId: 'vpc-0123456789abcdef0', subnetCidr: '172.31.200.0/24', endpoints: 'true' }, 'dev').settings.endpoints).toBe(true)
  })
})

describe('user data', () => {
  const node: NodeBoot = {
    nodeRank: 0, nodes: 1, gpusPerNode: 8, masterAddr: '10.42.1.10', masterPort: 29500, launch: { 'ds_config.json': '{}\n', 'launch.sh': '#!/bin/bash\n' }, planJson: '{}\n',
    requirements: 'deepspeed==0.19.5\n',
    cluster: { region: 'us-east-1', subnetCidr: '10.42.1.0/24', market: 'on-demand', offline: false, idleMinutes: 30, busGbps: 450, launcher: 'hf', deepspeed: '0.19.5', llamafactory: true, llamafactoryRef: 'ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30', torch: '2.11', pythonEnv: '/opt/pytorch' },
  }
  it('stays under EC2\'s 16 KB gzipped, and says so when it would not', () => {
    expect(gzipUserData(cloudInit(node)).length).toBeLessThan(8192)
    // random text does not compress
    const noise = Array.from({ length: 3000 }, (_, i) => ((i * 2654435761) % 4294967296).toString(36)).join('')
    expect(() => cloudInit({ ...node, planJson: noise })).toThrow(/user data is \d+ bytes gzipped; EC2 accepts at most 16384/)
  })
  it('gzip that cloud-init unpacks, the same bytes on every platform (OS byte 255)', () => {
    const gz = gzipUserData(cloudInit(node))
    expect([gz[0], gz[1], gz[9]]).toEqual([0x1f, 0x8b, 255])
    expect(gunzipSync(gz).toString('utf8')).toBe(cloudInit(node))
  })
  it('is a cloud-config that cloud-init\'s schema accepts, and runcmd runs each argument quoted', () => {
    // cloud-init 04eacd06, cloudinit/handlers/__init__.py:45: a part that starts "#cloud-config" is text/cloud-config
    const text = cloudInit(node)
    expect(text.split('\n')[0]).toBe('#cloud-config')
    // util.py:971 load_yaml: PyYAML's safe_load, YAML 1.1, where an unquoted 0644 is octal and yes/on are booleans
    const doc = parse(text, { version: '1.1' }) as Record<string, unknown>
    expect(Object.keys(doc).sort()).toEqual(['runcmd', 'write_files'])
    // cloudinit/config/schemas/schema-cloud-config-v1.json:3625-3707 (cc_write_files): an array of at least one object
    // with a string path (required), no key outside these (additionalProperties: false), permissions an octal string
    const keys = ['path', 'content', 'source', 'owner', 'permissions', 'encoding', 'append', 'defer']
    const files = doc['write_files'] as Record<string, unknown>[]
    expect(files.length).toBeGreaterThanOrEqual(1)
    for (const f of files) {
      expect(typeof f['path'], JSON.stringify(f['path'])).toBe('string')
      expect(Object.keys(f).filter((k) => !keys.includes(k))).toEqual([])
      expect(typeof f['content']).toBe('string')
      // cc_write_files.py:129 decode_perms: int(str(perm), 8); anything else is a warning and 0o644
      expect(f['permissions']).toMatch(/^0[0-7]{3}$/)
    }
    // schema-cloud-config-v1.json:2931-2953 (cc_runcmd): each item an array of strings, a string, or null
    const runcmd = doc['runcmd'] as unknown[]
    for (const c of runcmd) expect(Array.isArray(c) && c.every((a) => typeof a === 'string'), JSON.stringify(c)).toBe(true)
    // cloudinit/util.py:2359-2380 shellify: a list item becomes its words in single quotes, one line of a /bin/sh script
    const shellify = (args: string[]) => args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
    expect((runcmd as string[][]).map(shellify)).toEqual([`'${CONFIG_DIR}/arm-shutdown.sh'`, `'systemctl' 'enable' 'ftplan-time-limit.service'`, `'${CONFIG_DIR}/bootstrap.sh'`])
  })
  it('refuses a value that could be read as shell syntax in the env files the scripts source', () => {
    expect(() => cloudInit({ ...node, cluster: { ...node.cluster, pythonEnv: '/opt/$(id)' } })).toThrow('FTPLAN_PYENV "/opt/$(id)" has characters outside')
  })
})

describe('root volume', () => {
  it('Llama-3.1-70B full over 4 nodes: 100 GB + (4P + 1.5 · (2P + 12P)/4) = 100 + 9.25 · 70.55 GB = 752.6 → 800 GB', () => {
    const P = 70_553_706_496
    expect(100 + (9.25 * P) / 1e9).toBeCloseTo(752.6, 1)
    expect(rootVolumeGb(P, P, 4)).toBe(800)
  })
  it('Llama-3.1-8B LoRA on one node: 100 + 4 · 8.03 + 1.5 · (2 · 8.03 + 12 · 0.042) = 157.0 → 200 GB', () => {
    expect(rootVolumeGb(8_030_261_248, 41_943_040, 1)).toBe(200)
  })
})

describe('the image follows the instance\'s architecture', () => {
  it.each([['g5g.xlarge', 'arm64'], ['p6e-gb200.36xlarge', 'arm64'], ['c7gn.large', 'arm64'], ['p5.48xlarge', 'x86_64'], ['g6e.xlarge', 'x86_64'], ['g4dn.12xlarge', 'x86_64'], ['p4de.24xlarge', 'x86_64']] as const)('%s is %s', (type, arch) => {
    expect(cpuArchitecture(type)).toBe(arch)
  })
  it('a G5g plan boots the arm64 DLAMI, an x86 one the x86_64 DLAMI; ftplan:amiParameter and ftplan:amiId still win', () => {
    const graviton = loadSpec('model: HuggingFaceTB/SmolLM2-360M\nmethod: lora\nseq_len: 512\nconstraints: { gpus: [T4G], regions: [us-east-1], max_nodes: 1 }\n', 'spec.yaml', memorySources())
    const x86 = loadSpec('model: HuggingFaceTB/SmolLM2-360M\nmethod: lora\nseq_len: 512\nconstraints: { gpus: [L4], regions: [us-east-1], max_nodes: 1 }\n', 'spec.yaml', memorySources())
    const image = (l: typeof graviton, values: Record<string, string> = {}) => {
      const r = planLoaded(l, AWS_CATALOG)
      if (r.status !== 'fit') throw new Error('expected a plan')
      return clusterPlanFor(l, r.plan, readSettings(values, 'img').settings, AWS_CATALOG.asOf).imageId
    }
    // The PyTorch DLAMI (PyTorch in /opt/pytorch) lists G5g among its arm64 instances and G6/Gr6 among its x86_64 ones.
    expect(image(graviton)).toBe('resolve:ssm:/aws/service/deeplearning/ami/arm64/oss-nvidia-driver-gpu-pytorch-2.11-ubuntu-24.04/latest/ami-id')
    expect(image(x86)).toBe('resolve:ssm:/aws/service/deeplearning/ami/x86_64/oss-nvidia-driver-gpu-pytorch-2.11-ubuntu-24.04/latest/ami-id')
    expect(image(graviton, { amiParameter: '/mine/ami' })).toBe('resolve:ssm:/mine/ami')
    expect(image(graviton, { amiId: 'ami-0123456789abcdef0' })).toBe('ami-0123456789abcdef0')
  })
})

describe('the image: the PyTorch DLAMI where its release notes list the family, else the base DLAMI', () => {
  it.each([
    ['p5.48xlarge', 'x86_64/oss-nvidia-driver-gpu-pytorch-2.11'], ['p4d.24xlarge', 'x86_64/oss-nvidia-driver-gpu-pytorch-2.11'],
    ['g4dn.xlarge', 'x86_64/oss-nvidia-driver-gpu-pytorch-2.11'], ['p6-b200.48xlarge', 'x86_64/oss-nvidia-driver-gpu-pytorch-2.11'],
    ['g5g.xlarge', 'arm64/oss-nvidia-driver-gpu-pytorch-2.11'],
    // not listed: the base DLAMI, and the bootstrap makes /opt/pytorch with pip's torch
    ['p6-b300.48xlarge', 'x86_64/base-oss-nvidia-driver-gpu'], ['g7e.2xlarge', 'x86_64/base-oss-nvidia-driver-gpu'],
  ] as const)('%s → %s', (type, want) => {
    expect(dlamiParameter(cpuArchitecture(type), type)).toContain(`/aws/service/deeplearning/ami/${want}`)
  })
})
