import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { AWS_CATALOG } from '../instances/aws.js'
import { planLoaded } from '../planner/plan-loaded.js'
import type { Candidate } from '../planner/plan.js'
import { loadSpec, type LoadedSpec } from '../spec/load.js'
import { SCHEDULERS } from '../spec/spec.js'
import { HF_OPTIM } from './hf-args.js'
import { launchFolderFor, type LaunchFolder } from './launch-folder.js'

// The rules below are transcribed from the programs that read these files, not from ftplan:
// - DeepSpeed's runner reads .deepspeed_env with `key, val = var.split('=', maxsplit=1)` on every line
//   (deepspeed/launcher/runner.py:620-623) and the hostfile with `^(\S+)\s+slots=(\d+)` (runner.py:243-272).
// - DeepSpeed asserts train_batch_size == micro × accumulation × world size (runtime/config.py:937-940).
// - HF Trainer fills "auto" and raises on any explicit value that differs from its TrainingArguments
//   (transformers integrations/deepspeed.py, HfTrainerDeepSpeedConfig.fill_match / trainer_config_process).

const parse = (text: string) => parseYaml(text) as Record<string, unknown>
/**
 * LLaMA-Factory loads its YAML through PyYAML (under OmegaConf), whose YAML 1.1 resolver (yaml/resolver.py)
 * reads a number only in these shapes: `1e-8`, without a dot, stays the string "1e-8".
 */
const PYYAML_INT = /^[-+]?(?:0|[1-9][0-9_]*)$/
const PYYAML_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?)$/
const rawValue = (yamlText: string, key: string) => new RegExp(`^${key}:[ \\t]*(\\S+)[ \\t]*$`, 'm').exec(yamlText)?.[1]
const NUMERIC = ['per_device_train_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'weight_decay', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'max_grad_norm', 'max_steps', 'warmup_steps', 'warmup_ratio']

/** readlines(): every line with its newline, the last without when the file does not end in one. */
const readlines = (text: string) => text.match(/[^\n]*\n|[^\n]+$/g) ?? []

/** DeepSpeed's runner on .deepspeed_env: a line without '=' raises ValueError (too few values to unpack). */
function deepspeedEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of readlines(text)) {
    const i = line.indexOf('=')
    if (i < 0) throw new Error(`ValueError: not enough values to unpack: ${JSON.stringify(line)}`)
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim()
  }
  return out
}

/** DeepSpeed's hostfile parser (runner.py:243-272): host → slots; comments and blank lines skipped. */
function hostfileSlots(text: string): number[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const m = /^(\S+)\s+slots=(\d+)/.exec(l)
    if (!m) throw new Error(`Hostfile contains a bad entry: ${l}`)
    return Number(m[2])
  })
}

/**
 * HfArgumentParser refuses a flag no dataclass declares ("Some specified arguments are not used by the
 * HfArgumentParser"), and TrainingArguments.__post_init__ runs OptimizerNames(self.optim) (training_args.py, the
 * "2. Enum / Type Conversions" step). Transcribed from transformers src/transformers/training_args.py @00349ae8:
 * the fields ftplan passes, as declared (`per_device_train_batch_size: int = field(...)` ...; warmup_ratio is
 * deprecated there, to be removed in v5.2), and the OptimizerNames values of ftplan's optimizers.
 */
const TRAINING_ARGUMENTS_FIELDS = new Set(['per_device_train_batch_size', 'max_steps', 'learning_rate', 'lr_scheduler_type', 'warmup_steps', 'optim',
  'weight_decay', 'adam_beta1', 'adam_beta2', 'adam_epsilon', 'gradient_accumulation_steps', 'max_grad_norm', 'bf16', 'fp16', 'gradient_checkpointing',
  'use_liger_kernel', 'deepspeed'])
const OPTIMIZER_NAMES = new Set(['adamw_torch', 'adamw_torch_fused', 'adafactor', 'sgd', 'adamw_bnb_8bit', 'adamw_8bit', 'lion_8bit', 'lion_32bit',
  'paged_adamw_32bit', 'paged_adamw_8bit', 'paged_lion_32bit', 'paged_lion_8bit'])
/** SchedulerType, which __post_init__ applies to lr_scheduler_type: transformers src/transformers/trainer_utils.py @007360d6 (the stored copy). */
const SCHEDULER_TYPES = new Set(['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'constant', 'constant_with_warmup', 'inverse_sqrt',
  'reduce_lr_on_plateau', 'cosine_with_min_lr', 'warmup_stable_decay'])

/** The flags of a command line: `--name value`, or `--name` alone for a boolean (HfArgumentParser: True). */
function flags(cmd: string): Map<string, string> {
  const out = new Map<string, string>()
  const words = cmd.split(/\s+/)
  words.forEach((w, i) => {
    if (!w.startsWith('--')) return
    const next = words[i + 1]
    out.set(w.slice(2), next === undefined || next.startsWith('--') ? 'True' : next)
  })
  return out
}

/** TrainingArguments with HF's defaults (transformers training_args.py) under the given overrides. */
function trainingArgs(given: Map<string, string | number | boolean>) {
  const num = (k: string, d: number) => (given.has(k) ? Number(given.get(k)) : d)
  const bool = (k: string) => given.has(k) && ['True', 'true', true].includes(given.get(k) as never)
  return {
    per_device_train_batch_size: num('per_device_train_batch_size', 8), gradient_accumulation_steps: num('gradient_accumulation_steps', 1),
    learning_rate: num('learning_rate', 5e-5), weight_decay: num('weight_decay', 0), adam_beta1: num('adam_beta1', 0.9), adam_beta2: num('adam_beta2', 0.999),
    adam_epsilon: num('adam_epsilon', 1e-8), max_grad_norm: num('max_grad_norm', 1), bf16: bool('bf16'), fp16: bool('fp16'),
    max_steps: num('max_steps', -1), warmup_steps: num('warmup_steps', 0),
  }
}

/**
 * HfTrainerDeepSpeedConfig.trainer_config_process on a config, world size and TrainingArguments: fills "auto",
 * returns the mismatches HF raises on. (The scheduler's step counts: HF compares them to max_steps when set.)
 */
function hfFill(config: Record<string, any>, world: number, a: ReturnType<typeof trainingArgs>): { filled: Record<string, any>; mismatches: string[] } {
  const c = structuredClone(config)
  const mismatches: string[] = []
  const fill = (path: string, hf: unknown, mustMatch = true) => {
    const keys = path.split('.')
    const last = keys.pop()!
    let node: any = c
    for (const k of keys) node = node?.[k]
    if (node === undefined || node === null || !(last in node)) return
    if (node[last] === 'auto') node[last] = hf
    else if (mustMatch && JSON.stringify(node[last]) !== JSON.stringify(hf)) mismatches.push(`ds ${path}=${JSON.stringify(node[last])} vs hf ${JSON.stringify(hf)}`)
  }
  fill('train_micro_batch_size_per_gpu', a.per_device_train_batch_size)
  fill('gradient_accumulation_steps', a.gradient_accumulation_steps)
  fill('train_batch_size', world * a.per_device_train_batch_size * a.gradient_accumulation_steps)
  fill('gradient_clipping', a.max_grad_norm)
  fill('optimizer.params.lr', a.learning_rate)
  fill('optimizer.params.betas', [a.adam_beta1, a.adam_beta2])
  fill('optimizer.params.eps', a.adam_epsilon)
  fill('optimizer.params.weight_decay', a.weight_decay)
  fill('scheduler.params.warmup_min_lr', 0, false)
  fill('scheduler.params.warmup_max_lr', a.learning_rate)
  fill('fp16.enabled', a.fp16)
  fill('bf16.enabled', a.bf16)
  // trainer_config_finalize: num_training_steps is max_steps when given; a run without it has its own count.
  if (c.scheduler?.params?.total_num_steps !== undefined) fill('scheduler.params.total_num_steps', a.max_steps > 0 ? a.max_steps : 'not given')
  if (c.scheduler?.params?.warmup_num_steps !== undefined) fill('scheduler.params.warmup_num_steps', a.warmup_steps > 0 ? a.warmup_steps : 'not given')
  return { filled: c, mismatches }
}

/** Every "auto" left after HF's filling, except the hidden-size ones HF fills from the model (trainer_config_finalize). */
function autosLeft(x: unknown, path = ''): string[] {
  if (x === 'auto') return ['zero_optimization.reduce_bucket_size', 'zero_optimization.stage3_prefetch_bucket_size', 'zero_optimization.stage3_param_persistence_threshold'].includes(path) ? [] : [path]
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return []
  return Object.entries(x).flatMap(([k, v]) => autosLeft(v, path ? `${path}.${k}` : k))
}

const SPECS: [string, string][] = [
  ['8B LoRA on one 24 GB GPU', 'model: meta-llama/Llama-3.1-8B\nmethod: lora\nseq_len: 2048\ntrain: { tokens: 2e7 }\nconstraints: { gpus: [A10G, L4] }\n'],
  ['70B full over EFA nodes', 'model: meta-llama/Llama-2-70b-hf\nmethod: full\nseq_len: 2048\ngradient_checkpointing: true\ndeepspeed: { offload: none }\ntrain: { tokens: 1e8 }\nconstraints: { gpus: [H100], max_nodes: 8 }\n'],
  ['32B full on A100-80GB', 'model: Qwen/Qwen2.5-32B\nmethod: full\nseq_len: 2048\ngradient_checkpointing: true\noptimizer: { type: adamw, lr: 1.0e-5, weight_decay: 0.1 }\nscheduler: { type: cosine, warmup_ratio: 0.03 }\ntrain: { tokens: 5e7 }\nconstraints: { gpus: [A100-80GB], max_nodes: 4 }\n'],
  ['7B full on V100 nodes without EFA (fp16), the compute-capability floor lowered', 'model: meta-llama/Llama-2-7b-hf\nmethod: full\nseq_len: 1024\ngradient_checkpointing: true\nconstraints: { gpus: [V100], max_nodes: 4, min_compute_capability: 7.0 }\n'],
  ['MoE LoRA on L40S', 'model: Qwen/Qwen3-30B-A3B\nmethod: lora\nseq_len: 2048\ngradient_checkpointing: true\nscheduler: linear\ntrain: { samples: 20000, avg_tokens: 1500, epochs: 2 }\nconstraints: { gpus: [L40S], max_nodes: 2 }\n'],
  ['8B full, ZeRO-2 optimizer offload, 8-bit AdamW asked', 'model: meta-llama/Llama-3.1-8B\nmethod: full\nseq_len: 2048\ngradient_checkpointing: true\noptimizer: adamw_8bit\ndeepspeed: { zero: 2, offload: optimizer }\nconstraints: { gpus: [L40S, A100-40GB], max_nodes: 1 }\n'],
  ['70B full, ZeRO-3 NVMe offload on one node', 'model: meta-llama/Llama-3.1-70B\nmethod: full\nseq_len: 2048\ngradient_checkpointing: true\ndeepspeed: { zero: 3, offload: optimizer+params, offload_device: nvme }\nconstraints: { gpus: [H100], max_nodes: 1 }\n'],
  ['small model, Lion, T4 nodes, fixed global batch', 'model: HuggingFaceTB/SmolLM2-360M\nmethod: full\nseq_len: 1024\noptimizer: { type: lion, lr: 3.0e-5, betas: [0.9, 0.99] }\nscheduler: { type: cosine, warmup_steps: 20 }\nbatch: { micro: 4, accumulation: 4 }\ngpus: 4\ntrain: { samples: 100000, avg_tokens: 600 }\nconstraints: { gpus: [T4], max_nodes: 2 }\n'],
  ['Gemma QLoRA, constant with warm-up', 'model: google/gemma-2-2b\nmethod: qlora\nseq_len: 4096\nscheduler: { type: constant_with_warmup, warmup_steps: 10 }\nconstraints: { gpus: [L4, A10G, L40S] }\n'],
  ['Mistral LoRA pure bf16 on A100-40GB nodes', 'model: mistralai/Mistral-7B-v0.1\nmethod: lora\nlora: { rank: 64, modules_to_save: [lm_head] }\nprecision: pure_bf16\nseq_len: 8192\ngradient_checkpointing: true\ndeepspeed: { zero: 2 }\ngpus: 16\nbatch: { micro: 1, accumulation: 2 }\nconstraints: { gpus: [A100-40GB], max_nodes: 2 }\n'],
]

const planned: [string, LoadedSpec, Candidate][] = SPECS.map(([name, yaml]) => {
  const l = loadSpec(yaml, 'spec.yaml', memorySources())
  const r = planLoaded(l, AWS_CATALOG)
  if (r.status !== 'fit') throw new Error(`${name}: expected a plan`)
  return [name, l, r.plan]
})

describe('what HF Trainer is told', () => {
  it('every optimizer and scheduler ftplan names is an OptimizerNames / SchedulerType value, and a fused loss turns on use_liger_kernel', () => {
    expect(Object.values(HF_OPTIM).filter((o) => !OPTIMIZER_NAMES.has(o))).toEqual([])
    expect(SCHEDULERS.filter((x) => !SCHEDULER_TYPES.has(x))).toEqual([])
    const [, loaded, plan] = planned[0]!
    const fused = launchFolderFor({ ...loaded, spec: { ...loaded.spec, loss: 'fused' } }, plan, 'hf', null).launch.commands.hfTrainer
    expect(flags(fused).get('use_liger_kernel')).toBe('True')
    expect(TRAINING_ARGUMENTS_FIELDS.has('use_liger_kernel')).toBe(true)
  })
})

describe('launch folders start: 10 plans × both config styles, read by the programs that consume them', () => {
  it('the set covers one and several nodes, EFA and TCP, every ZeRO stage ftplan uses, offload and NVMe, fp16 GPUs', () => {
    const plans = planned.map(([, , p]) => p)
    expect(plans.some((p) => p.nodes === 1) && plans.some((p) => p.nodes > 1)).toBe(true)
    expect(plans.some((p) => p.nodes > 1 && (p.offer.efaInterfaces ?? 0) > 0) && plans.some((p) => p.nodes > 1 && !p.offer.efaInterfaces)).toBe(true)
    expect(new Set(plans.map((p) => p.strategy.zeroStage)).size).toBeGreaterThanOrEqual(3)
    expect(plans.some((p) => p.strategy.offloadDevice === 'nvme' && p.strategy.offload === 'optimizer+params')).toBe(true)
    expect(plans.some((p) => p.precisionNote !== null)).toBe(true)
  })

  describe.each(planned)('%s', (_name, loaded, plan) => {
    const world = plan.strategy.gpus
    it.each(['deepspeed', 'hf'] as const)('%s style', (style) => {
      const f: LaunchFolder = launchFolderFor(loaded, plan, style, null)
      const cmds = f.launch.commands
      // .deepspeed_env: KEY=VALUE lines only, or no file (one node: the runner never reads it)
      if (plan.nodes > 1) {
        const env = deepspeedEnv(f.files['.deepspeed_env']!)
        for (const key of Object.keys(env)) expect(key).toMatch(/^[A-Z_][A-Z0-9_]*$/)
        expect('FI_PROVIDER' in env).toBe((plan.offer.efaInterfaces ?? 0) > 0)
        expect(hostfileSlots(f.files['hostfile']!).reduce((a, b) => a + b, 0)).toBe(world)
      } else expect(f.files['.deepspeed_env'] ?? '').toBe('')
      // The launchers start world-size processes.
      const ds = flags(cmds.deepspeed)
      expect(Number(ds.get('num_nodes') ?? 1) * Number(ds.get('num_gpus'))).toBe(world)
      expect(ds.get('deepspeed_config')).toBe('"$HERE"/ds_config.json')
      const tr = flags(cmds.torchrun)
      expect(Number(tr.get('nnodes') ?? 1) * Number(tr.get('nproc_per_node'))).toBe(world)
      const lfEnv = Object.fromEntries([...cmds.llamafactory.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]))
      expect(Number(lfEnv['NNODES'] ?? 1) * Number(lfEnv['NPROC_PER_NODE'])).toBe(world)
      // An explicit config: DeepSpeed's own batch assertion.
      const c = JSON.parse(f.files['ds_config.json']!)
      if (style === 'deepspeed') expect(c.train_batch_size).toBe(c.train_micro_batch_size_per_gpu * c.gradient_accumulation_steps * world)
      // HF Trainer with the printed arguments: nothing left "auto", no mismatch, and DeepSpeed's assertion holds.
      for (const [who, args] of [['hf command', flags(cmds.hfTrainer)], ['LLaMA-Factory YAML', new Map(Object.entries(parse(f.files['train.yaml']!)))]] as const) {
        const a = trainingArgs(args as Map<string, string | number | boolean>)
        if (plan.strategy.zeroStage > 0 || who === 'hf command') {
          const { filled, mismatches } = hfFill(c, world, a)
          expect(mismatches, who).toEqual([])
          expect(autosLeft(filled), who).toEqual([])
          expect(filled.train_batch_size, who).toBe(filled.train_micro_batch_size_per_gpu * filled.gradient_accumulation_steps * world)
        }
        expect([a.per_device_train_batch_size, a.gradient_accumulation_steps], who).toEqual([plan.strategy.microBatch, plan.strategy.accumulation])
        // The precision the GPU runs: fp16 where it has no bf16. HF Trainer has no pure_bf16, so it runs --bf16;
        // LLaMA-Factory says pure_bf16, with bf16 too under DeepSpeed (whose bf16.enabled HF fills from it).
        const runs = plan.precisionNote ? 'fp16' : loaded.spec.precision
        const pureAlone = runs === 'pure_bf16' && who !== 'hf command' && plan.strategy.zeroStage === 0
        expect({ bf16: a.bf16, fp16: a.fp16 }, who).toEqual({ bf16: (runs === 'bf16' || runs === 'pure_bf16') && !pureAlone, fp16: runs === 'fp16' })
      }
      for (const key of NUMERIC) {
        const raw = rawValue(f.files['train.yaml']!, key)
        if (raw !== undefined) expect(PYYAML_INT.test(raw) || PYYAML_FLOAT.test(raw), `${key}: ${raw}`).toBe(true)
      }
      // launch.sh is a valid bash script (bash -n parses without running).
      const tmp = mkdtempSync(join(tmpdir(), 'ftplan-launch-'))
      writeFileSync(join(tmp, 'launch.sh'), f.files['launch.sh']!)
      execFileSync('bash', ['-n', join(tmp, 'launch.sh')])
      expect(parse(f.files['train.yaml']!)['pure_bf16'] ?? false).toBe(!plan.precisionNote && loaded.spec.precision === 'pure_bf16')
      // Every flag of the HF command is a TrainingArguments field, and its optim an OptimizerNames value.
      const hfFlags = flags(cmds.hfTrainer.slice(cmds.hfTrainer.indexOf('"$TRAIN_SCRIPT"')))
      expect(hfFlags.get('per_device_train_batch_size')).toBe(String(plan.strategy.microBatch))
      expect([...hfFlags.keys()].filter((k) => !TRAINING_ARGUMENTS_FIELDS.has(k))).toEqual([])
      expect(OPTIMIZER_NAMES.has(hfFlags.get('optim')!), hfFlags.get('optim')).toBe(true)
      // Checkpointing: HF's flag, LLaMA-Factory's inverse one.
      expect(flags(cmds.hfTrainer).has('gradient_checkpointing')).toBe(plan.strategy.gradientCheckpointing)
      expect(parse(f.files['train.yaml']!)['disable_gradient_checkpointing'] ?? false).toBe(!plan.strategy.gradientCheckpointing)
      // The trainer commands pass the config exactly when the plan runs DeepSpeed.
      expect(flags(cmds.hfTrainer).get('deepspeed')).toBe(plan.strategy.zeroStage > 0 ? '"$HERE"/ds_config.json' : undefined)
      expect(parse(f.files['train.yaml']!)['deepspeed']).toBe(plan.strategy.zeroStage > 0 ? 'ds_config.json' : undefined)
    })
  })
})
