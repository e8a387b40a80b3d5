import { InvalidArgumentError, type Command } from 'commander'
import type { CheckOptions, DsConfigOptions } from './deepspeed-actions.js'
import { decimalInteger, decimalNumber } from './numbers.js'
import type { CommandContext } from './plan-command.js'

// The DeepSpeed commands load their code only when they run: start-up stays lean.
const int = (label: string) => (value: string): number => {
  const n = decimalInteger(value)
  if (!Number.isInteger(n) || n < 1 || n > 65_536) throw new InvalidArgumentError(`expected ${label}, an integer 1..65536.`)
  return n
}
const gbArg = (value: string): number => {
  const n = decimalNumber(value)
  if (!Number.isFinite(n) || n <= 0 || n > 10_000) throw new InvalidArgumentError('expected a size in GB, e.g. 80.')
  return n
}
const style = (value: string): 'hf' | 'deepspeed' => {
  if (value !== 'hf' && value !== 'deepspeed') throw new InvalidArgumentError('expected hf or deepspeed.')
  return value
}

export function addDeepSpeedCommands(program: Command, ctx: CommandContext & { stderr(text: string): void }): void {
  program
    .command('ds-config')
    .description('write the DeepSpeed config for the chosen plan (the same bucket sizes the estimate used), and optionally a launch folder that starts it')
    .argument('<spec>', 'spec file')
    .option('-o, --output <file>', 'write the config here (atomically) instead of printing it')
    .option('--style <style>', 'deepspeed: fully explicit (default for ftplan specs); hf: "auto" where HF Trainer / LLaMA-Factory fill values in (default for LLaMA-Factory YAMLs)', style)
    .option('--launch-dir <dir>', 'also write a launch folder: ds_config.json, launch.sh, train.yaml (LLaMA-Factory), and hostfile and .deepspeed_env for multi-node plans')
    .option('--catalog <file>', 'instance catalog CSV (default: the built-in AWS catalog)')
    .option('--force', 'overwrite existing files')
    .addHelpText('after', '\nExamples:\n  ftplan ds-config stacks/Pulumi.example.yaml\n  ftplan ds-config spec.yaml --style hf -o ds_config.json --launch-dir launch/')
    .action(async (file: string, opts: DsConfigOptions) => {
      const { dsConfigAction } = await import('./deepspeed-actions.js')
      dsConfigAction(ctx, file, opts)
    })

  program
    .command('check')
    .description("check a DeepSpeed config the way DeepSpeed reads it (error / warning / ok, with DeepSpeed's source line), then estimate memory for exactly that config on that hardware")
    .argument('<ds_config>', 'a DeepSpeed JSON config')
    .requiredOption('--spec <file>', 'the spec of the run (model, method, sequence length, …)')
    .option('--plan', "check against the plan ftplan makes for the spec: its hardware, and its micro-batch, accumulation, precision and checkpointing for HF's \"auto\" values")
    .option('--gpus <n>', 'data-parallel GPUs (world size)', int('the GPU count'))
    .option('--gpu-memory-gb <gb>', 'memory of each GPU, GB', gbArg)
    .option('--instance <type>', 'an instance type from the catalog (sets the GPUs per node, their memory and host RAM)')
    .option('--nodes <n>', 'nodes of --instance (default 1)', int('the node count'))
    .option('--catalog <file>', 'instance catalog CSV for --plan and --instance (default: the built-in AWS catalog)')
    .option('--json', 'print JSON: { version, file, accepted, findings: [{ verdict, line, col, path, message, source }], strategy, memory, usableBytesPerGpu, fits, notes }')
    .addHelpText('after', '\nExamples:\n  ftplan check ds_config.json --spec spec.yaml --plan\n  ftplan check ds_config.json --spec spec.yaml --gpus 8 --gpu-memory-gb 80\n  ftplan check ds_z3_config.json --spec train_lora.yaml --instance p4d.24xlarge --nodes 2')
    .action(async (configFile: string, opts: CheckOptions) => {
      const { checkAction } = await import('./deepspeed-actions.js')
      checkAction(ctx, configFile, opts)
    })
}
