export type { ClusterOutputs, ClusterPlan } from './cluster-types.js'
import { launchFolderFor } from '../deepspeed/launch-folder.js'
import { MASTER_PORT } from '../deepspeed/launch.js'
import { cpuArchitecture } from '../instances/arch.js'
import type { Candidate } from '../planner/plan.js'
import type { LoadedSpec } from '../spec/load.js'
import type { ClusterOutputs, ClusterPlan } from './cluster-types.js'
import { nicLayout } from './efa.js'
import { ringBandwidth } from '../planner/collectives.js'
import { band } from '../planner/time-band.js'
import { llamafactoryRef, requirementsTxt } from '../spec/software.js'
import { natCost } from './nat-cost.js'
import { nodeIps, SUBNET_CIDR, VPC_CIDR } from './network.js'
import { BOOTSTRAP_LOG } from './node-scripts.js'
import { dlamiParameter, maxHoursFor, PYTORCH_DLAMI_VERSION, type ClusterSettings } from './settings.js'
import { ssmSession } from './ssm-session.js'
import { cloudInit, gzipUserData } from './user-data.js'

/** Root volume: the DLAMI and its environments [HEUR 100 GB], the Hugging Face download and the saved model (2 B per
 * parameter each), and this node's share of a DeepSpeed checkpoint (16-bit weights + 12 B per trained parameter of
 * fp32 master and Adam state), with 50 % room for a second checkpoint; rounded up to 50 GB, at most gp3's 16 TiB. */
export function rootVolumeGb(params: number, trainable: number, nodes: number): number {
  const checkpoint = (2 * params + 12 * trainable) / nodes
  const gb = 100 + (4 * params + 1.5 * checkpoint) / 1e9
  return Math.min(16_384, Math.ceil(gb / 50) * 50)
}

const round2 = (x: number) => Math.round(x * 100) / 100

/**
 * Everything the cluster is, decided from the plan: plain data. The launch folder is the one `ftplan ds-config
 * --launch-dir` writes (HF-style config, which HF Trainer and LLaMA-Factory fill in), with the nodes' static IPs.
 * `lfText`: the LLaMA-Factory YAML the spec was read from, edited into the folder's train.yaml.
 */
export function clusterPlanFor(loaded: LoadedSpec, plan: Candidate, settings: ClusterSettings, catalogAsOf: string, lfText: string | null = null): ClusterPlan {
  const nodes = plan.nodes
  const gpusPerNode = plan.offer.gpuCount
  const market = settings.market ?? (loaded.spec.constraints.spot ? 'spot' : 'on-demand')
  const subnetCidr = settings.subnetCidr ?? SUBNET_CIDR
  const ips = nodeIps(subnetCidr, nodes)
  const folder = launchFolderFor(loaded, plan, 'hf', lfText, { hosts: ips })
  const software = loaded.spec.software
  // LLaMA-Factory runs the folder's train.yaml as it is (the user's, or ftplan's on LLaMA-Factory's hub copy of its
  // demo set); without it installed, HF Trainer on the user's script.
  const launcher = software.llamafactory !== null ? 'llamafactory' : 'hf'
  const clusterId = settings.name
  const sshKeyParameter = `/ftplan/${clusterId}/ssh/id_rsa`
  const hourly = plan.onDemandUsdPerHour
  const spot = plan.spotUsdPerHour
  const ranked = market === 'spot' ? spot : hourly
  const hours = plan.time?.hours ?? null
  const nat = settings.nat ? natCost(plan.offer.region, loaded.params.total, nodes) : null
  const commands = folder.launch.commands
  const outputs: ClusterOutputs = {
    instanceType: plan.offer.instanceType,
    region: plan.offer.region,
    nodes,
    gpus: plan.strategy.gpus,
    gpuModel: plan.offer.gpu,
    gpuMemoryNeededGb: round2(plan.estimate.perGpu.totalBytes / 1e9),
    gpuMemoryAvailableGb: round2(plan.usableBytesPerGpu / 1e9),
    market,
    hourlyCostUsd: hourly === null ? null : round2(hourly),
    spotHourlyCostUsd: spot === null ? null : round2(spot),
    estimatedJobHours: hours === null ? null : round2(hours),
    estimatedJobCostUsd: hours === null || ranked === null ? null : round2(hours * ranked),
    estimatedJobHoursRange: hours === null ? null : band(hours).map(round2) as [number, number],
    estimatedJobCostUsdRange: hours === null || ranked === null ? null : band(hours * ranked).map(round2) as [number, number],
    catalogAsOf,
    // What ftplan-train runs from the job folder (its launch/ is this folder).
    launchCommand: (launcher === 'llamafactory' ? commands.llamafactory : commands.hfTrainer).split('"$HERE"').join('launch'),
    maxHours: settings.maxHours ?? maxHoursFor(hours),
    ssmSession: ssmSession(plan.offer.region),
    trainCommand: `ftplan-train ${launcher}`,
    bootstrapLog: BOOTSTRAP_LOG,
    idleMinutes: settings.idleMinutes,
    // to a tenth of a cent: NAT list prices are such ($0.045 an hour in us-east-1)
    natHourlyCostUsd: nat ? Math.round(nat.hourlyUsd * 1000) / 1000 : null,
    natDownloadCostUsd: nat ? round2(nat.downloadsUsd) : null,
  }
  // What defines the run, and nothing that moves with a catalog or an estimate (prices, hours, its date): user
  // data is part of the launch template, so any change to it replaces the nodes.
  const planJson = JSON.stringify({
    model: loaded.model.arch.name, method: loaded.spec.method, instanceType: plan.offer.instanceType, region: plan.offer.region, nodes,
    gpusPerNode, gpus: plan.strategy.gpus, gpuModel: plan.offer.gpu, market, zeroStage: plan.strategy.zeroStage, offload: plan.strategy.offload,
    gradientCheckpointing: plan.strategy.gradientCheckpointing, microBatch: plan.strategy.microBatch, accumulation: plan.strategy.accumulation,
    launchCommand: outputs.launchCommand,
  }, null, 2) + '\n'
  const arch = cpuArchitecture(plan.offer.instanceType)
  const userData = ips.map((_, rank) => cloudInit({
    nodeRank: rank, nodes, gpusPerNode, masterAddr: ips[0]!, masterPort: MASTER_PORT, launch: folder.files, planJson,
    // Liger's kernel, when the spec's loss is the fused one (LLaMA-Factory enable_liger_kernel, HF --use_liger_kernel).
    requirements: requirementsTxt(loaded.spec.loss === 'fused' && !software.packages.some((p) => /^liger[-_]kernel\b/i.test(p)) ? { ...software, packages: [...software.packages, 'liger-kernel'] } : software),
    cluster: {
      region: plan.offer.region, subnetCidr, market, offline: settings.offline, idleMinutes: settings.idleMinutes,
      busGbps: round2(ringBandwidth(plan.offer, nodes) / 1e9), launcher, deepspeed: software.deepspeed, llamafactory: software.llamafactory !== null, llamafactoryRef: llamafactoryRef(software),
      torch: PYTORCH_DLAMI_VERSION, pythonEnv: settings.pythonEnv,
    },
  }))
  return {
    name: settings.name,
    clusterId,
    region: plan.offer.region,
    instanceType: plan.offer.instanceType,
    nodes,
    gpusPerNode,
    market,
    capacityReservationId: settings.capacityReservationId,
    placementGroup: nodes > 1 && settings.capacityReservationId === null,
    vpc: settings.vpcId ? { create: false, id: settings.vpcId } : { create: true, cidr: VPC_CIDR },
    subnet: settings.subnetId
      ? { create: false, id: settings.subnetId, cidr: subnetCidr, availabilityZone: settings.availabilityZone! }
      : { create: true, cidr: subnetCidr, availabilityZone: settings.availabilityZone },
    nat: settings.nat,
    natGatewayId: settings.natGatewayId,
    offline: settings.offline,
    checkpointBucket: { retain: settings.retainCheckpoints },
    endpoints: settings.endpoints,
    nodeIps: ips,
    nics: ips.map((ip) => nicLayout(plan.offer.efaInterfaces ?? 0, ip)),
    userData,
    userDataGzipBase64: userData.map((u) => gzipUserData(u).toString('base64')),
    rootVolumeGb: rootVolumeGb(loaded.params.total, plan.estimate.model.trainableParams, nodes),
    rootDeviceName: settings.rootDeviceName,
    // The PyTorch DLAMI where it supports the instance, for its architecture (G5g: arm64); else the base DLAMI.
    imageId: settings.amiId ?? `resolve:ssm:${settings.amiParameter ?? dlamiParameter(arch, plan.offer.instanceType)}`,
    keyName: settings.keyName,
    sshCidr: settings.sshCidr,
    sshKeyParameter,
    maxMinutes: Math.ceil(outputs.maxHours * 60),
    outputs,
  }
}
