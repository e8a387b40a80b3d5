import type { Candidate } from '../planner/plan.js'
import { runPrecision } from '../planner/contract.js'
import type { LoadedSpec } from '../spec/load.js'
import { dsConfigFor, type DeepSpeedConfig } from './config.js'

/** The DeepSpeed config for a chosen plan: what `ftplan ds-config` writes and what the provisioned nodes receive. */
export function dsConfigForPlan(loaded: LoadedSpec, plan: Candidate, style: 'hf' | 'deepspeed'): DeepSpeedConfig {
  const precision = runPrecision(loaded.spec, plan)
  return dsConfigFor({
    strategy: plan.strategy, arch: loaded.model.arch, precision: precision === 'fp32' ? 'fp32' : precision === 'fp16' ? 'fp16' : 'bf16', optimizer: loaded.spec.optimizer, style,
  })
}
