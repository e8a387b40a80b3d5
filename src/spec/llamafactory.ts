import { didYouMean } from '../suggest.js'
import { entry, parseJsonLocated, toPlain, type LEntry, type LMap, type LNode, type LScalar, type Pos } from './located.js'
import { looksLikePath, type SpecSources } from './model-ref.js'
import type { FilledDefault, IgnoredField } from './normalize.js'
import type { FieldReader } from './reader.js'
import type { LowRankProjection, TrainerFeature } from './spec.js'

/** Keys that mark a LLaMA-Factory training YAML (they never appear in an ftplan spec). */
export const LLAMAFACTORY_MARKERS = ['model_name_or_path', 'finetuning_type', 'stage', 'do_train', 'template', 'dataset']

/** LLaMA-Factory / HF Trainer `optim` names → ftplan optimizers (HF OptimizerNames). */
const OPTIM: Record<string, string> = {
  adamw_torch: 'adamw', adamw_torch_fused: 'adamw', adamw_hf: 'adamw', adamw_apex_fused: 'adamw', adamw_torch_xla: 'adamw',
  adamw_8bit: 'adamw_8bit', adamw_bnb_8bit: 'adamw_8bit', paged_adamw_32bit: 'paged_adamw', paged_adamw_8bit: 'paged_adamw_8bit',
  adafactor: 'adafactor', sgd: 'sgd', lion_32bit: 'lion', paged_lion_32bit: 'lion',
}

/** LLaMA-Factory `flash_attn` (AttentionFunction) → ftplan attention. `auto` lets transformers pick SDPA. */
const ATTENTION: Record<string, string> = { auto: 'sdpa', disabled: 'eager', sdpa: 'sdpa', fa2: 'flash', fa3: 'flash' }

/** Keys this adapter reads; every other key is listed as ignored. */
const READ = new Set([
  'model_name_or_path', 'model_revision', 'stage', 'finetuning_type', 'quantization_bit', 'quantization_method', 'quantization_type',
  'double_quantization', 'lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target', 'additional_target', 'cutoff_len',
  'per_device_train_batch_size', 'gradient_accumulation_steps', 'bf16', 'fp16', 'pure_bf16', 'flash_attn',
  'disable_gradient_checkpointing', 'freeze_trainable_layers', 'optim', 'enable_liger_kernel', 'deepspeed',
  'learning_rate', 'weight_decay', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'max_grad_norm', 'lr_scheduler_type', 'warmup_ratio',
  'warmup_steps', 'use_galore', 'use_apollo', 'galore_target', 'galore_rank', 'galore_proj_type', 'galore_layerwise',
  'apollo_target', 'apollo_rank', 'apollo_proj_type', 'apollo_layerwise', 'use_adam_mini', 'use_muon', 'use_dft_loss', 'use_eaft_loss', 'use_asft_loss', 'use_dora', 'use_unsloth',
  'use_unsloth_gc', 'shift_attn', 'upcast_lmhead_output', 'use_llama_pro', 'use_mca', 'use_megatron_bridge', 'use_hyper_parallel', 'use_kt', 'freeze_trainable_modules', 'freeze_extra_modules', 'pissa_init', 'use_badam', 'mixture_of_depths', 'fp8', 'fsdp', 'fsdp_config',
  'do_train', 'do_predict',
])

/**
 * Keys that change what a step holds or costs in ways spec v1 cannot say: refused, naming the key and why, rather than
 * planned as something else (issue #15). Sources: LLaMA-Factory hparams @ff6d4d12 (finetuning_args.py:356 use_badam,
 * model_args.py:125 mixture_of_depths, training_args.py:123 fp8) and transformers TrainingArguments.fsdp.
 */
const REFUSED: Record<string, { set: (v: LScalar['value'] | undefined, n: LNode) => boolean; why: string; allowed: string }> = {
  use_badam: { set: (v) => v === true, why: 'BAdam updates one block of layers at a time, switching blocks during training: its memory and time are neither a full nor a freeze fine-tune, and ftplan does not model them', allowed: 'use_badam: false (or finetuning_type: freeze for a fixed set of layers)' },
  mixture_of_depths: { set: (v) => v !== null && v !== undefined, why: 'mixture-of-depths routes tokens around layers, so activations and FLOPs are not those of the model ftplan counts', allowed: 'leave mixture_of_depths out' },
  fp8: { set: (v) => v === true, why: 'FP8 training (Accelerate with torchao or Transformer Engine) changes weights, activations and GEMM speed in ways spec v1 cannot say', allowed: 'fp8: false (bf16: true)' },
  fsdp: { set: (v, n) => n.kind !== 'scalar' || (v !== null && v !== undefined && v !== '' && v !== false), why: 'FSDP shards without the fp32 master copy DeepSpeed keeps; spec v1 plans DeepSpeed ZeRO', allowed: 'a DeepSpeed config instead (`deepspeed: examples/deepspeed/ds_z3_config.json` shards as FSDP FULL_SHARD does)' },
  fsdp_config: { set: (v, n) => n.kind === 'map' || (v !== null && v !== undefined && v !== ''), why: 'FSDP shards without the fp32 master copy DeepSpeed keeps; spec v1 plans DeepSpeed ZeRO', allowed: 'a DeepSpeed config instead' },
  // Keys of hparams/finetuning_args.py and model_args.py @ff6d4d12 that change what a step holds or how fast it runs.
  use_asft_loss: { set: (v) => v === true, why: 'ASFT loads a reference model beside the trained one (train/sft/workflow.py:56-57) and takes a KL term over the whole vocabulary; spec v1 plans one model', allowed: 'use_asft_loss: false (use_dft_loss and use_eaft_loss cost what the standard loss does)' },
  use_dora: { set: (v) => v === true, why: 'DoRA forms each adapted weight W + BA and its column norm every step (PEFT tuners/lora/dora.py), a full-weight tensor per adapted layer that spec v1 does not count', allowed: 'use_dora: false' },
  use_unsloth: { set: (v) => v === true, why: 'Unsloth replaces the model\'s attention, MLP and loss kernels and its checkpointing; its memory and speed are not those ftplan models', allowed: 'use_unsloth: false (enable_liger_kernel: true is modelled)' },
  use_unsloth_gc: { set: (v) => v === true, why: 'Unsloth\'s gradient checkpointing moves the checkpoints to CPU memory, which ftplan does not model', allowed: 'use_unsloth_gc: false' },
  shift_attn: { set: (v) => v === true, why: 'LongLoRA\'s shifted sparse attention (S²-Attn) attends within groups, so attention memory and FLOPs are not those ftplan counts', allowed: 'shift_attn: false' },
  upcast_lmhead_output: { set: (v) => v === true, why: 'an fp32 lm_head output keeps the logits in fp32 through backward, which ftplan\'s logits term does not count', allowed: 'upcast_lmhead_output: false' },
  use_llama_pro: { set: (v) => v === true, why: 'LLaMA Pro trains expanded blocks spread through the model, so backward runs through nearly every layer; spec v1\'s freeze method trains the last layers', allowed: 'use_llama_pro: false (finetuning_type: freeze trains the last freeze_trainable_layers)' },
  use_mca: { set: (v) => v === true, why: 'MCoreAdapter trains with Megatron-Core tensor and pipeline parallelism; ftplan plans data parallelism with DeepSpeed ZeRO', allowed: 'use_mca: false' },
  use_megatron_bridge: { set: (v) => v === true, why: 'Megatron-Bridge trains with Megatron-Core parallelism; ftplan plans data parallelism with DeepSpeed ZeRO', allowed: 'use_megatron_bridge: false' },
  use_hyper_parallel: { set: (v) => v === true, why: 'hyper-parallel training shards sequences and tensors across GPUs; ftplan plans data parallelism with DeepSpeed ZeRO', allowed: 'use_hyper_parallel: false' },
  use_kt: { set: (v) => v === true, why: 'KTransformers runs MoE experts on the CPU; ftplan places every weight on the GPUs', allowed: 'use_kt: false' },
}

export interface Adapted {
  spec: LMap
  defaults: FilledDefault[]
  ignored: IgnoredField[]
  notes: string[]
  features: TrainerFeature[]
  projection?: LowRankProjection
}

/**
 * Rewrites a LLaMA-Factory training YAML as an ftplan spec, keeping each value's position and the key
 * it came from. Where the YAML is silent, LLaMA-Factory's own defaults (and HF Trainer's) fill in, so the
 * spec describes the run `llamafactory-cli train` would actually do.
 */
export function adaptLlamaFactory(root: LMap, r: FieldReader, src: SpecSources): Adapted {
  const defaults: FilledDefault[] = []
  const notes: string[] = []
  const ignored: IgnoredField[] = root.entries.filter((e) => !READ.has(e.key)).map((e) => ({ path: e.key, reason: 'LLaMA-Factory key ftplan does not use' }))
  // LLaMA-Factory has hundreds of keys, so unknown ones are not errors; a near miss of one ftplan reads is worth a word.
  // Only a near miss within the same family of keys: galore_target is GaLore's own key, not a misspelt lora_target.
  const family = (k: string) => k.split('_')[0]!
  for (const i of ignored) {
    const near = didYouMean(i.path, [...READ].filter((k) => family(k) === family(i.path)))
    if (near && !root.entries.some((e) => e.key === near)) notes.push(`${i.path} is ignored: did you mean ${near}?`)
  }
  const get = (key: string) => entry(root, key)?.value
  const out: LEntry[] = []
  const put = (specPath: string, value: LNode) => setPath(out, specPath.split('.'), value, root.pos)
  const str = (n: LNode | undefined) => (n?.kind === 'scalar' && n.value !== null ? String(n.value).trim() : undefined)
  const at = (key: string) => get(key)?.pos ?? root.pos
  /** Passes a value through under the ftplan path, or fills LLaMA-Factory's default. */
  const map = (key: string, specPath: string, fallback: LScalar['value'] | undefined, convert?: (n: LNode) => LNode | undefined) => {
    const n = get(key)
    if (n !== undefined && !(n.kind === 'scalar' && n.value === null)) {
      const v = convert ? convert(n) : n
      if (v) put(specPath, withOrigin(v, key))
    } else if (fallback !== undefined) {
      put(specPath, scalar(fallback, root.pos, key))
      defaults.push({ path: specPath, value: fallback, from: 'llamafactory' })
    }
  }

  const modelNode = get('model_name_or_path')
  // ModelArguments.model_revision (default main) names the Hub revision a Hub id loads at; a local folder has none.
  const revision = str(get('model_revision'))
  const modelId = str(modelNode)
  if (modelNode && revision && revision !== 'main' && modelId && !looksLikePath(modelId) && !modelId.includes('@')) {
    put('model', scalar(`${modelId}@${revision}`, modelNode.pos, 'model_name_or_path, model_revision'))
  } else if (modelNode) put('model', withOrigin(modelNode, 'model_name_or_path'))
  else r.fail(root, 'model_name_or_path', 'is required')

  for (const [key, rule] of Object.entries(REFUSED)) {
    const n = get(key)
    if (n !== undefined && rule.set(n.kind === 'scalar' ? n.value : undefined, n)) r.fail(n, key, `${key} is not modelled: ${rule.why}`, { allowed: rule.allowed })
  }
  // HF TrainingArguments.do_train defaults to false: a YAML that does not train (predict or evaluate only) has no step to plan.
  const doTrain = get('do_train')
  if (!(doTrain?.kind === 'scalar' && doTrain.value === true)) {
    const predict = get('do_predict')
    if (predict?.kind === 'scalar' && predict.value === true) {
      r.fail(predict, 'do_predict', 'a predict-only YAML (do_predict: true without do_train: true) trains nothing, and ftplan plans training runs: inference memory is not what it estimates', { allowed: 'do_train: true' })
    } else notes.push('do_train is not true: LLaMA-Factory would not train (HF TrainingArguments.do_train defaults to false); planned as the run with do_train: true')
  }

  const stage = str(get('stage')) ?? 'sft'
  if (stage !== 'sft' && stage !== 'pt') {
    r.fail({ pos: at('stage') }, 'stage', `stage ${stage} is not modelled: ftplan estimates supervised fine-tuning and pre-training; ${stage} also holds a reference or reward model`, { allowed: 'sft | pt' })
  }

  const quantBit = get('quantization_bit')
  const quant = quantBit && !(quantBit.kind === 'scalar' && quantBit.value === null) ? quantBit : undefined
  map('finetuning_type', 'method', 'lora', (n) => str(n) === 'oft'
    ? r.fail(n, 'finetuning_type', 'finetuning_type oft is not modelled: OFT trains orthogonal block rotations of each weight (PEFT tuners/oft), whose memory and FLOPs are neither LoRA\'s nor a full fine-tune\'s', { allowed: 'full | lora | freeze (quantization_bit with lora for QLoRA)' })
    : n)
  if (quant) {
    if (quant.kind === 'scalar' && (quant.value === 4 || quant.value === 8)) put('quantization', scalar(`${quant.value}bit`, quant.pos, 'quantization_bit'))
    else r.fail(quant, 'quantization_bit', `${JSON.stringify(quant.kind === 'scalar' ? quant.value : quant.kind)} is not modelled`, { allowed: '4 | 8 (bitsandbytes)' })
    const method = str(get('quantization_method'))
    if (method && !['bnb', 'bitsandbytes'].includes(method)) notes.push(`quantization_method ${method}: ftplan sizes quantized weights as bitsandbytes does`)
    if (str(get('quantization_type')) === 'fp4') notes.push('quantization_type fp4: same size as nf4 (4 bits per weight plus block constants)')
    const dq = get('double_quantization')
    if (dq?.kind === 'scalar' && dq.value === false) notes.push('double_quantization false: ftplan assumes double quantization (block constants of 0.127 instead of 0.5 bits per weight, QLoRA paper §2)')
  }
  // Without quantization_bit the model loads as stored: unquantized, or a checkpoint whose config.json quantization_config
  // normalize reads (LLaMA-Factory model_utils/quantization.py: PTQ-quantized models take priority).

  // Freeze-tuning part of each trained layer, or modules beside them (model/adapter.py:105-122), is not spec v1's freeze
  // method, which trains whole layers; LLaMA-Factory reads these keys only for finetuning_type freeze.
  if (str(get('finetuning_type')) === 'freeze') {
    const modules = str(get('freeze_trainable_modules'))
    if (modules && modules !== 'all') r.fail({ pos: at('freeze_trainable_modules') }, 'freeze_trainable_modules', 'freeze_trainable_modules is not modelled: freeze-tuning only some modules of the trained layers trains fewer weights than spec v1\'s freeze method, which trains whole layers', { allowed: 'freeze_trainable_modules: all' })
    if (str(get('freeze_extra_modules'))) r.fail({ pos: at('freeze_extra_modules') }, 'freeze_extra_modules', 'freeze_extra_modules is not modelled: modules trained beside the layers (e.g. embed_tokens) are not in spec v1\'s freeze method, which trains whole layers only', { allowed: 'leave freeze_extra_modules out' })
  }
  // LLaMA-Factory's defaults for a method's own keys are filled only for that method.
  const finetuningType = str(get('finetuning_type')) ?? 'lora'
  const isLora = finetuningType === 'lora'
  map('lora_rank', 'lora.rank', isLora ? 8 : undefined)
  const rankNode = get('lora_rank')
  // A rank the reader will refuse (1e400, 0) derives no alpha: its problem is the rank's alone.
  const rank = rankNode?.kind === 'scalar' && typeof rankNode.value === 'number' && Number.isSafeInteger(rankNode.value) && rankNode.value > 0 ? rankNode.value : 8
  map('lora_alpha', 'lora.alpha', isLora ? 2 * rank : undefined)
  map('lora_dropout', 'lora.dropout', isLora ? 0 : undefined)
  map('lora_target', 'lora.targets', isLora ? 'all' : undefined, (n) => commaList(n, r, 'lora_target', true))
  map('additional_target', 'lora.modules_to_save', undefined, (n) => commaList(n, r, 'additional_target', false))
  map('freeze_trainable_layers', 'freeze.trainable_layers', finetuningType === 'freeze' ? 2 : undefined)
  map('cutoff_len', 'seq_len', 2048)
  map('per_device_train_batch_size', 'batch.micro', 8)
  map('gradient_accumulation_steps', 'batch.accumulation', 1)

  const flag = (key: string): boolean => {
    const n = get(key)
    if (n === undefined || (n.kind === 'scalar' && n.value === null)) return false
    if (n.kind === 'scalar' && typeof n.value === 'boolean') return n.value
    r.fail(n, key, 'expected true or false', { allowed: 'true | false' })
    return false
  }
  const [bf16, fp16, pureBf16] = [flag('bf16'), flag('fp16'), flag('pure_bf16')]
  if (bf16 && fp16) r.fail({ pos: at('fp16') }, 'fp16', 'bf16 and fp16 cannot both be true', { allowed: 'one of bf16, fp16, pure_bf16' })
  const precision = pureBf16 ? 'pure_bf16' : bf16 ? 'bf16' : fp16 ? 'fp16' : 'fp32'
  const precisionKey = pureBf16 ? 'pure_bf16' : bf16 ? 'bf16' : fp16 ? 'fp16' : 'bf16'
  put('precision', scalar(precision, at(precisionKey), precisionKey))
  if (precision === 'fp32') notes.push('none of bf16, fp16, pure_bf16 is set: LLaMA-Factory then trains without mixed precision (estimated as fp32); set bf16: true for the usual run')

  map('flash_attn', 'attention', 'sdpa', (n) => {
    const v = str(n)
    const mapped = v === undefined ? undefined : ATTENTION[v]
    if (!mapped) return r.fail(n, 'flash_attn', `${JSON.stringify(v ?? n.kind)} is not a LLaMA-Factory attention`, { allowed: Object.keys(ATTENTION).join(' | ') })
    return scalar(mapped, n.pos, 'flash_attn')
  })
  map('disable_gradient_checkpointing', 'gradient_checkpointing', true, (n) =>
    n.kind === 'scalar' && typeof n.value === 'boolean' ? scalar(!n.value, n.pos, 'disable_gradient_checkpointing') : r.fail(n, 'disable_gradient_checkpointing', 'expected true or false', { allowed: 'true | false' }))
  map('optim', 'optimizer.type', 'adamw', (n) => {
    const v = str(n)
    const mapped = v === undefined ? undefined : OPTIM[v]
    if (!mapped) return r.fail(n, 'optim', `${JSON.stringify(v ?? n.kind)} is not an optimizer ftplan models`, { allowed: Object.keys(OPTIM).join(' | ') })
    return scalar(mapped, n.pos, 'optim')
  })
  // HF TrainingArguments' defaults, which LLaMA-Factory keeps (training_args.py).
  map('learning_rate', 'optimizer.lr', 5e-5)
  map('weight_decay', 'optimizer.weight_decay', 0)
  map('adam_epsilon', 'optimizer.eps', 1e-8)
  map('max_grad_norm', 'optimizer.max_grad_norm', 1)
  const [b1, b2] = [get('adam_beta1'), get('adam_beta2')]
  if (b1 || b2) {
    const beta = (n: LNode | undefined, fallback: number) => (n ? withOrigin(n, n === b1 ? 'adam_beta1' : 'adam_beta2') : scalar(fallback, root.pos, 'adam_beta'))
    put('optimizer.betas', { kind: 'seq', pos: (b1 ?? b2)!.pos, origin: 'adam_beta1, adam_beta2', items: [beta(b1, 0.9), beta(b2, 0.999)] })
  }
  map('lr_scheduler_type', 'scheduler.type', 'linear')
  map('warmup_ratio', 'scheduler.warmup_ratio', 0)
  map('warmup_steps', 'scheduler.warmup_steps', 0)
  const features: TrainerFeature[] = []
  for (const [key, feature] of [['use_galore', 'galore'], ['use_apollo', 'apollo'], ['pissa_init', 'pissa_init']] as const) if (flag(key)) features.push(feature)
  if (features.includes('pissa_init') && quant) r.fail({ pos: at('pissa_init') }, 'pissa_init', 'LLaMA-Factory refuses PiSSA init on a quantized model (hparams/parser.py _verify_model_args: "Please use scripts/pissa_init.py")', { allowed: 'pissa_init: false with quantization_bit' })
  const projection = readProjection(features, get, str, flag, r, notes)
  for (const key of ['use_dft_loss', 'use_eaft_loss']) {
    if (flag(key)) notes.push(`${key}: estimated as the standard loss, which it costs: fp32 logits and a per-token cross-entropy (train/trainer_utils.py:639-800; EAFT's top-20 entropy runs without grad)`)
  }
  // create_custom_optimizer (train/trainer_utils.py:527-549) takes the first of GaLore, APOLLO, LoRA+, BAdam, Adam-mini, Muon.
  const loraplus = get('loraplus_lr_ratio')
  const before = projection ? `use_${projection.kind}` : loraplus && !(loraplus.kind === 'scalar' && loraplus.value === null) ? 'loraplus_lr_ratio' : null
  for (const [key, feature] of [['use_adam_mini', 'adam_mini'], ['use_muon', 'muon']] as const) {
    if (!flag(key)) continue
    if (before) notes.push(`${key} is not used: LLaMA-Factory builds the ${before} optimizer first (train/trainer_utils.py:527-549)`)
    else if (features.includes('adam_mini')) notes.push(`${key} is not used: LLaMA-Factory builds Adam-mini first (train/trainer_utils.py:545-549)`)
    else features.push(feature)
  }
  // ModelArguments.enable_liger_kernel: bool, default False (hparams/model_args.py:137 @ff6d4d12); Liger's kernels,
  // its fused linear cross-entropy among them, patch the model only when it trains (model_utils/liger_kernel.py:37).
  map('enable_liger_kernel', 'loss', 'standard', (n) =>
    n.kind === 'scalar' && typeof n.value === 'boolean' ? scalar(n.value ? 'fused' : 'standard', n.pos, 'enable_liger_kernel') : r.fail(n, 'enable_liger_kernel', 'expected true or false', { allowed: 'true | false' }))

  const ds = get('deepspeed')
  if (ds && !(ds.kind === 'scalar' && ds.value === null)) readDeepSpeed(ds, r, src, put, notes)
  return { spec: { kind: 'map', pos: root.pos, entries: out }, defaults, ignored, notes, features, ...(projection ? { projection } : {}) }
}

/** Reads the ZeRO stage and offload targets from the DeepSpeed JSON a LLaMA-Factory YAML names. */
/** Top-level keys DeepSpeed reads (deepspeed/runtime/constants.py and the config classes it loads, @edaa7221). */
const DEEPSPEED_KEYS = new Set([
  'train_batch_size', 'train_micro_batch_size_per_gpu', 'gradient_accumulation_steps', 'zero_optimization', 'fp16', 'bf16',
  'bfloat16', 'amp', 'torch_autocast', 'optimizer', 'scheduler', 'gradient_clipping', 'zero_allow_untested_optimizer',
  'zero_force_ds_cpu_optimizer', 'steps_per_print', 'wall_clock_breakdown', 'memory_breakdown', 'dump_state',
  'activation_checkpointing', 'flops_profiler', 'communication_data_type', 'seq_parallel_communication_data_type',
  'prescale_gradients', 'gradient_predivide_factor', 'sparse_gradients', 'data_types', 'aio', 'tensorboard', 'wandb',
  'csv_monitor', 'comet', 'comms_logger', 'checkpoint', 'elasticity', 'pipeline', 'compression_training',
  'data_efficiency', 'autotuning', 'nebula', 'weight_quantization', 'hybrid_engine', 'compile', 'timers',
  'graph_harvesting', 'use_data_before_expert_parallelism', 'disable_allgather', 'sparse_attention', 'curriculum_learning',
])

function readDeepSpeed(node: LNode, r: FieldReader, src: SpecSources, put: (p: string, v: LNode) => void, notes: string[]): void {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') {
    r.fail(node, 'deepspeed', 'expected a path to a DeepSpeed JSON config', { allowed: 'a path such as examples/deepspeed/ds_z3_config.json' })
    return
  }
  const file = src.readFile(node.value, r.file, 'json')
  if (!file) {
    const why = src.whyNot?.(node.value, r.file, 'json')
    r.fail(node, 'deepspeed', `cannot read ${JSON.stringify(node.value)}${why ? `: ${why}` : ': no such file'}`, { allowed: 'a path to a DeepSpeed JSON config, relative to this file or the working directory' })
    return
  }
  const parsed = parseJsonLocated(file.text, file.path, 'DeepSpeed')
  if (parsed.issues.length > 0 || parsed.root?.kind !== 'map') {
    r.issues.push(...(parsed.issues.length > 0 ? parsed.issues : [{ file: file.path, line: 1, col: 1, path: '', message: 'expected a JSON object' }]))
    return
  }
  const config = toPlain(parsed.root) as Record<string, unknown>
  // DeepSpeed ignores keys it does not know, so a model's config.json named here would run as ZeRO-0 defaults: a JSON
  // object with keys but none of DeepSpeed's is a wrong path, not a config.
  const keys = Object.keys(config)
  if (keys.length > 0 && !keys.some((k) => DEEPSPEED_KEYS.has(k))) {
    r.fail(node, 'deepspeed', `${JSON.stringify(node.value)} is not a DeepSpeed config: none of its keys (${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}) is one DeepSpeed reads`, { allowed: 'a DeepSpeed JSON config, e.g. examples/deepspeed/ds_z3_config.json (zero_optimization, train_batch_size, bf16, …)' })
    return
  }
  const zeroValue = parsed.root.entries.find((e) => e.key === 'zero_optimization')?.value
  // runtime/zero/config.py:71-78 get_zero_config: true/false or an object; anything else fails DeepSpeedZeroConfig(**it).
  if (zeroValue && zeroValue.kind !== 'map' && !(zeroValue.kind === 'scalar' && typeof zeroValue.value === 'boolean')) {
    r.issues.push({ file: file.path, line: zeroValue.pos.line, col: zeroValue.pos.col, path: 'zero_optimization', message: 'zero_optimization must be an object such as {"stage": 3} (or true/false): DeepSpeed refuses anything else (runtime/zero/config.py:71-78)', allowed: '{"stage": 0 | 1 | 2 | 3, …}' })
    return
  }
  // DeepSpeed's deprecated forms read as it reads them: `zero_optimization: true` is stage 1, `cpu_offload` and
  // `cpu_offload_param` are CPU offload (runtime/zero/config.py:60-75, 181-213).
  const zeroRaw = config['zero_optimization']
  const zero = (typeof zeroRaw === 'boolean' ? { stage: zeroRaw ? 1 : 0 } : zeroRaw ?? {}) as Record<string, unknown>
  if (zero['cpu_offload'] === true && zero['offload_optimizer'] === undefined) zero['offload_optimizer'] = { device: 'cpu' }
  if (zero['cpu_offload_param'] === true && zero['offload_param'] === undefined) zero['offload_param'] = { device: 'cpu' }
  const stage = zero['stage'] ?? 0
  const zeroNode = parsed.root.entries.find((e) => e.key === 'zero_optimization')?.value
  const pos = zeroNode?.pos ?? node.pos
  if (stage !== 0 && stage !== 1 && stage !== 2 && stage !== 3) {
    r.issues.push({ file: file.path, line: pos.line, col: pos.col, path: 'zero_optimization.stage', message: `${JSON.stringify(stage)} is not a ZeRO stage`, allowed: '0 | 1 | 2 | 3' })
    return
  }
  const device = (key: string): string => {
    const block = zero[key]
    const d = typeof block === 'object' && block !== null ? (block as Record<string, unknown>)['device'] : undefined
    return typeof d === 'string' ? d : 'none'
  }
  // DeepSpeed's OffloadDeviceEnum (runtime/zero/offload_config.py:14-18): pydantic refuses any other device.
  for (const key of ['offload_optimizer', 'offload_param']) {
    const d = device(key)
    if (['none', 'cpu', 'nvme'].includes(d)) continue
    const block = zeroNode?.kind === 'map' ? zeroNode.entries.find((e) => e.key === key)?.value : undefined
    const at = (block?.kind === 'map' ? block.entries.find((e) => e.key === 'device')?.value.pos : undefined) ?? pos
    r.issues.push({ file: file.path, line: at.line, col: at.col, path: `zero_optimization.${key}.device`, message: `${JSON.stringify(d)} is not an offload device DeepSpeed knows (runtime/zero/offload_config.py:14-18)`, allowed: 'none | cpu | nvme' })
    return
  }
  const [opt, paramAsked] = [device('offload_optimizer'), device('offload_param')]
  // Stages 1–2 never pass offload_param to their optimizer (runtime/engine.py:2382-2425): it does nothing there.
  const param = stage === 3 ? paramAsked : 'none'
  if (paramAsked !== 'none' && stage !== 3) notes.push(`${file.path}: offload_param is ignored by DeepSpeed at ZeRO stage ${String(stage)}`)
  const offload = param !== 'none' ? 'optimizer+params' : opt !== 'none' ? 'optimizer' : 'none'
  if (param !== 'none' && opt === 'none') notes.push(`${file.path}: parameters offloaded without the optimizer; estimated as optimizer+params offload`)
  put('deepspeed.zero', scalar(stage, pos, 'deepspeed'))
  // LLaMA-Factory hands the config to HF Trainer, which starts DeepSpeed whatever the stage: ds_z0_config.json runs
  // DeepSpeed at stage 0, not HF autocast.
  if (stage === 0) put('deepspeed.engine', scalar('deepspeed', pos, 'deepspeed'))
  put('deepspeed.offload', scalar(offload, pos, 'deepspeed'))
  if (offload !== 'none') put('deepspeed.offload_device', scalar(param === 'nvme' || opt === 'nvme' ? 'nvme' : 'cpu', pos, 'deepspeed'))
}

/** LLaMA-Factory writes module lists as comma-separated strings ("q_proj,v_proj"). */
function commaList(n: LNode, r: FieldReader, key: string, allowAll: boolean): LNode | undefined {
  if (n.kind === 'seq') return withOrigin(n, key)
  if (n.kind !== 'scalar' || typeof n.value !== 'string') return r.fail(n, key, 'expected comma-separated module names', { allowed: allowAll ? 'all, or names such as q_proj,v_proj' : 'names such as embed_tokens,lm_head' })
  const parts = n.value.split(',').map((s) => s.trim()).filter(Boolean)
  if (allowAll && parts.length === 1 && parts[0] === 'all') return scalar('all', n.pos, key)
  return { kind: 'seq', pos: n.pos, origin: key, items: parts.map((p) => scalar(p, n.pos, key)) }
}

function scalar(value: LScalar['value'], pos: Pos, origin: string): LScalar {
  return { kind: 'scalar', pos, value, origin }
}

function withOrigin(n: LNode, origin: string): LNode {
  return { ...n, origin }
}

function setPath(entries: LEntry[], path: string[], value: LNode, pos: Pos): void {
  const [head, ...rest] = path
  if (head === undefined) return
  let e = entries.find((x) => x.key === head)
  if (rest.length === 0) {
    if (e) e.value = value
    else entries.push({ key: head, keyPos: value.pos, value })
    return
  }
  if (!e) {
    e = { key: head, keyPos: pos, value: { kind: 'map', pos, entries: [] } }
    entries.push(e)
  }
  if (e.value.kind === 'map') setPath(e.value.entries, rest, value, pos)
}

/** LLaMA-Factory's optim names each low-rank optimizer is built for (train/trainer_utils.py:239-246, 330-333 @ff6d4d12). */
const PROJECTION_OPTIMS = {
  galore: ['adamw_torch', 'adamw_bnb_8bit', 'adamw_8bit', 'paged_adamw_8bit', 'adafactor'],
  apollo: ['adamw_torch'],
} as const
const PROJ_TYPES = { galore: ['std', 'reverse_std', 'right', 'left', 'full'], apollo: ['std', 'right', 'left'] } as const

/**
 * GaLore or APOLLO settings (hparams/finetuning_args.py @ff6d4d12: rank 16, target all, proj_type std, layerwise false),
 * refused where LLaMA-Factory refuses them: with LoRA (finetuning_args.py:615), both at once (:618), an optim it has no
 * projected class for (trainer_utils.py:239-246, 330-333), layer-wise with gradient accumulation (trainer_utils.py:251).
 */
function readProjection(
  features: TrainerFeature[], get: (k: string) => LNode | undefined, str: (n: LNode | undefined) => string | undefined,
  flag: (k: string) => boolean, r: FieldReader, notes: string[],
): LowRankProjection | undefined {
  const kinds = (['galore', 'apollo'] as const).filter((k) => features.includes(k))
  if (kinds.length === 0) return undefined
  const kind = kinds[0]!
  const key = `use_${kind}`
  const pos = (k: string) => ({ pos: get(k)?.pos ?? get(key)!.pos })
  if (kinds.length > 1) r.fail(pos('use_apollo'), 'use_apollo', 'LLaMA-Factory refuses GaLore and APOLLO together (hparams/finetuning_args.py:618)', { allowed: 'one of use_galore, use_apollo' })
  const method = str(get('finetuning_type')) ?? 'lora'
  if (method === 'lora') r.fail(pos('finetuning_type'), key, `LLaMA-Factory refuses LoRA with ${kind === 'galore' ? 'GaLore' : 'APOLLO'} (hparams/finetuning_args.py:615)`, { allowed: 'finetuning_type: full | freeze' })
  const optim = str(get('optim'))
  const allowed: readonly string[] = PROJECTION_OPTIMS[kind]
  if (optim !== undefined && !allowed.includes(optim)) r.fail(pos('optim'), 'optim', `${kind === 'galore' ? 'GaLore' : 'APOLLO'} has no optimizer for optim ${optim} in LLaMA-Factory (train/trainer_utils.py: NotImplementedError "Unknown optim")`, { allowed: allowed.join(' | ') })
  if (optim === undefined) notes.push(`${key} without optim: LLaMA-Factory builds ${kind === 'galore' ? 'GaLore' : 'APOLLO'}'s optimizer only for optim ${allowed.join(', ')} (train/trainer_utils.py), and HF's default optim differs between transformers versions; set optim: adamw_torch`)
  const rankNode = get(`${kind}_rank`)
  let rank = 16
  if (rankNode !== undefined && !(rankNode.kind === 'scalar' && rankNode.value === null)) {
    if (rankNode.kind === 'scalar' && typeof rankNode.value === 'number' && Number.isInteger(rankNode.value) && rankNode.value > 0) rank = rankNode.value
    else r.fail(rankNode, `${kind}_rank`, 'expected a positive whole number', { allowed: 'e.g. 16 (the default), 128' })
  }
  const target = str(get(`${kind}_target`)) ?? 'all'
  const parts = target.split(',').map((t) => t.trim()).filter(Boolean)
  const targets = parts.length === 1 && parts[0] === 'all' ? 'all' as const : parts
  const projType = str(get(`${kind}_proj_type`)) ?? 'std'
  const types: readonly string[] = PROJ_TYPES[kind]
  if (!types.includes(projType)) r.fail(pos(`${kind}_proj_type`), `${kind}_proj_type`, `${JSON.stringify(projType)} is not a projection type of ${kind === 'galore' ? 'GaLore' : 'APOLLO'}`, { allowed: types.join(' | ') })
  const layerwise = flag(`${kind}_layerwise`)
  const acc = get('gradient_accumulation_steps')
  if (layerwise && acc?.kind === 'scalar' && typeof acc.value === 'number' && acc.value !== 1) {
    r.fail(acc, 'gradient_accumulation_steps', `layer-wise ${kind === 'galore' ? 'GaLore' : 'APOLLO'} steps each parameter as its gradient arrives, so LLaMA-Factory refuses gradient accumulation with it (train/trainer_utils.py:251)`, { allowed: `1, or ${kind}_layerwise: false` })
  }
  return { kind, rank, targets, projType: projType as LowRankProjection['projType'], layerwise }
}
