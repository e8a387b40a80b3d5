import type { Catalog } from '../instances/types.js'
import type { LoadedSpec } from '../spec/load.js'
import { planFinetune, type BatchMode, type PlanInput, type PlanResult } from './plan.js'

/**
 * `batch.global` keeps the global batch on every layout; a micro-batch or accumulation the spec sets is each GPU's
 * batch, as HF Trainer and LLaMA-Factory read them (the global batch grows with the GPUs); neither lets the planner pick.
 */
export function batchMode(loaded: LoadedSpec): BatchMode {
  if (loaded.spec.batch.global !== null) return 'global'
  const set = (path: string) => !loaded.defaults.some((d) => d.path === path)
  return set('batch.micro') || set('batch.accumulation') ? 'per-gpu' : 'free'
}

export function planInputOf(loaded: LoadedSpec, catalog: Catalog): PlanInput {
  return { spec: loaded.spec, arch: loaded.model.arch, catalog, batch: batchMode(loaded) }
}

export function planLoaded(loaded: LoadedSpec, catalog: Catalog): PlanResult {
  return planFinetune(planInputOf(loaded, catalog))
}
