import type { Candidate } from '../planner/plan.js'
import type { LoadedSpec } from '../spec/load.js'
import { dsConfigFor, dsConfigText, dsScheduler, type DeepSpeedConfig, type DsConfigInput } from './config.js'
import { dsInputForPlan } from './for-plan.js'
import { trainerArgs } from './hf-args.js'
import { launchFilesFor, type LaunchFiles } from './launch.js'
import { launchScript } from './launch-script.js'
import { editLlamaFactoryYaml, llamaFactoryYamlFor, type YamlEdit } from './llamafactory-yaml.js'

export interface LaunchFolder {
  config: DeepSpeedConfig
  input: DsConfigInput
  launch: LaunchFiles
  /** File name → text: ds_config.json, launch.sh, train.yaml, and for multi-node runs hostfile and .deepspeed_env. */
  files: Record<string, string>
  /** Changes made to the user's LLaMA-Factory YAML (empty for other specs). */
  edits: YamlEdit[]
  notes: string[]
}

/** Where the folder runs when ftplan provisions the nodes: their static IPs, and no LLaMA-Factory checkout. */
export interface ClusterPlace {
  hosts: readonly string[]
}

/**
 * A provisioned node has no LLaMA-Factory checkout, so no data/ folder with the demo set: LLaMA-Factory's own copy
 * on the Hugging Face hub (data/dataset_info.json: alpaca_en → llamafactory/alpaca_en), read with dataset_dir ONLINE
 * (data/parser.py:100, every name a hub dataset).
 */
export const ONLINE_DEMO = { dataset: 'llamafactory/alpaca_en', datasetDir: 'ONLINE' } as const

/**
 * Everything a plan needs to start, consistent by construction: the config, the TrainingArguments every
 * launcher passes (trainerArgs), the LLaMA-Factory YAML (the user's own, edited, when the spec was one), and
 * launch.sh. `lfText` is the LLaMA-Factory YAML the spec was read from.
 */
export function launchFolderFor(loaded: LoadedSpec, plan: Candidate, style: 'hf' | 'deepspeed', lfText: string | null, cluster?: ClusterPlace): LaunchFolder {
  const hosts = cluster?.hosts
  const input = dsInputForPlan(loaded, plan, style)
  const config = dsConfigFor(input)
  const s = plan.strategy
  const deepspeed = s.zeroStage > 0 || s.deepspeedAtZero0 === true
  const multi = plan.nodes > 1
  const launch = launchFilesFor(
    { nodes: plan.nodes, gpusPerNode: plan.offer.gpuCount, efa: (plan.offer.efaInterfaces ?? 0) > 0, configDir: '"$HERE"', ...(hosts ? { hosts } : {}) },
    { args: trainerArgs(input), deepspeed, script: '"$TRAIN_SCRIPT"' },
  )
  const lf = lfText !== null ? editLlamaFactoryYaml(lfText, loaded.spec, input) : { text: llamaFactoryYamlFor(loaded.spec, loaded.model.arch, input, cluster ? ONLINE_DEMO : undefined), edits: [] }
  const header = [
    `ftplan: ${plan.nodes} × ${plan.offer.instanceType} (${s.gpus} × ${plan.offer.gpu}), ZeRO-${s.zeroStage}${s.offload !== 'none' ? ` + ${s.offload} offload to ${s.offloadDevice}` : ''}, micro-batch ${s.microBatch} × accumulation ${s.accumulation}, ${input.precision}, ${style}-style config`,
  ]
  const files: Record<string, string> = {
    'ds_config.json': dsConfigText(config),
    'launch.sh': launchScript(launch.commands, header, loaded.source === 'llamafactory' ? 'llamafactory' : 'hf', multi),
    'train.yaml': lf.text,
  }
  if (multi) Object.assign(files, { hostfile: launch.hostfile, '.deepspeed_env': launch.deepspeedEnv })
  return { config, input, launch, files, edits: lf.edits, notes: configNotes(loaded, plan, input, config) }
}

/** What the user should know about how the config will run, beyond the numbers in it. */
function configNotes(loaded: LoadedSpec, plan: Candidate, input: DsConfigInput, config: DeepSpeedConfig): string[] {
  const spec = loaded.spec
  const s = plan.strategy
  const out: string[] = []
  if (s.zeroStage === 0 && !s.deepspeedAtZero0) out.push('the plan runs without ZeRO: its estimate is HF autocast without DeepSpeed, so the HF and LLaMA-Factory commands pass no config (under DeepSpeed, stage 0 would run its FP16_Optimizer: 16-bit weights and grads, an fp32 master copy, and fp32 grads at the step)')
  if (s.zeroStage === 0 && s.deepspeedAtZero0) out.push('DeepSpeed runs at ZeRO stage 0, as the input\'s config says: its FP16_Optimizer (16-bit weights and grads, fp32 master and optimizer state), nothing sharded; the estimate counts that')
  if (spec.deepspeed.offloadDevice === 'nvme' && s.offload !== 'none' && s.zeroStage < 3) out.push(`NVMe offload needs ZeRO-3; at stage ${s.zeroStage} DeepSpeed runs it as CPU offload (runtime/zero/stage_1_and_2.py:186), so the config says cpu and the estimate counts host RAM`)
  if (config.optimizer && s.offload !== 'none' && config.optimizer.type === 'AdamW' && spec.optimizer !== 'adamw') out.push(`${spec.optimizer} cannot step on the CPU: under offload DeepSpeed runs its CPU Adam with fp32 state, and the estimate counts that`)
  if (input.style === 'deepspeed' && !config.optimizer) out.push(`DeepSpeed cannot build ${spec.optimizer}: the config has no optimizer block, so under the plain launcher your script passes the optimizer to deepspeed.initialize (HF Trainer builds it from --optim)`)
  if (input.style === 'deepspeed' && !config.scheduler && spec.scheduler.type !== 'constant') {
    out.push(spec.train === null && (spec.scheduler.type === 'linear' || spec.scheduler.type === 'cosine')
      ? `no train section, so no step count: the config has no ${spec.scheduler.type} scheduler (the plain launcher keeps lr constant; HF Trainer builds its own from --lr_scheduler_type)`
      : `DeepSpeed has no ${spec.scheduler.type} scheduler: the plain launcher keeps lr constant; HF Trainer builds its own from --lr_scheduler_type`)
  }
  const sched = input.style === 'deepspeed' ? dsScheduler(spec.scheduler, spec.optim.lr, input.totalSteps) : null
  if (sched && sched.warmupSteps === 1 && spec.scheduler.warmupRatio === 0 && spec.scheduler.warmupSteps === 0) out.push('DeepSpeed schedulers need at least one warm-up step (runtime/lr_schedules.py:708): warmup_num_steps 1')
  if (sched?.totalSteps) out.push(`${sched.totalSteps} optimizer steps (train section ÷ global batch ${s.microBatch * s.accumulation * s.gpus}); HF commands pass --max_steps ${sched.totalSteps} to match the scheduler`)
  return out
}
