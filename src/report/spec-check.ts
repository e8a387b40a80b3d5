import { stringify } from 'yaml'
import { specToDocument } from '../spec/document.js'
import type { LoadedSpec } from '../spec/load.js'
import { formatCount, formatInt } from './format.js'

const SOURCE_LABEL = { spec: 'ftplan spec', 'pulumi-stack': 'Pulumi stack config ftplan:spec', llamafactory: 'LLaMA-Factory training YAML' } as const

/** The `spec check --json` document. */
export function specCheckJson(loaded: LoadedSpec): Record<string, unknown> {
  const { arch } = loaded.model
  return {
    version: 1,
    file: loaded.file,
    source: loaded.source,
    spec: specToDocument(loaded.spec),
    model: {
      name: arch.name,
      family: arch.family,
      params: loaded.params.total,
      activeParams: loaded.params.active,
      embeddingParams: loaded.params.embedding,
      headParams: loaded.params.head,
      finalNormParams: loaded.params.finalNorm,
      perLayerParams: loaded.params.perLayer,
      trainableParams: loaded.trainable.trainable,
      adapterParams: loaded.trainable.adapters,
      fullyTrainedParams: loaded.trainable.fullyTrained,
    },
    defaults: loaded.defaults,
    ignored: loaded.ignored,
    notes: loaded.notes,
  }
}

export function renderSpecCheck(loaded: LoadedSpec): string {
  const { spec, params, trainable } = loaded
  const arch = loaded.model.arch
  const out: string[] = []
  out.push(`${loaded.file}: valid ${SOURCE_LABEL[loaded.source]}`, '')
  const moe = arch.moe ? `, ${formatInt(params.active)} active per token (${arch.moe.expertsPerToken} of ${arch.moe.numExperts} experts)` : ''
  out.push(`model      ${arch.name} (${arch.family}): ${formatInt(params.total)} parameters (${formatCount(params.total)})${moe}`)
  out.push(`           embedding ${formatInt(params.embedding)}, lm_head ${params.head === 0 ? 'tied to the embedding' : formatInt(params.head)}, ${layerSummary(params.perLayer)}, final norm ${formatInt(params.finalNorm)}`)
  const share = ((trainable.trainable / params.total) * 100).toPrecision(3)
  out.push(`trainable  ${formatInt(trainable.trainable)} (${share}% of the model): ${trainableDetail(loaded)}`, '')
  out.push('normalized spec:', indent(stringify(specToDocument(spec), { lineWidth: 0 })))
  const section = (title: string, lines: string[]) => {
    if (lines.length > 0) out.push(`${title} (${lines.length}):`, ...lines.map((l) => `  ${l}`), '')
  }
  section('defaults filled in', loaded.defaults.map((d) => `${d.path} = ${JSON.stringify(d.value)}${d.from === 'llamafactory' ? '  (LLaMA-Factory default)' : ''}`))
  section('ignored', loaded.ignored.map((i) => `${i.path}: ${i.reason}`))
  section('notes', loaded.notes)
  return out.join('\n').trimEnd() + '\n'
}

function layerSummary(perLayer: readonly number[]): string {
  const groups: { n: number; count: number }[] = []
  for (const n of perLayer) {
    const last = groups.at(-1)
    if (last && last.n === n) last.count += 1
    else groups.push({ n, count: 1 })
  }
  return groups.map((g) => `${g.count} × ${formatInt(g.n)} per layer`).join(' + ')
}

function trainableDetail(loaded: LoadedSpec): string {
  const { spec, trainable } = loaded
  switch (spec.method) {
    case 'full':
      return 'full fine-tuning trains every parameter'
    case 'freeze':
      return `the ${spec.freeze.trainableLayers > 0 ? 'last' : 'first'} ${Math.abs(spec.freeze.trainableLayers)} layers train, the rest is frozen`
    default: {
      const targets = spec.lora.targets === 'all' ? 'all linear modules' : spec.lora.targets.join(', ')
      const saved = spec.lora.modulesToSave.length > 0 ? ` + ${formatInt(trainable.fullyTrained)} in ${spec.lora.modulesToSave.join(', ')}` : ''
      return `${spec.method === 'qlora' ? `QLoRA (${spec.quantization} base)` : 'LoRA'} rank ${spec.lora.rank} on ${targets}: ${formatInt(trainable.adapters)} adapter parameters${saved}`
    }
  }
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n') + '\n'
}
