import { stringify } from 'yaml'
import { ClusterError } from './cluster-error.js'
import { DEFAULT_MAX_HOURS } from './settings.js'

/** EC2 rejects user data over 16 KB before base64 (EC2 user guide, "Run commands at launch"). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024
/** Where every node keeps the run's files. */
export const CONFIG_DIR = '/etc/ftplan'

export interface NodeBoot {
  nodeRank: number
  nodes: number
  gpusPerNode: number
  masterAddr: string
  masterPort: number
  /** Exactly what `ftplan ds-config` writes for the plan. */
  dsConfig: string
  hostfile: string
  deepspeedEnv: string
  /** The plan as JSON, for people on the node; data only, never run. */
  planJson: string
  /** SSM SecureString holding the intra-cluster SSH private key, fetched at boot with the instance role. */
  sshKeyParameter: string
  region: string
  /** The subnet, for the SSH client config that trusts the other nodes. */
  subnetCidr: string
}

/**
 * The boot script is fixed text: nothing from a spec is in it. It receives the parameter name, region and
 * subnet as arguments through cloud-init's list form of runcmd, which execs without a shell.
 */
const BOOTSTRAP = `#!/bin/bash
# ftplan node bootstrap: intra-cluster SSH for DeepSpeed's pdsh launcher, and the launcher's environment.
set -euo pipefail
param="$1"; region="$2"; subnet="$3"
user=ubuntu; id "$user" >/dev/null 2>&1 || user=ec2-user
home=$(getent passwd "$user" | cut -d: -f6)
install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
umask 077
for i in $(seq 1 30); do
  aws ssm get-parameter --region "$region" --with-decryption --name "$param" --query Parameter.Value --output text > "$home/.ssh/id_rsa" && break
  sleep 10
done
ssh-keygen -y -f "$home/.ssh/id_rsa" > "$home/.ssh/id_rsa.pub"
cat "$home/.ssh/id_rsa.pub" >> "$home/.ssh/authorized_keys"
chown "$user:$user" "$home/.ssh/id_rsa" "$home/.ssh/id_rsa.pub" "$home/.ssh/authorized_keys"
prefix=$(echo "$subnet" | cut -d. -f1-3)
printf 'Host %s.*\\n  StrictHostKeyChecking accept-new\\n  UserKnownHostsFile /dev/null\\n' "$prefix" > /etc/ssh/ssh_config.d/90-ftplan.conf
install -m 644 -o "$user" -g "$user" ${CONFIG_DIR}/deepspeed_env "$home/.deepspeed_env"
command -v pdsh >/dev/null || (apt-get update -q && apt-get install -y -q pdsh) || dnf install -y pdsh || true
`

/**
 * Stops the bill: runs first at boot and schedules the shutdown (so, with shutdown behaviour terminate, the
 * termination) after the minutes in the node's `ftplan:max-minutes` tag, read through IMDSv2 (EC2 user guide,
 * "View tags for your EC2 instances from instance metadata"). Without the tag, a day.
 */
export const ARM_SHUTDOWN = `#!/bin/bash
# ftplan: the node's time limit. Scheduled before anything else, so a failed bootstrap still stops billing.
set -euo pipefail
imds=http://169.254.169.254/latest
token=$(curl -sf -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' || true)
minutes=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/tags/instance/ftplan:max-minutes" || true)
case "$minutes" in
  ''|*[!0-9]*) minutes=${DEFAULT_MAX_HOURS * 60}; echo "ftplan: no ftplan:max-minutes tag; the node stops after $minutes minutes" >&2 ;;
esac
shutdown -h "+$minutes" "ftplan: max_hours reached, this node shuts down and terminates"
echo "ftplan: this node shuts down (and terminates) in $minutes minutes"
`

const SAFE_ARG = /^[A-Za-z0-9/_.:-]+$/

/** The cloud-config of one node. Every value is YAML data or an exec argument; none reaches a shell. */
export function cloudInit(n: NodeBoot): string {
  for (const [what, value] of [['SSM parameter', n.sshKeyParameter], ['region', n.region], ['subnet', n.subnetCidr]] as const) {
    if (!SAFE_ARG.test(value)) throw new ClusterError(`${what} ${JSON.stringify(value)} has characters outside A-Z a-z 0-9 / _ . : -`)
  }
  const nodeEnv = [`NODE_RANK=${n.nodeRank}`, `NNODES=${n.nodes}`, `GPUS_PER_NODE=${n.gpusPerNode}`, `MASTER_ADDR=${n.masterAddr}`, `MASTER_PORT=${n.masterPort}`].join('\n') + '\n'
  const doc = {
    write_files: [
      { path: `${CONFIG_DIR}/ds_config.json`, permissions: '0644', content: n.dsConfig },
      { path: `${CONFIG_DIR}/hostfile`, permissions: '0644', content: n.hostfile },
      { path: `${CONFIG_DIR}/deepspeed_env`, permissions: '0644', content: n.deepspeedEnv },
      { path: `${CONFIG_DIR}/node.env`, permissions: '0644', content: nodeEnv },
      { path: `${CONFIG_DIR}/plan.json`, permissions: '0644', content: n.planJson },
      { path: `${CONFIG_DIR}/arm-shutdown.sh`, permissions: '0755', content: ARM_SHUTDOWN },
      { path: `${CONFIG_DIR}/bootstrap.sh`, permissions: '0755', content: BOOTSTRAP },
    ],
    runcmd: [[`${CONFIG_DIR}/arm-shutdown.sh`], [`${CONFIG_DIR}/bootstrap.sh`, n.sshKeyParameter, n.region, n.subnetCidr]],
  }
  const text = '#cloud-config\n' + stringify(doc, { lineWidth: 0 })
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > USER_DATA_LIMIT_BYTES) throw new ClusterError(`user data is ${bytes} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`)
  return text
}
