import type { Catalog } from '../instances/types.js'
import type { LoadedSpec } from '../spec/load.js'
import { planFinetune, type PlanInput, type PlanResult } from './plan.js'

/** A spec that sets either batch field keeps its global batch on every layout; one that sets neither lets the planner pick. */
export function batchFixed(loaded: LoadedSpec): boolean {
  return !loaded.defaults.some((d) => d.path === 'batch.micro') || !loaded.defaults.some((d) => d.path === 'batch.accumulation')
}

export function planInputOf(loaded: LoadedSpec, catalog: Catalog): PlanInput {
  return { spec: loaded.spec, arch: loaded.model.arch, catalog, batchFixed: batchFixed(loaded) }
}

export function planLoaded(loaded: LoadedSpec, catalog: Catalog): PlanResult {
  return planFinetune(planInputOf(loaded, catalog))
}
