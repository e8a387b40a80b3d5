import { isMap, isScalar, parseDocument, stringify } from 'yaml'
import type { ModelArch } from '../models/arch.js'
import type { FinetuneSpec } from '../spec/spec.js'
import type { DsConfigInput } from './config.js'
import { HF_OPTIM, trainerArgs, type ArgValue } from './hf-args.js'

/** One change ftplan makes to a LLaMA-Factory YAML so that it runs the plan; `to: null` removes the key. */
export interface YamlEdit {
  key: string
  from: ArgValue | null
  to: ArgValue | null
  why: string
}

/** The file name the launch commands give the config; the command line passes its full path (launch.ts). */
export const LF_CONFIG_NAME = 'ds_config.json'

/**
 * The LLaMA-Factory keys the plan decides, with LLaMA-Factory's default for each (hparams/*.py, and HF
 * TrainingArguments for the Trainer's keys): the values a YAML must hold so that `llamafactory-cli train`
 * runs the plan and HF fills the config's "auto" values with the plan's numbers.
 */
function planKeys(spec: FinetuneSpec, input: DsConfigInput): { key: string; to: ArgValue | null; fallback: ArgValue | null; why: string }[] {
  const s = input.strategy
  const args = new Map(trainerArgs(input))
  const pure = spec.precision === 'pure_bf16' && input.precision === 'bf16'
  // DeepSpeed runs for ZeRO 1–3, and at stage 0 when the input's config says so (strategy.deepspeedAtZero0).
  const ds = s.zeroStage > 0 || s.deepspeedAtZero0 === true
  const keys: { key: string; to: ArgValue | null; fallback: ArgValue | null; why: string }[] = [
    { key: 'per_device_train_batch_size', to: s.microBatch, fallback: 8, why: 'the micro-batch the plan fits' },
    { key: 'gradient_accumulation_steps', to: s.accumulation, fallback: 1, why: 'the accumulation the plan splits each GPU\'s batch with' },
    { key: 'disable_gradient_checkpointing', to: !s.gradientCheckpointing, fallback: false, why: `gradient checkpointing ${s.gradientCheckpointing ? 'on' : 'off'} in the plan` },
    // Under DeepSpeed, bf16.enabled (filled from `bf16`) must be on even for pure_bf16: DeepSpeed keeps the fp32
    // master either way, and LLaMA-Factory computes in bf16 when either flag is set (hparams/parser.py:640).
    { key: 'bf16', to: input.precision === 'bf16' && (!pure || ds), fallback: false, why: 'the precision the GPU runs' },
    { key: 'fp16', to: input.precision === 'fp16', fallback: false, why: input.precision === 'fp16' && spec.precision !== 'fp16' ? 'the GPU has no bf16: fp16 with loss scaling' : 'the precision the GPU runs' },
    { key: 'pure_bf16', to: pure, fallback: false, why: 'the precision the GPU runs' },
    { key: 'deepspeed', to: ds ? LF_CONFIG_NAME : null, fallback: null, why: ds ? 'the config ftplan wrote for the plan' : 'the plan runs without DeepSpeed (ZeRO 0)' },
  ]
  // An explicit config carries a DeepSpeed scheduler with its step counts, which HF checks against these.
  if (input.style === 'deepspeed' && args.has('max_steps')) keys.push({ key: 'max_steps', to: args.get('max_steps')!, fallback: -1, why: "the scheduler's total_num_steps in the config" })
  if (input.style === 'deepspeed' && args.has('warmup_steps')) keys.push({ key: 'warmup_steps', to: args.get('warmup_steps')!, fallback: 0, why: "the scheduler's warmup_num_steps in the config" })
  return keys
}

/**
 * The user's LLaMA-Factory YAML with exactly the edits the plan needs, and the list of edits to print. The text
 * is edited in place at the values' own offsets (yaml's node ranges), so comments, order and the spelling of
 * every other value (`1.0e-4`, which PyYAML needs) stay as the user wrote them.
 */
export function editLlamaFactoryYaml(text: string, spec: FinetuneSpec, input: DsConfigInput): { text: string; edits: YamlEdit[] } {
  const doc = parseDocument(text)
  const root = isMap(doc.contents) ? doc.contents : null
  const edits: YamlEdit[] = []
  const splices: { from: number; to: number; text: string }[] = []
  let appended = ''
  for (const k of planKeys(spec, input)) {
    const pair = root?.items.find((p) => isScalar(p.key) && p.key.value === k.key)
    const node = pair?.value
    const current = isScalar(node) ? (node.value as ArgValue | null) : null
    if ((current ?? k.fallback) === k.to) continue
    edits.push({ key: k.key, from: current, to: k.to, why: k.why })
    if (k.to === null) {
      // The whole line of the key goes: from its start to the end of its value's line.
      const start = text.lastIndexOf('\n', (pair!.key as { range: [number, number, number] }).range[0] - 1) + 1
      const endOfLine = text.indexOf('\n', (node as { range: [number, number, number] } | undefined)?.range[1] ?? start)
      splices.push({ from: start, to: endOfLine < 0 ? text.length : endOfLine + 1, text: '' })
    } else if (isScalar(node) && node.range) splices.push({ from: node.range[0], to: node.range[1], text: String(k.to) })
    else appended += `${k.key}: ${String(k.to)}\n`
  }
  let out = text
  for (const sp of splices.sort((a, b) => b.from - a.from)) out = out.slice(0, sp.from) + sp.text + out.slice(sp.to)
  if (appended) out = `${out}${out.endsWith('\n') || out === '' ? '' : '\n'}${appended}`
  return { text: out, edits }
}

/**
 * A LLaMA-Factory YAML for a spec written in ftplan's own format: the model, method and every value the plan
 * and the config rely on. The dataset is the user's to name: LLaMA-Factory's demo set keeps it runnable.
 */
export function llamaFactoryYamlFor(spec: FinetuneSpec, arch: ModelArch, input: DsConfigInput, data: { dataset: string; datasetDir: string } = { dataset: 'alpaca_en_demo', datasetDir: 'data' }): string {
  const model = spec.model.kind === 'catalog' ? spec.model.id : spec.model.kind === 'config-file' ? spec.model.path.replace(/[\\/]?config\.json$/, '') || '.' : arch.name
  const out: Record<string, unknown> = { model_name_or_path: model, stage: 'sft', do_train: true }
  const lora = spec.method === 'lora' || spec.method === 'qlora'
  out['finetuning_type'] = lora ? 'lora' : spec.method
  if (lora) {
    Object.assign(out, { lora_rank: spec.lora.rank, lora_alpha: spec.lora.alpha, lora_dropout: spec.lora.dropout, lora_target: spec.lora.targets === 'all' ? 'all' : spec.lora.targets.join(',') })
    if (spec.lora.modulesToSave.length > 0) out['additional_target'] = spec.lora.modulesToSave.join(',')
  }
  if (spec.method === 'freeze') out['freeze_trainable_layers'] = spec.freeze.trainableLayers
  if (spec.quantization !== 'none') Object.assign(out, { quantization_bit: spec.quantization === '4bit' ? 4 : 8, quantization_method: 'bnb' })
  if (data.datasetDir !== 'data') out['dataset_dir'] = data.datasetDir
  Object.assign(out, { dataset: data.dataset, cutoff_len: spec.seqLenTokens, output_dir: `saves/${arch.name.split('/').pop()}/${spec.method}`, overwrite_output_dir: true })
  out['flash_attn'] = spec.attention === 'flash' ? 'fa2' : spec.attention === 'sdpa' ? 'sdpa' : 'disabled'
  if (spec.loss === 'fused') out['enable_liger_kernel'] = true
  if (spec.train) out['num_train_epochs'] = spec.train.epochs
  for (const [key, value] of trainerArgs(input)) {
    if (key === 'gradient_checkpointing' || key === 'bf16' || key === 'fp16') continue
    out[key] = key === 'optim' ? HF_OPTIM[spec.optimizer] : value
  }
  for (const k of planKeys(spec, input)) if (k.to !== null && k.to !== k.fallback) out[k.key] = k.to
  const header = [
    '# LLaMA-Factory training YAML written by ftplan for the plan it made: batch, precision, checkpointing and the',
    '# DeepSpeed config are the plan\'s. Set `dataset` (data/dataset_info.json) and `template` for your model.',
  ]
  return `${header.join('\n')}\n${yaml11Floats(stringify(out))}`
}

/**
 * LLaMA-Factory reads its YAML with OmegaConf over PyYAML, whose YAML 1.1 float pattern needs a dot and a signed
 * exponent: `1e-8` would arrive as the string "1e-8" and TrainingArguments would hold a string. Plain `key: 1e-8`
 * lines are rewritten `1.0e-8`.
 */
export function yaml11Floats(text: string): string {
  return text.replace(/^(\s*[\w.-]+:[ \t]+)(-?\d+)(\.\d+)?e([-+]?)(\d+)[ \t]*$/gm, (_m, pre: string, int: string, frac: string | undefined, sign: string, exp: string) => `${pre}${int}${frac ?? '.0'}e${sign || '+'}${exp}`)
}
