import * as aws from '@pulumi/aws'
import * as pulumi from '@pulumi/pulumi'
import * as tls from '@pulumi/tls'
import type { ClusterPlan } from './cluster-types.js'

export interface GpuClusterArgs {
  plan: ClusterPlan
  /**
   * The intra-cluster SSH private key, stored as an SSM SecureString; never in user data. Absent: a key made
   * once by a tls.PrivateKey and kept (encrypted) in the stack's state, so every run keeps the same one.
   */
  sshPrivateKey?: pulumi.Input<string>
  /**
   * Use the stack's default AWS provider (every `aws:*` setting of the stack) instead of a provider of the
   * component's own for the plan's region: right when the stack's `aws:region` is the plan's region.
   * An `opts.provider` (or `opts.providers.aws`) always wins.
   */
  inheritProvider?: boolean
}

/** The AWS provider the caller handed the component, if any. */
function givenProvider(opts: pulumi.ComponentResourceOptions | undefined): pulumi.ProviderResource | undefined {
  if (opts?.provider) return opts.provider
  const providers = opts?.providers
  if (Array.isArray(providers)) return providers.find((x) => x instanceof aws.Provider)
  return providers?.['aws']
}

/** The SSM agent's own calls; none of them reads parameters. */
export const SSM_AGENT_POLICY = {
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow',
    Action: [
      'ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel',
      'ssmmessages:OpenDataChannel', 'ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage',
      'ec2messages:GetEndpoint', 'ec2messages:GetMessages', 'ec2messages:SendReply',
    ],
    Resource: '*',
  }],
}

/**
 * What a node does with AWS besides SSM: its checkpoints in this cluster's bucket; its own `ftplan:bootstrap` tag
 * (only that key, only on this cluster's instances); on spot, ending this cluster's instances. DescribeInstances
 * takes no resource or tag condition (Service Authorization Reference, Amazon EC2), so it is on `*`.
 */
export function nodePolicy(bucketArn: string, clusterId: string, spot: boolean) {
  const ownInstances = { StringEquals: { 'aws:ResourceTag/ftplan:cluster': clusterId } }
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: bucketArn },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Resource: `${bucketArn}/*` },
      {
        Effect: 'Allow', Action: 'ec2:CreateTags', Resource: 'arn:aws:ec2:*:*:instance/*',
        Condition: { ...ownInstances, 'ForAllValues:StringEquals': { 'aws:TagKeys': ['ftplan:bootstrap'] } },
      },
      ...(spot ? [
        { Effect: 'Allow', Action: 'ec2:DescribeInstances', Resource: '*' },
        { Effect: 'Allow', Action: 'ec2:TerminateInstances', Resource: 'arn:aws:ec2:*:*:instance/*', Condition: ownInstances },
      ] : []),
    ],
  }
}

/** A Session Manager command that runs the job on node 0 as the user who holds the launch files, in tmux so it outlives the session. */
function startJobCommand(region: string, trainCommand: string): string {
  return `aws ssm start-session --region ${region} --document-name AWS-StartInteractiveCommand --parameters 'command=["sudo -iu ubuntu tmux new-session -A -s ftplan ${trainCommand}"]'`
}

/**
 * The planned nodes and what they need, and nothing more (pulumi-aws-gpu.md §2.1): one VPC and one private
 * subnet in one zone (or the user's), S3 gateway and SSM interface endpoints (and a NAT gateway when asked),
 * an EFA security group open only to itself, a cluster placement group, an SSM-only instance role, one launch
 * template per node (its static IP and cloud-init), and the instances.
 */
export class GpuCluster extends pulumi.ComponentResource {
  readonly instanceIds: pulumi.Output<string>[]
  readonly privateIps: string[]
  /** The checkpoint bucket's name. */
  readonly bucketName: pulumi.Output<string>
  /** Opens a session on node 0 and runs ftplan-train in tmux (attach again with the same command). */
  readonly startJob: pulumi.Output<string>

  constructor(name: string, args: GpuClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ftplan:index:GpuCluster', name, {}, opts)
    const p = args.plan
    const provider = givenProvider(opts) ?? (args.inheritProvider ? undefined : new aws.Provider(`${name}-aws`, { region: p.region as aws.Region }, { parent: this }))
    const child = provider ? { parent: this, provider } : { parent: this }
    const tags = { Name: name, 'ftplan:cluster': p.clusterId }

    // A reservation or Capacity Block launches only in its own zone: read it from the reservation (an existing
    // resource, read, never managed). Otherwise the first zone that offers the type.
    const reserved = p.capacityReservationId && !p.subnet.availabilityZone
      ? aws.ec2.CapacityReservation.get(`${name}-reservation`, p.capacityReservationId, undefined, child).availabilityZone
      : null
    // A looked-up zone is the one the cluster is created in, and stays: a later run whose lookup answers otherwise
    // (AWS added or dropped a zone's offering) must not move the subnet and every node (ignoreChanges below).
    const lookedUp = !p.subnet.availabilityZone && !reserved
    const keepZone = (path: string): pulumi.CustomResourceOptions => (lookedUp ? { ...child, ignoreChanges: [path] } : child)
    const zone: pulumi.Input<string> = p.subnet.availabilityZone ?? reserved ?? aws.ec2.getInstanceTypeOfferingsOutput({
      locationType: 'availability-zone', filters: [{ name: 'instance-type', values: [p.instanceType] }],
    }, child).locations.apply((zones) => {
      const sorted = [...zones].sort()
      if (sorted.length === 0) throw new Error(`${p.instanceType} is not offered in any zone of ${p.region}`)
      return sorted[0]!
    })

    let vpcId: pulumi.Input<string>
    let vpcCidr: pulumi.Input<string>
    let subnetId: pulumi.Input<string>
    let routeTableId: pulumi.Input<string> | null = null
    if (p.vpc.create) {
      const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: p.vpc.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags }, child)
      vpcId = vpc.id
      vpcCidr = vpc.cidrBlock
    } else {
      vpcId = p.vpc.id
      vpcCidr = aws.ec2.getVpcOutput({ id: p.vpc.id }, child).cidrBlock
    }
    if (p.subnet.create) {
      const subnet = new aws.ec2.Subnet(`${name}-private`, { vpcId, cidrBlock: p.subnet.cidr, availabilityZone: zone, mapPublicIpOnLaunch: false, tags }, keepZone('availabilityZone'))
      subnetId = subnet.id
      const table = new aws.ec2.RouteTable(`${name}-private`, { vpcId, tags }, child)
      new aws.ec2.RouteTableAssociation(`${name}-private`, { subnetId: subnet.id, routeTableId: table.id }, child)
      routeTableId = table.id
      if (p.natGatewayId) new aws.ec2.Route(`${name}-egress`, { routeTableId: table.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: p.natGatewayId }, child)
      if (p.nat) {
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId, tags }, child)
        const publicSubnet = new aws.ec2.Subnet(`${name}-public`, { vpcId, cidrBlock: '10.42.0.0/28', availabilityZone: zone, mapPublicIpOnLaunch: false, tags }, keepZone('availabilityZone'))
        const publicTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }], tags }, child)
        new aws.ec2.RouteTableAssociation(`${name}-public`, { subnetId: publicSubnet.id, routeTableId: publicTable.id }, child)
        const eip = new aws.ec2.Eip(`${name}-nat`, { domain: 'vpc', tags }, child)
        const nat = new aws.ec2.NatGateway(`${name}-nat`, { allocationId: eip.id, subnetId: publicSubnet.id, tags }, child)
        new aws.ec2.Route(`${name}-egress`, { routeTableId: table.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nat.id }, child)
      }
    } else {
      subnetId = p.subnet.id
    }

    // EFA needs all traffic to and from the group itself (AWS EFA guide); out to the world only HTTPS.
    const sg = new aws.ec2.SecurityGroup(`${name}-efa`, { vpcId, description: 'ftplan: all traffic within the cluster (EFA, NCCL, SSH); HTTPS out', tags }, child)
    new aws.vpc.SecurityGroupIngressRule(`${name}-efa-in`, { securityGroupId: sg.id, referencedSecurityGroupId: sg.id, ipProtocol: '-1', description: 'all traffic from the cluster itself (EFA, NCCL, SSH)', tags }, child)
    new aws.vpc.SecurityGroupEgressRule(`${name}-efa-out`, { securityGroupId: sg.id, referencedSecurityGroupId: sg.id, ipProtocol: '-1', description: 'all traffic to the cluster itself (EFA needs it, AWS EFA guide)', tags }, child)
    new aws.vpc.SecurityGroupEgressRule(`${name}-https-out`, { securityGroupId: sg.id, cidrIpv4: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS out: SSM, S3, package and model downloads', tags }, child)
    // apt's Ubuntu mirrors on EC2 are http:// (the bootstrap installs pdsh); nothing to install when offline.
    if (!p.offline) new aws.vpc.SecurityGroupEgressRule(`${name}-http-out`, { securityGroupId: sg.id, cidrIpv4: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 80, toPort: 80, description: 'HTTP out: Ubuntu package mirrors (apt)', tags }, child)
    if (p.sshCidr) new aws.vpc.SecurityGroupIngressRule(`${name}-ssh-in`, { securityGroupId: sg.id, cidrIpv4: p.sshCidr, ipProtocol: 'tcp', fromPort: 22, toPort: 22, description: 'SSH from the range the stack allows (ftplan:sshCidr)', tags }, child)

    if (p.subnet.create && p.endpoints) {
      // Without NAT the nodes reach SSM (Session Manager, the SSH key) through interface endpoints; one per
      // service may hold private DNS in a VPC, so in the user's VPC only when asked (ftplan:endpoints).
      const endpointSg = new aws.ec2.SecurityGroup(`${name}-endpoints`, { vpcId, description: 'ftplan: HTTPS from the VPC to the SSM endpoints', tags }, child)
      new aws.vpc.SecurityGroupIngressRule(`${name}-endpoints-in`, { securityGroupId: endpointSg.id, cidrIpv4: vpcCidr, ipProtocol: 'tcp', fromPort: 443, toPort: 443, description: 'HTTPS from the VPC to the SSM endpoints', tags }, child)
      for (const service of ['ssm', 'ssmmessages', 'ec2messages']) {
        new aws.ec2.VpcEndpoint(`${name}-${service}`, {
          vpcId, serviceName: `com.amazonaws.${p.region}.${service}`, vpcEndpointType: 'Interface', privateDnsEnabled: true,
          subnetIds: [subnetId], securityGroupIds: [endpointSg.id], tags,
        }, child)
      }
    }
    // S3 through a gateway endpoint on the new subnet's own route table: no DNS, no clash with the VPC's others.
    if (p.subnet.create) new aws.ec2.VpcEndpoint(`${name}-s3`, { vpcId, serviceName: `com.amazonaws.${p.region}.s3`, vpcEndpointType: 'Gateway', routeTableIds: routeTableId ? [routeTableId] : [], tags }, child)

    const sshKey = args.sshPrivateKey ?? new tls.PrivateKey(`${name}-ssh`, { algorithm: 'RSA', rsaBits: 3072 }, { parent: this }).privateKeyOpenssh
    const key = new aws.ssm.Parameter(`${name}-ssh-key`, {
      name: p.sshKeyParameter, type: 'SecureString', value: pulumi.secret(sshKey), description: 'ftplan: intra-cluster SSH key for the DeepSpeed launcher', tags,
    }, child)

    // Checkpoints outlive the nodes: encrypted, versioned, never public; emptied on destroy unless kept.
    const bucketOpts = p.checkpointBucket.retain ? { ...child, retainOnDelete: true } : child
    const bucket = new aws.s3.Bucket(`${name}-checkpoints`, { forceDestroy: !p.checkpointBucket.retain, tags }, bucketOpts)
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-checkpoints`, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }] }, bucketOpts)
    new aws.s3.BucketVersioning(`${name}-checkpoints`, { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } }, bucketOpts)
    new aws.s3.BucketPublicAccessBlock(`${name}-checkpoints`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, bucketOpts)
    this.bucketName = bucket.bucket

    const role = new aws.iam.Role(`${name}-node`, {
      assumeRolePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }), tags,
    }, child)
    // What the SSM agent needs for Session Manager (AWS's AWSCloud9SSMInstanceProfile policy) and Run Command
    // (ec2messages), instead of AmazonSSMManagedInstanceCore, whose ssm:GetParameter* on * would let every
    // node read every other cluster's SSH key.
    new aws.iam.RolePolicy(`${name}-ssm-agent`, { role: role.id, policy: JSON.stringify(SSM_AGENT_POLICY) }, child)
    new aws.iam.RolePolicy(`${name}-ssh-key`, {
      role: role.id,
      policy: key.arn.apply((arn) => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: arn }] })),
    }, child)
    new aws.iam.RolePolicy(`${name}-node`, { role: role.id, policy: bucket.arn.apply((arn) => JSON.stringify(nodePolicy(arn, p.clusterId, p.market === 'spot'))) }, child)
    const profile = new aws.iam.InstanceProfile(`${name}-node`, { role: role.name, tags }, child)

    const group = p.placementGroup ? new aws.ec2.PlacementGroup(`${name}-pg`, { strategy: 'cluster', tags }, child) : null

    this.privateIps = p.nodeIps
    this.instanceIds = p.nodeIps.map((_, i) => {
      const nodeTags = { ...tags, Name: `${name}-node-${i}`, 'ftplan:node-rank': String(i), 'ftplan:role': i === 0 ? 'master' : 'worker' }
      const template = new aws.ec2.LaunchTemplate(`${name}-node-${i}`, {
        imageId: p.imageId,
        instanceType: p.instanceType,
        iamInstanceProfile: { arn: profile.arn },
        // Tags in the metadata: the node reads its time limit (ftplan:max-minutes) from its own tags at boot.
        metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 2, instanceMetadataTags: 'enabled' },
        // A node that shuts itself down (its time limit, or the user) is terminated, and stops billing.
        instanceInitiatedShutdownBehavior: 'terminate',
        // Detailed (1-minute) CloudWatch metrics and EBS-optimized I/O (checkov CKV_AWS_126, CKV_AWS_135).
        monitoring: { enabled: true },
        ebsOptimized: 'true',
        blockDeviceMappings: [{ deviceName: p.rootDeviceName, ebs: { volumeSize: p.rootVolumeGb, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' } }],
        networkInterfaces: p.nics[i]!.map((nic) => ({ ...nic, subnetId, securityGroups: [sg.id] })),
        ...(group ? { placement: { groupName: group.name, availabilityZone: zone } } : { placement: { availabilityZone: zone } }),
        ...(p.market === 'spot'
          ? { instanceMarketOptions: { marketType: 'spot', spotOptions: { instanceInterruptionBehavior: 'terminate', spotInstanceType: 'one-time' } } }
          : p.market === 'capacity-block' ? { instanceMarketOptions: { marketType: 'capacity-block' } } : {}),
        ...(p.capacityReservationId ? { capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: p.capacityReservationId } } } : {}),
        ...(p.keyName ? { keyName: p.keyName } : {}),
        userData: p.userDataGzipBase64[i]!,
        tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({ resourceType, tags: nodeTags })),
        tags: nodeTags,
      }, keepZone('placement.availabilityZone'))
      // What the node reads from its own tags at boot (time limit, bucket, key parameter) is instance data, not
      // launch-template data: changing it updates a tag, not the node.
      const instance = new aws.ec2.Instance(`${name}-node-${i}`, {
        launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
        tags: { ...nodeTags, 'ftplan:max-minutes': String(p.maxMinutes), 'ftplan:bucket': bucket.bucket, 'ftplan:ssh-key': p.sshKeyParameter },
      // A node's static IP can belong to one instance at a time: a replacement must go before its successor comes.
      // The bootstrap writes its own status tag: a refreshed `pulumi up` must leave it alone.
      }, { ...child, dependsOn: [key], customTimeouts: { create: '30m' }, deleteBeforeReplace: true, ignoreChanges: ['tags["ftplan:bootstrap"]'] })
      return instance.id
    })
    this.startJob = pulumi.interpolate`${startJobCommand(p.region, p.outputs.trainCommand)} --target ${this.instanceIds[0]!}`
    this.registerOutputs({ instanceIds: this.instanceIds, privateIps: this.privateIps, bucketName: this.bucketName, startJob: this.startJob })
  }
}
