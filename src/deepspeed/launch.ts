import { argvOf, type ArgValue } from './hf-args.js'

/** What a launch needs, as text files and commands. */
export interface LaunchFiles {
  /**
   * DeepSpeed hostfile: one `host slots=N` line per node (launcher/runner.py:243-272 _parse_hostfile). Empty for
   * one node: with a hostfile the runner treats the run as multi-node and first checks SSH to the host
   * (runner.py:482-493); without one it runs on localhost.
   */
  hostfile: string
  /**
   * `~/.deepspeed_env`, KEY=VALUE lines only: the runner splits every line at '=' (runner.py:620-623 `key, val =
   * var.split('=', maxsplit=1)`), so a comment or blank line crashes a multi-node launch. It forwards only
   * NCCL/PYTHON/UCX variables itself, so libfabric's FI_* must be listed (memory-model §8.4); EFA settings per
   * aws-samples' EFA cheatsheet (§8.5). Empty for one node, where the runner never reads it.
   */
  deepspeedEnv: string
  commands: LaunchCommands
}

export interface LaunchCommands {
  /** DeepSpeed's own launcher on a script that calls deepspeed.initialize(args=…): the config as --deepspeed_config. */
  deepspeed: string
  /** The same launcher on an HF Trainer script, with every TrainingArgument the config's values need. */
  hfTrainer: string
  /** torchrun on the HF Trainer script, run on every node. */
  torchrun: string
  /** LLaMA-Factory's CLI on its YAML (which names the config), run on every node. */
  llamafactory: string
}

export interface LaunchLayout {
  nodes: number
  gpusPerNode: number
  efa: boolean
  /** Node names; the provisioning step makes node-0 … resolvable. */
  hostPrefix?: string
  /** The nodes' addresses, node 0 first, when they are known (static private IPs); replaces the prefix names. */
  hosts?: readonly string[]
  /** Where the nodes keep the hostfile and config: a path, or `$HERE` in a launch script; the working folder otherwise. */
  configDir?: string
}

/** What the trainer commands pass: TrainingArguments (trainerArgs), and whether DeepSpeed runs at all. */
export interface LaunchRun {
  args: readonly [string, ArgValue][]
  /** A plan without ZeRO runs without DeepSpeed: the trainer commands then pass no config. */
  deepspeed: boolean
  /** The training script the user brings; `$TRAIN_SCRIPT` in a launch script. */
  script?: string
}

export const MASTER_PORT = 29500

export function launchFilesFor(layout: LaunchLayout, run: LaunchRun = { args: [], deepspeed: true }): LaunchFiles {
  const prefix = layout.hostPrefix ?? 'node-'
  const hosts = layout.hosts ? [...layout.hosts] : Array.from({ length: layout.nodes }, (_, i) => `${prefix}${i}`)
  const master = hosts[0]!
  const n = layout.nodes
  const g = layout.gpusPerNode
  const multi = n > 1
  const hostfile = multi ? hosts.map((h) => `${h} slots=${g}`).join('\n') + '\n' : ''
  const env = !multi ? [] : [
    ...(layout.efa ? ['FI_PROVIDER=efa', 'FI_EFA_USE_HUGE_PAGE=0'] : []),
    'NCCL_SOCKET_IFNAME=^docker,lo,veth', 'NCCL_DEBUG=INFO',
  ]
  const dir = layout.configDir ? `${layout.configDir}/` : ''
  const config = `${dir}ds_config.json`
  const script = run.script ?? 'train.py'
  const launcher = multi
    ? `deepspeed --hostfile ${dir}hostfile --num_nodes ${n} --num_gpus ${g} --master_addr ${master} --master_port ${MASTER_PORT}`
    : `deepspeed --num_gpus ${g}`
  const hf = [run.deepspeed ? `--deepspeed ${config}` : '', argvOf(run.args)].filter(Boolean).join(' ')
  const torchrun = multi
    ? `torchrun --nnodes ${n} --nproc_per_node ${g} --node_rank $NODE_RANK --master_addr ${master} --master_port ${MASTER_PORT}`
    : `torchrun --nproc_per_node ${g}`
  const lfEnv = multi ? `FORCE_TORCHRUN=1 NNODES=${n} NODE_RANK=$NODE_RANK NPROC_PER_NODE=${g} MASTER_ADDR=${master} MASTER_PORT=${MASTER_PORT}` : `FORCE_TORCHRUN=1 NPROC_PER_NODE=${g}`
  return {
    hostfile,
    deepspeedEnv: env.map((line) => `${line}\n`).join(''),
    commands: {
      // DeepSpeed's add_config_arguments: --deepspeed turns it on, --deepspeed_config names the file (deepspeed/__init__.py).
      deepspeed: `${launcher} ${script} --deepspeed --deepspeed_config ${config}`,
      hfTrainer: `${launcher} ${script} ${hf}`,
      torchrun: `${torchrun} ${script} ${hf}`,
      // LLaMA-Factory's launcher reads these variables (launcher.py:60-70); FORCE_TORCHRUN, because DeepSpeed
      // refuses a run that is not distributed (hparams/parser.py:471). `key=value` after the YAML overrides it
      // (parser.py:117-120), so the config is found wherever the folder is run from.
      llamafactory: `${lfEnv} llamafactory-cli train ${dir}train.yaml${run.deepspeed ? ` deepspeed=${config}` : ''}`,
    },
  }
}
