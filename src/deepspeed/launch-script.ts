import { PIP_REQUIREMENT, TRANSFORMERS_REQUIREMENT } from './versions.js'
import type { LaunchCommands } from './launch.js'

export type Launcher = 'hf' | 'deepspeed' | 'torchrun' | 'llamafactory'

/**
 * launch.sh for a launch folder: one of the four commands, chosen by its first argument. Paths resolve from
 * the folder itself, so the folder can be copied anywhere (the same path on every node for multi-node runs).
 * The DeepSpeed runner reads ./.deepspeed_env (launcher/runner.py:39-40), so its commands run from the folder;
 * torchrun and LLaMA-Factory run on every node and get the same variables from the environment.
 */
export function launchScript(commands: LaunchCommands, header: readonly string[], fallback: Launcher, multiNode: boolean): string {
  // `exec` takes a command, not assignments: VAR=… exec cmd hands the variables to cmd.
  const exec = (command: string) => command.replace(/^((?:\w+=\S*\s+)*)/, '$1exec ')
  const lines = [
    '#!/usr/bin/env bash',
    ...header.map((h) => `# ${h}`),
    `# Needs ${PIP_REQUIREMENT} on every node, and ${TRANSFORMERS_REQUIREMENT} (HF Trainer) or LLaMA-Factory for those launchers.`,
    multiNode
      ? '# Multi-node: the hostfile and commands name the nodes node-0, node-1, …: make those names resolve (or replace them with\n# the nodes\' addresses), copy this folder to the same path on every node, allow SSH between them for deepspeed/hf (run on\n# node 0 only); torchrun/llamafactory run on every node with NODE_RANK=0..N-1.'
      : '# Run on the node itself.',
    `# usage: ./launch.sh [hf|deepspeed|torchrun|llamafactory]   (default ${fallback}); TRAIN_SCRIPT=path/to/train.py for the first three`,
    'set -euo pipefail',
    'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    'if [ -f "$HERE/.deepspeed_env" ]; then set -a; . "$HERE/.deepspeed_env"; set +a; fi',
    `case "\${1:-${fallback}}" in`,
    `  deepspeed) TRAIN_SCRIPT="$(realpath "\${TRAIN_SCRIPT:-train.py}")"; cd "$HERE"; ${exec(commands.deepspeed)} ;;`,
    `  hf) TRAIN_SCRIPT="$(realpath "\${TRAIN_SCRIPT:-train.py}")"; cd "$HERE"; ${exec(commands.hfTrainer)} ;;`,
    `  torchrun) TRAIN_SCRIPT="$(realpath "\${TRAIN_SCRIPT:-train.py}")"; ${exec(commands.torchrun)} ;;`,
    `  llamafactory) ${exec(commands.llamafactory)} ;;`,
    '  *) echo "usage: launch.sh [hf|deepspeed|torchrun|llamafactory]" >&2; exit 2 ;;',
    'esac',
  ]
  return lines.join('\n') + '\n'
}
