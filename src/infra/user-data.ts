import { gzipSync } from 'node:zlib'
import { stringify } from 'yaml'
import { ClusterError } from './cluster-error.js'
import {
  armShutdown, BOOTSTRAP_SH, CONFIG_DIR, FTPLAN_TRAIN_SH, IDLE_STOP_SH, LIB_SH, NCCL_CHECK_PY, SPOT_WATCH_SH, SYNC_SH, SYSTEMD_UNITS,
} from './node-scripts.js'
import { DEFAULT_MAX_HOURS } from './settings.js'

export { CONFIG_DIR } from './node-scripts.js'

/** EC2 rejects user data over 16 KB before base64 (EC2 user guide, "Run commands at launch"). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024

/** What every node of one cluster shares, written to /etc/ftplan/cluster.env for the scripts. */
export interface ClusterEnv {
  region: string
  /** The subnet, for the SSH client config that trusts the other nodes. */
  subnetCidr: string
  market: 'on-demand' | 'spot' | 'capacity-block'
  /** Install nothing: the AMI holds the training stack (a user's own image, no internet). */
  offline: boolean
  /** Minutes of idle GPUs after a job before a node stops; 0: never. */
  idleMinutes: number
  /** The ring (bus) bandwidth the time model assumed, GB/s, which ftplan-train's all-reduce check reports against. */
  busGbps: number
  /** ftplan-train's default launcher. */
  launcher: 'hf' | 'deepspeed' | 'torchrun' | 'llamafactory'
  /** The pinned DeepSpeed release, checked after the install. */
  deepspeed: string
  llamafactory: boolean
  /** The LLaMA-Factory git ref (commit, or v + release) whose data/ folder the bootstrap fetches; '' when not installed. */
  llamafactoryRef: string
  /** torch for an image without the PyTorch DLAMI's environment (major.minor). */
  torch: string
  pythonEnv: string
}

export interface NodeBoot {
  nodeRank: number
  nodes: number
  gpusPerNode: number
  masterAddr: string
  masterPort: number
  /** The launch folder (ds-config --launch-dir's files, hosts as static IPs), copied to the job folder. */
  launch: Record<string, string>
  /** The plan as JSON, for people on the node; data only, never run. */
  planJson: string
  /** pip requirements the bootstrap installs (spec `software`). */
  requirements: string
  cluster: ClusterEnv
}

const SAFE_VALUE = /^[A-Za-z0-9/_.:-]+$/

/** KEY=value lines that the scripts source: every value is checked to hold no shell syntax. */
function envFile(values: Record<string, string | number>): string {
  return Object.entries(values).map(([k, v]) => {
    const text = String(v)
    if (!SAFE_VALUE.test(text)) throw new ClusterError(`${k} ${JSON.stringify(text)} has characters outside A-Z a-z 0-9 / _ . : -`)
    return `${k}=${text}\n`
  }).join('')
}

/** The cloud-config of one node. Every spec-derived value is file data; the scripts are fixed text. */
export function cloudInit(n: NodeBoot): string {
  const c = n.cluster
  const clusterEnv = envFile({
    FTPLAN_REGION: c.region, FTPLAN_SUBNET: c.subnetCidr, FTPLAN_MARKET: c.market,
    FTPLAN_OFFLINE: c.offline ? 1 : 0, FTPLAN_IDLE_MINUTES: c.idleMinutes, FTPLAN_BUS_GBPS: c.busGbps, FTPLAN_LAUNCHER: c.launcher,
    FTPLAN_DEEPSPEED: c.deepspeed, FTPLAN_LLAMAFACTORY: c.llamafactory ? 1 : 0, ...(c.llamafactoryRef ? { FTPLAN_LF_REF: c.llamafactoryRef } : {}), FTPLAN_TORCH: c.torch, FTPLAN_PYENV: c.pythonEnv,
  })
  const nodeEnv = envFile({ NODE_RANK: n.nodeRank, NNODES: n.nodes, GPUS_PER_NODE: n.gpusPerNode, MASTER_ADDR: n.masterAddr, MASTER_PORT: n.masterPort })
  const file = (path: string, content: string, permissions = '0644') => ({ path, permissions, content })
  const doc = {
    write_files: [
      file(`${CONFIG_DIR}/cluster.env`, clusterEnv),
      file(`${CONFIG_DIR}/node.env`, nodeEnv),
      file(`${CONFIG_DIR}/requirements.txt`, n.requirements),
      file(`${CONFIG_DIR}/plan.json`, n.planJson),
      ...Object.entries(n.launch).map(([name, text]) => file(`${CONFIG_DIR}/launch/${name}`, text, name.endsWith('.sh') ? '0755' : '0644')),
      file(`${CONFIG_DIR}/lib.sh`, LIB_SH),
      file(`${CONFIG_DIR}/arm-shutdown.sh`, armShutdown(DEFAULT_MAX_HOURS * 60), '0755'),
      file(`${CONFIG_DIR}/bootstrap.sh`, BOOTSTRAP_SH, '0755'),
      file(`${CONFIG_DIR}/sync.sh`, SYNC_SH, '0755'),
      file(`${CONFIG_DIR}/idle-stop.sh`, IDLE_STOP_SH, '0755'),
      file(`${CONFIG_DIR}/spot-watch.sh`, SPOT_WATCH_SH, '0755'),
      file(`${CONFIG_DIR}/nccl_check.py`, NCCL_CHECK_PY),
      file('/usr/local/bin/ftplan-train', FTPLAN_TRAIN_SH, '0755'),
      ...Object.entries(SYSTEMD_UNITS).map(([name, text]) => file(`/etc/systemd/system/${name}`, text)),
    ],
    // The list form: cloud-init single-quotes each word (cloudinit/util.py shellify), so nothing is split or expanded.
    // The time limit first, so a failed bootstrap still stops billing.
    // The unit re-arms the limit at every later boot (cloud-init runs runcmd once per instance).
    runcmd: [[`${CONFIG_DIR}/arm-shutdown.sh`], ['systemctl', 'enable', 'ftplan-time-limit.service'], [`${CONFIG_DIR}/bootstrap.sh`]],
  }
  const text = '#cloud-config\n' + stringify(doc, { lineWidth: 0 })
  const bytes = gzipUserData(text).length
  if (bytes > USER_DATA_LIMIT_BYTES) throw new ClusterError(`user data is ${bytes} bytes gzipped; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`)
  return text
}

/**
 * The user data as EC2 gets it: gzipped, which cloud-init unpacks before reading it (cloud-init docs, "User data
 * formats": gzip compressed content). Made once, when the plan is made and pinned, so the launch template's bytes
 * never depend on the zlib that runs `pulumi up`; the header's OS byte is fixed, so they do not depend on the
 * platform either (RFC 1952 §2.3.1: OS 255 = unknown).
 */
export function gzipUserData(text: string): Buffer {
  const gz = gzipSync(Buffer.from(text, 'utf8'), { level: 9 })
  gz[9] = 255
  return gz
}
