/** What a multi-node launch needs, as text files and commands. */
export interface LaunchFiles {
  /** DeepSpeed hostfile: one `host slots=N` line per node (DeepSpeed getting-started, "Resource Configuration"). */
  hostfile: string
  /**
   * `~/.deepspeed_env`: the DeepSpeed launcher forwards only NCCL, PYTHON and UCX variables, so libfabric's FI_*
   * must be listed here (memory-model §8.4). EFA settings per aws-samples' EFA cheatsheet (memory-model §8.5).
   */
  deepspeedEnv: string
  commands: { deepspeed: string; torchrun: string; llamafactory: string }
}

export interface LaunchLayout {
  nodes: number
  gpusPerNode: number
  efa: boolean
  /** Node names; the provisioning step makes node-0 … resolvable. */
  hostPrefix?: string
  /** The nodes' addresses, node 0 first, when they are known (static private IPs); replaces the prefix names. */
  hosts?: readonly string[]
  /** Where the nodes keep the hostfile and config (absolute on provisioned nodes); the working folder otherwise. */
  configDir?: string
}

export const MASTER_PORT = 29500

export function launchFilesFor(layout: LaunchLayout): LaunchFiles {
  const prefix = layout.hostPrefix ?? 'node-'
  const hosts = layout.hosts ? [...layout.hosts] : Array.from({ length: layout.nodes }, (_, i) => `${prefix}${i}`)
  const master = hosts[0]!
  const hostfile = hosts.map((h) => `${h} slots=${layout.gpusPerNode}`).join('\n') + '\n'
  const env = layout.nodes === 1
    ? ['# one node: NCCL talks over NVLink/PCIe; nothing to set']
    : layout.efa
      ? ['FI_PROVIDER=efa', 'FI_EFA_USE_HUGE_PAGE=0', 'NCCL_SOCKET_IFNAME=^docker,lo,veth', 'NCCL_DEBUG=INFO']
      : ['# no EFA on this instance type: NCCL uses TCP sockets', 'NCCL_SOCKET_IFNAME=^docker,lo,veth', 'NCCL_DEBUG=INFO']
  const n = layout.nodes
  const g = layout.gpusPerNode
  const dir = layout.configDir ? `${layout.configDir}/` : ''
  return {
    hostfile,
    deepspeedEnv: env.join('\n') + '\n',
    commands: {
      deepspeed: `deepspeed --hostfile ${dir}hostfile --num_nodes ${n} --num_gpus ${g} --master_addr ${master} --master_port ${MASTER_PORT} train.py --deepspeed ${dir}ds_config.json`,
      torchrun: `torchrun --nnodes ${n} --nproc_per_node ${g} --node_rank $NODE_RANK --master_addr ${master} --master_port ${MASTER_PORT} train.py --deepspeed ${dir}ds_config.json   # on every node, NODE_RANK 0..${n - 1}`,
      llamafactory: `FORCE_TORCHRUN=1 NNODES=${n} NODE_RANK=$NODE_RANK MASTER_ADDR=${master} MASTER_PORT=${MASTER_PORT} llamafactory-cli train train.yaml   # on every node; train.yaml: deepspeed: ${dir}ds_config.json`,
    },
  }
}
