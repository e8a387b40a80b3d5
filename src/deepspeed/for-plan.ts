import type { Candidate } from '../planner/plan.js'
import { runPrecision } from '../planner/contract.js'
import type { LoadedSpec } from '../spec/load.js'
import { dsConfigFor, type DeepSpeedConfig, type DsConfigInput } from './config.js'
import { optimizerSteps } from './steps.js'

/** Everything a plan's DeepSpeed config and launch commands are written from. */
export function dsInputForPlan(loaded: LoadedSpec, plan: Candidate, style: 'hf' | 'deepspeed'): DsConfigInput {
  const spec = loaded.spec
  const s = plan.strategy
  const precision = runPrecision(spec, plan)
  return {
    strategy: s, arch: loaded.model.arch, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : 'bf16',
    optimizer: spec.optimizer, optim: spec.optim, scheduler: spec.scheduler,
    totalSteps: optimizerSteps(spec.train, spec.seqLenTokens, s.microBatch, s.accumulation, s.gpus), style, loss: spec.loss,
  }
}

/** The DeepSpeed config for a chosen plan: what `ftplan ds-config` writes and what the provisioned nodes receive. */
export function dsConfigForPlan(loaded: LoadedSpec, plan: Candidate, style: 'hf' | 'deepspeed'): DeepSpeedConfig {
  return dsConfigFor(dsInputForPlan(loaded, plan, style))
}
