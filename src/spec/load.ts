import { SpecError } from '../errors.js'
import { countParams, type ParamCounts } from '../models/params.js'
import { countTrainable, type TrainableCount } from '../models/trainable.js'
import { adaptLlamaFactory, LLAMAFACTORY_MARKERS } from './llamafactory.js'
import { entry, parseLocated, type LMap } from './located.js'
import type { SpecSources } from './model-ref.js'
import { normalizeSpec, SPEC_KEYS, type Normalized } from './normalize.js'
import { withStackRegion } from './stack-region.js'
import { FieldReader } from './reader.js'
import type { SpecSource } from './spec.js'

/** The Pulumi stack config key that holds a whole spec (DESIGN.md: `stacks/Pulumi.<stack>.yaml`). */
export const PULUMI_SPEC_KEY = 'ftplan:spec'

export interface LoadedSpec extends Normalized {
  file: string
  source: SpecSource
  /** A Pulumi stack file's aws:region, which the plan then stays in. */
  stackRegion?: string
  params: ParamCounts
  trainable: TrainableCount
}

/**
 * Reads a spec from an ftplan spec YAML, a Pulumi stack file or a LLaMA-Factory training YAML (detected
 * from the content), validates it, fills the defaults and resolves the model.
 * @throws SpecError with every problem found, each located `file:line:col`.
 */
export function loadSpec(text: string, file: string, sources: SpecSources): LoadedSpec {
  const parsed = parseLocated(text, file)
  if (parsed.issues.length > 0) throw new SpecError(parsed.issues)
  const root = parsed.root
  if (!root) throw new SpecError([{ file, line: 1, col: 1, path: '', message: 'the file is empty; a spec needs at least `model`' }])
  if (root.kind !== 'map') {
    throw new SpecError([{ file, line: root.pos.line, col: root.pos.col, path: '', message: 'expected a mapping of spec fields (model, method, …)', allowed: 'an ftplan spec, a Pulumi stack file or a LLaMA-Factory training YAML' }])
  }
  const r = new FieldReader(file)
  const { source, normalized, stackRegion } = detectAndNormalize(root, file, r, sources)
  if (!normalized || r.issues.length > 0) throw new SpecError(r.issues.length > 0 ? r.issues : [{ file, path: '', message: 'the spec could not be read' }])
  const { spec, model } = normalized
  const params = countParams(model.arch)
  const trainable = countTrainable(model.arch, params, {
    method: spec.method,
    loraRank: spec.lora.rank,
    loraTargets: spec.lora.targets,
    modulesToSave: spec.lora.modulesToSave,
    freezeTrainableLayers: spec.freeze.trainableLayers,
  })
  return { ...normalized, file, source, params, trainable, ...(stackRegion ? { stackRegion } : {}) }
}

function detectAndNormalize(root: LMap, file: string, r: FieldReader, sources: SpecSources): { source: SpecSource; normalized: Normalized | undefined; stackRegion?: string } {
  const isStackFile = /(^|[\\/])Pulumi\.[^\\/]+\.ya?ml$/.test(file)
  const config = entry(root, 'config')
  if (isStackFile || (config?.value.kind === 'map' && entry(config.value, PULUMI_SPEC_KEY))) {
    if (!config || config.value.kind !== 'map') {
      r.fail(root, 'config', 'a Pulumi stack file needs a `config` mapping holding the spec', { allowed: `config: { ${PULUMI_SPEC_KEY}: { model: …, … } }` })
      return { source: 'pulumi-stack', normalized: undefined }
    }
    const spec = entry(config.value, PULUMI_SPEC_KEY)
    if (!spec) {
      r.fail(config.value, 'config', `no ${PULUMI_SPEC_KEY} key in the stack config`, { allowed: `config: { ${PULUMI_SPEC_KEY}: { model: …, … } }` })
      return { source: 'pulumi-stack', normalized: undefined }
    }
    // `pulumi config set --secret` stores { secure: <ciphertext> }, which only the Pulumi CLI can decrypt.
    if (spec.value.kind === 'map' && spec.value.entries.length === 1 && spec.value.entries[0]!.key === 'secure') {
      r.fail(spec.value, `config.${PULUMI_SPEC_KEY}`, 'is a Pulumi secret (secure: …), which only the Pulumi CLI can decrypt; the spec holds no credentials, so keep it in plain text', { allowed: `pulumi config set --path '${PULUMI_SPEC_KEY}.model' <id> (without --secret), or the spec written out under config` })
      return { source: 'pulumi-stack', normalized: undefined }
    }
    if (spec.value.kind !== 'map') {
      r.fail(spec.value, `config.${PULUMI_SPEC_KEY}`, 'expected the spec as a mapping', { allowed: 'a mapping: model, method, lora, …' })
      return { source: 'pulumi-stack', normalized: undefined }
    }
    const normalized = normalizeSpec(spec.value, r, sources)
    const region = entry(config.value, 'aws:region')
    if (normalized && region) {
      if (region.value.kind !== 'scalar' || typeof region.value.value !== 'string') r.fail(region.value, 'config.aws:region', 'expected an AWS region name', { allowed: 'e.g. us-east-1' })
      else {
        const applied = withStackRegion(normalized.spec, region.value.value)
        if (applied.problem) r.fail(region.value, 'config.aws:region', applied.problem, { allowed: `add ${region.value.value} to constraints.regions, or change aws:region` })
        else {
          normalized.spec = applied.spec
          normalized.notes.push(`aws:region ${region.value.value}: the stack deploys there, so the plan stays in it`)
        }
      }
    }
    const others = config.value.entries.filter((e) => e.key !== PULUMI_SPEC_KEY && e.key !== 'aws:region')
    normalized?.ignored.push(...others.map((e) => ({ path: `config.${e.key}`, reason: 'Pulumi stack setting, not part of the spec' })))
    const stackRegion = region?.value.kind === 'scalar' && typeof region.value.value === 'string' ? region.value.value : undefined
    return { source: 'pulumi-stack', normalized, ...(stackRegion ? { stackRegion } : {}) }
  }
  if (!entry(root, 'model') && root.entries.some((e) => LLAMAFACTORY_MARKERS.includes(e.key))) {
    const adapted = adaptLlamaFactory(root, r, sources)
    const normalized = normalizeSpec(adapted.spec, r, sources, adapted.defaults, adapted.features)
    normalized?.ignored.unshift(...adapted.ignored)
    normalized?.notes.unshift(...adapted.notes)
    if (normalized && adapted.projection) normalized.spec = { ...normalized.spec, projection: adapted.projection }
    return { source: 'llamafactory', normalized }
  }
  // None of the spec's keys: another YAML altogether. One line saying so beats a line per key.
  if (root.entries.length > 0 && !root.entries.some((e) => (SPEC_KEYS as readonly string[]).includes(e.key))) {
    const keys = root.entries.slice(0, 4).map((e) => e.key).join(', ') + (root.entries.length > 4 ? ', …' : '')
    r.fail(root, '', `this is not an ftplan spec: none of its keys (${keys}) is a spec key, a Pulumi stack's \`config\` or a LLaMA-Factory training key`, { allowed: 'an ftplan spec (model, method, …), a Pulumi stack file (config: { ftplan:spec: … }) or a LLaMA-Factory training YAML (model_name_or_path, stage, finetuning_type, …)' })
    return { source: 'spec', normalized: undefined }
  }
  return { source: 'spec', normalized: normalizeSpec(root, r, sources) }
}
