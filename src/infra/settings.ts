import { didYouMean } from '../suggest.js'

/** The optional `ftplan:*` stack settings beside `ftplan:spec`, validated. */
export interface ClusterSettings {
  /** Prefix of every resource name and of the SSM parameter path; default: the stack name. */
  name: string
  vpcId: string | null
  subnetId: string | null
  subnetCidr: string | null
  availabilityZone: string | null
  /** CIDR allowed to reach port 22; null: no SSH ingress from outside the cluster (SSM Session Manager only). */
  sshCidr: string | null
  keyName: string | null
  /** null: spot when the spec's constraints.spot, else on-demand. */
  market: 'on-demand' | 'spot' | 'capacity-block' | null
  capacityReservationId: string | null
  /** Pinned AMI; null: the DLAMI SSM parameter, resolved by EC2 at launch. */
  amiId: string | null
  /** null: the DLAMI for the instance's architecture (dlamiParameter). */
  amiParameter: string | null
  rootDeviceName: string
  /**
   * A NAT gateway for internet egress (pip, apt, the Hugging Face hub). Default: on in a VPC of ftplan's unless
   * offline; never in the user's VPC, which routes through its own.
   */
  nat: boolean
  /** The user's NAT gateway, which the subnet ftplan makes in their VPC routes through. */
  natGatewayId: string | null
  /** The AMI holds the training stack: the bootstrap installs nothing, and no NAT is made by default. */
  offline: boolean
  /** Minutes of idle GPUs, after a job started, before a node shuts down; 0: no idle stop. */
  idleMinutes: number
  /** Keep the checkpoint bucket (and its objects) when the stack is destroyed. */
  retainCheckpoints: boolean
  /** The image's Python environment with PyTorch (the PyTorch DLAMI's /opt/pytorch). */
  pythonEnv: string
  /** Hours after boot at which every node shuts down and terminates; null: maxHoursFor(the estimated job hours). */
  maxHours: number | null
  /**
   * SSM interface endpoints for the new subnet. Default: in a VPC of ours, yes; in the user's VPC, no, since
   * private DNS allows one endpoint per service in a VPC and theirs may exist (or they route through NAT).
   */
  endpoints: boolean
}

/**
 * DLAMI public parameter (AWS DLAMI guide, "Finding the ID of a DLAMI": /aws/service/deeplearning/ami/$architecture/
 * $ami_type/latest/ami-id, architecture x86_64 or arm64): the Base OSS Nvidia Driver GPU AMI, Ubuntu 22.04, with the
 * NVIDIA driver, EFA and NCCL; its ARM64 edition serves G5g (DLAMI release notes, gpubaseossarm64-ul2204).
 */
export function dlamiParameter(arch: 'x86_64' | 'arm64', instanceType = ''): string {
  const family = instanceType.split('.')[0] ?? ''
  return PYTORCH_DLAMI_FAMILIES[arch].includes(family)
    ? `/aws/service/deeplearning/ami/${arch}/oss-nvidia-driver-gpu-pytorch-${PYTORCH_DLAMI_VERSION}-ubuntu-24.04/latest/ami-id`
    : `/aws/service/deeplearning/ami/${arch}/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id`
}

/**
 * The PyTorch DLAMI: Ubuntu 24.04, PyTorch in /opt/pytorch, NVIDIA driver, EFA, NCCL and the OFI plugin. Its release
 * notes list the instances it supports ("Deep Learning OSS Nvidia Driver AMI GPU PyTorch 2.11 (Ubuntu 24.04)",
 * supported_ec2_instances, 2026-10): x86_64 G4dn, G5, G6, Gr6, G6e, P4, P4de, P5, P5e, P5en, P6-B200; arm64 G5g,
 * P6e-GB200. Other families get the base DLAMI, and the bootstrap makes the environment with pip's torch.
 */
export const PYTORCH_DLAMI_VERSION = '2.11'
export const PYTORCH_DLAMI_FAMILIES: Record<'x86_64' | 'arm64', readonly string[]> = {
  x86_64: ['g4dn', 'g5', 'g6', 'gr6', 'g6e', 'p4d', 'p4de', 'p5', 'p5e', 'p5en', 'p6-b200'],
  arm64: ['g5g', 'p6e-gb200'],
}
export const DEFAULT_AMI_PARAMETER = dlamiParameter('x86_64', 'p5.48xlarge')
/** Minutes of idle GPUs, after a job started, before a node stops itself: a choice, long enough for a checkpoint upload or an evaluation run on the CPU between jobs. */
export const DEFAULT_IDLE_MINUTES = 30

const KEYS = ['name', 'vpcId', 'subnetId', 'subnetCidr', 'availabilityZone', 'sshCidr', 'keyName', 'market', 'capacityReservationId', 'amiId', 'amiParameter', 'rootDeviceName', 'nat', 'maxHours', 'endpoints', 'natGatewayId', 'offline', 'idleMinutes', 'retainCheckpoints', 'pythonEnv'] as const

const PATTERNS: Record<string, [RegExp, string]> = {
  name: [/^[a-z][a-z0-9-]{0,30}$/, 'lower-case letters, digits and -, starting with a letter, at most 31'],
  vpcId: [/^vpc-[0-9a-f]{8,17}$/, 'a VPC id, vpc-0123456789abcdef0'],
  subnetId: [/^subnet-[0-9a-f]{8,17}$/, 'a subnet id, subnet-0123456789abcdef0'],
  subnetCidr: [/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'the subnet\'s IPv4 CIDR, e.g. 10.0.1.0/24'],
  availabilityZone: [/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, 'an availability zone, e.g. us-east-1a'],
  sshCidr: [/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR, e.g. 203.0.113.7/32'],
  keyName: [/^[\w.-]{1,255}$/, 'an EC2 key pair name'],
  market: [/^(on-demand|spot|capacity-block)$/, 'on-demand, spot or capacity-block'],
  capacityReservationId: [/^cr-[0-9a-f]{8,17}$/, 'a capacity reservation or Capacity Block id, cr-0123456789abcdef0'],
  amiId: [/^ami-[0-9a-f]{8,17}$/, 'an AMI id, ami-0123456789abcdef0'],
  amiParameter: [/^\/[\w./-]+$/, 'an SSM parameter path, e.g. ' + DEFAULT_AMI_PARAMETER],
  rootDeviceName: [/^\/dev\/[a-z0-9]+$/, 'the AMI\'s root device, /dev/sda1 (Ubuntu) or /dev/xvda (Amazon Linux)'],
  nat: [/^(true|false)$/, 'true or false'],
  maxHours: [/^(\d{1,4}(\.\d+)?|\.\d+)$/, 'hours, a number such as 12 or 0.5'],
  endpoints: [/^(true|false)$/, 'true or false'],
  natGatewayId: [/^nat-[0-9a-f]{8,17}$/, 'a NAT gateway id, nat-0123456789abcdef0'],
  offline: [/^(true|false)$/, 'true or false'],
  idleMinutes: [/^\d{1,5}$/, 'whole minutes, 0 for no idle stop'],
  retainCheckpoints: [/^(true|false)$/, 'true or false'],
  pythonEnv: [/^\/[\w./-]+$/, 'an absolute path to a Python environment, e.g. /opt/pytorch'],
}

/** Reads the settings; returns every problem, each naming the key, the value and what is allowed. */
export function readSettings(values: Record<string, string | undefined>, stack: string): { settings: ClusterSettings; problems: string[] } {
  const problems: string[] = []
  const get = (key: (typeof KEYS)[number]): string | null => {
    const v = values[key]
    if (v === undefined || v === '') return null
    const [re, allowed] = PATTERNS[key]!
    if (!re.test(v)) {
      problems.push(`ftplan:${key}: ${JSON.stringify(v)} is not ${allowed}`)
      return null
    }
    return v
  }
  const fallbackName = stack.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^[^a-z]+/, '').slice(0, 31) || 'ftplan'
  const maxHoursText = get('maxHours')
  const settings: ClusterSettings = {
    name: get('name') ?? fallbackName,
    vpcId: get('vpcId'),
    subnetId: get('subnetId'),
    subnetCidr: get('subnetCidr'),
    availabilityZone: get('availabilityZone'),
    sshCidr: get('sshCidr'),
    keyName: get('keyName'),
    market: get('market') as ClusterSettings['market'],
    capacityReservationId: get('capacityReservationId'),
    amiId: get('amiId'),
    amiParameter: get('amiParameter'),
    rootDeviceName: get('rootDeviceName') ?? '/dev/sda1',
    nat: false,
    natGatewayId: get('natGatewayId'),
    offline: get('offline') === 'true',
    idleMinutes: Number(get('idleMinutes') ?? DEFAULT_IDLE_MINUTES),
    retainCheckpoints: get('retainCheckpoints') === 'true',
    pythonEnv: get('pythonEnv') ?? '/opt/pytorch',
    maxHours: maxHoursText === null ? null : Number(maxHoursText),
    endpoints: false,
  }
  const natText = get('nat')
  settings.nat = natText === null ? settings.vpcId === null && settings.subnetId === null && !settings.offline : natText === 'true'
  if (settings.offline && !settings.amiId && !settings.amiParameter) problems.push('ftplan:offline installs nothing, so it needs your image: give ftplan:amiId (or ftplan:amiParameter) of an AMI with PyTorch, DeepSpeed and pdsh')
  const endpointsText = get('endpoints')
  // Through a NAT the nodes reach SSM without endpoints; without one (offline) they need them.
  settings.endpoints = endpointsText === null ? settings.vpcId === null && settings.subnetId === null && !settings.nat : endpointsText === 'true'
  if (settings.maxHours !== null && !(settings.maxHours > 0)) problems.push(`ftplan:maxHours: ${values['maxHours']} would stop the nodes at once; give the hours the job may run`)
  if (settings.sshCidr && /\/0$/.test(settings.sshCidr)) problems.push(`ftplan:sshCidr: ${settings.sshCidr} opens SSH to the whole internet; give your own address range, or leave it out and use SSM Session Manager`)
  if (settings.subnetId && !settings.subnetCidr) problems.push('ftplan:subnetId needs ftplan:subnetCidr too: the nodes get static addresses in it, so the hostfile is known before they boot')
  if (settings.subnetId && !settings.availabilityZone) problems.push('ftplan:subnetId needs ftplan:availabilityZone, the subnet\'s zone')
  if (settings.subnetId && !settings.vpcId) problems.push('ftplan:subnetId needs ftplan:vpcId, the subnet\'s VPC')
  if (settings.vpcId && !settings.subnetId && !settings.subnetCidr) problems.push('ftplan:vpcId without ftplan:subnetId needs ftplan:subnetCidr, a free /24 (or smaller) range inside that VPC for the new subnet')
  // A NAT of ours needs a public subnet and an internet gateway of ours: in the user's VPC those would clash with
  // their ranges and their gateway (a VPC takes one). Their own NAT serves through a subnet they route.
  if (natText === 'true' && settings.vpcId) problems.push('ftplan:nat creates a public subnet and an internet gateway of its own, which a VPC of yours cannot take; route through your VPC\'s NAT instead: give ftplan:subnetId of a subnet whose route table reaches it')
  if (settings.natGatewayId && !(settings.vpcId && !settings.subnetId)) problems.push('ftplan:natGatewayId routes the subnet ftplan creates in your VPC: it needs ftplan:vpcId and ftplan:subnetCidr, without ftplan:subnetId (your own subnet routes as it does)')
  // The subnet ftplan makes in the user's VPC has its own route table: without a route out, pip, apt and SSM are unreachable.
  if (settings.vpcId && !settings.subnetId && !settings.natGatewayId && !settings.offline) {
    problems.push('a subnet of ftplan\'s in your VPC (ftplan:vpcId + ftplan:subnetCidr) has no route out, and the bootstrap installs with pip and apt: give ftplan:natGatewayId (your NAT, nat-…), or ftplan:subnetId of a subnet that reaches the internet, or ftplan:offline: true with your AMI (and SSM endpoints in the VPC)')
  }
  if (endpointsText === 'true' && settings.subnetId) problems.push('ftplan:endpoints adds SSM endpoints to a subnet ftplan creates; with ftplan:subnetId your VPC must already reach SSM (endpoints or NAT)')
  if (settings.market === 'capacity-block' && !settings.capacityReservationId) problems.push('ftplan:market capacity-block needs ftplan:capacityReservationId, the cr-… id of the Capacity Block')
  if (settings.market === 'spot' && settings.capacityReservationId) problems.push('ftplan:market spot cannot use ftplan:capacityReservationId; reservations are on-demand or capacity-block')
  const unknown = Object.keys(values).filter((k) => k !== 'spec' && !(KEYS as readonly string[]).includes(k))
  for (const k of unknown) {
    const near = didYouMean(k, ['spec', ...KEYS])
    problems.push(`ftplan:${k} is not a setting${near ? `; did you mean ftplan:${near}?` : ''} (allowed: spec, ${KEYS.join(', ')})`)
  }
  return { settings, problems }
}

/**
 * The default time limit: twice the estimated job hours (the time model's error stays below 2×, README "The time
 * model") plus one hour for boot, installs and the last checkpoint, in whole hours; 24 hours when the spec has no
 * train section to estimate from.
 */
export function maxHoursFor(estimatedJobHours: number | null): number {
  return estimatedJobHours === null ? DEFAULT_MAX_HOURS : Math.ceil(2 * estimatedJobHours + 1)
}

/** A node's time limit when nothing says otherwise: a day (also the boot script's fallback without its tag). */
export const DEFAULT_MAX_HOURS = 24
