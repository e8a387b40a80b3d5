// Plain data the Pulumi component is built from. No imports: `ftplan emit` copies this file and gpu-cluster.ts
// into the emitted project as they are.

/** One network interface of a node's launch template, in @pulumi/aws's LaunchTemplate shape (booleans as strings). */
export interface NicSpec {
  networkCardIndex: number
  deviceIndex: number
  /** 'efa' (EFA with an IP), 'efa-only' (no IP), or absent for a plain ENA. */
  interfaceType?: 'efa' | 'efa-only'
  deleteOnTermination: 'true'
  /** Only on a lone NIC: EC2 refuses the parameter, even false, with several (InvalidParameterCombination, karpenter#5666). */
  associatePublicIpAddress?: 'false'
  privateIpAddress?: string
}

/** Everything the Pulumi component creates, decided before Pulumi runs: plain data, testable without mocks. */
export interface ClusterPlan {
  name: string
  /**
   * Unique per stack in an account: the nodes' `ftplan:cluster` tag, which scopes what a node may tag and (spot)
   * terminate, and which the spot watcher uses to find the group.
   */
  clusterId: string
  region: string
  instanceType: string
  nodes: number
  gpusPerNode: number
  market: 'on-demand' | 'spot' | 'capacity-block'
  capacityReservationId: string | null
  /** A cluster placement group, left out with a reservation or Capacity Block (AWS places those; ours would ICE). */
  placementGroup: boolean
  vpc: { create: true; cidr: string } | { create: false; id: string }
  subnet: { create: true; cidr: string; availabilityZone: string | null } | { create: false; id: string; cidr: string; availabilityZone: string }
  nat: boolean
  /** The user's NAT gateway, for the subnet ftplan creates in their VPC: its route table's default route. */
  natGatewayId: string | null
  /** The image holds the training stack: no installs, so no HTTP egress for apt. */
  offline: boolean
  /** The S3 bucket for checkpoints (encrypted, versioned, public access blocked); kept on destroy when retain. */
  checkpointBucket: { retain: boolean }
  /** SSM and S3 endpoints for the subnet ftplan creates (see ClusterSettings.endpoints). */
  endpoints: boolean
  nodeIps: string[]
  /** Per node, node 0 first. */
  nics: NicSpec[][]
  /** The cloud-config of each node, readable. */
  userData: string[]
  /** The same, gzipped and base64-encoded, as the launch templates carry it (user-data.ts gzipUserData). */
  userDataGzipBase64: string[]
  rootVolumeGb: number
  rootDeviceName: string
  /** An AMI id, or `resolve:ssm:<parameter>` for EC2 to resolve at launch (no drift in Pulumi's state). */
  imageId: string
  keyName: string | null
  sshCidr: string | null
  sshKeyParameter: string
  /** Minutes after boot at which every node shuts down, and so terminates (the `ftplan:max-minutes` instance tag). */
  maxMinutes: number
  outputs: ClusterOutputs
}

/** Stack outputs known at preview: plain values from the plan, not resource outputs. */
export interface ClusterOutputs {
  instanceType: string
  region: string
  nodes: number
  gpus: number
  gpuModel: string
  gpuMemoryNeededGb: number
  gpuMemoryAvailableGb: number
  market: string
  hourlyCostUsd: number | null
  spotHourlyCostUsd: number | null
  estimatedJobHours: number | null
  estimatedJobCostUsd: number | null
  /** p10–p90 of the job's hours and cost, from the time model's calibration residuals (planner/time-band.ts). */
  estimatedJobHoursRange: [number, number] | null
  estimatedJobCostUsdRange: [number, number] | null
  catalogAsOf: string
  launchCommand: string
  /** Every node terminates itself this many hours after boot: what bounds the bill. */
  maxHours: number
  /** A shell on a node as the user who starts the job, but for `--target <instance id>` (ssm-session.ts). */
  ssmSession: string
  /** Run on node 0 (in the shell ssmSession opens): checks every node, the all-reduce, then starts the training. */
  trainCommand: string
  /** Where each node's bootstrap writes its log; the node's `ftplan:bootstrap` tag says ready or failed:<step>. */
  bootstrapLog: string
  /** Minutes of idle GPUs after a job before the nodes stop (0: never). */
  idleMinutes: number
  /** The NAT gateway's own cost per hour (gateway + its public IPv4), while the stack exists; null: no NAT, or a region without a price in ftplan's table. */
  natHourlyCostUsd: number | null
  /** Per-GB NAT processing of the expected downloads (model weights and pip installs, every node). */
  natDownloadCostUsd: number | null
}
