import { mkdtempSync, readdirSync, statSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hubStandIn } from '../../test/helpers/hub-stand-in.js'
import { ROOT } from '../../test/helpers/run-cli.js'
import { main } from './main.js'

// LLaMA-Factory's own examples (test/fixtures/llamafactory-examples: examples/{train_lora,train_full,train_qlora,extras}
// and examples/deepspeed of hiyouga/LLaMA-Factory@ff6d4d12, Apache-2.0), read as a user would run them from
// LLaMA-Factory's folder, with the Hub stand-in serving the models outside ftplan's catalog (issue #15): each is
// accepted, or refused with the one reason it names.
const HERE = join(ROOT, 'test/fixtures/llamafactory-examples')
const yamls: string[] = []
const walk = (dir: string) => {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) walk(p)
    else if (p.endsWith('.yaml')) yamls.push(relative(HERE, p))
  }
}
walk(join(HERE, 'examples'))
yamls.sort()

let server: Server
let env: Record<string, string> = {}
beforeAll(async () => {
  server = hubStandIn()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  env = { HF_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, FTPLAN_CACHE_DIR: mkdtempSync(join(tmpdir(), 'ftplan-cache-')) }
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

/** Why each refused example is refused: the field of its first problem and a phrase of the message. */
const REFUSED: Record<string, [string, string]> = {
  'examples/extras/asft/llama2_full_asft.yaml': ['model_name_or_path', 'unknown model "models/Llama-2-7b"; not in the catalog, and no model folder (with its config.json) at'],
  'examples/extras/asft/qwen2_full_asft.yaml': ['model_name_or_path', 'unknown model "models/Qwen2.5-7B"'],
  'examples/extras/llama_pro/llama3_freeze_sft.yaml': ['model_name_or_path', 'unknown model "models/llama3-8b-pro"'],
  'examples/extras/badam/llama3_full_sft.yaml': ['use_badam', 'use_badam is not modelled'],
  'examples/extras/fp8/llama3_fp8_deepspeed_sft.yaml': ['fp8', 'fp8 is not modelled'],
  'examples/extras/fp8/llama3_fp8_fsdp_sft.yaml': ['fp8', 'fp8 is not modelled'],
  'examples/extras/mod/llama3_full_sft.yaml': ['mixture_of_depths', 'mixture_of_depths is not modelled'],
  'examples/extras/multi_tokens/tokens_cfg.yaml': ['', 'this is not an ftplan spec'],
  'examples/extras/nlg_eval/llama3_lora_predict.yaml': ['do_predict', 'a predict-only YAML'],
  'examples/extras/oft/llama3_oft_sft.yaml': ['finetuning_type', 'finetuning_type oft is not modelled: OFT trains orthogonal block rotations'],
  'examples/extras/qoft/llama3_oft_sft_bnb_npu.yaml': ['finetuning_type', 'finetuning_type oft is not modelled: OFT trains orthogonal block rotations'],
  'examples/extras/qoft/llama3_oft_sft_awq.yaml': ['finetuning_type', 'finetuning_type oft is not modelled: OFT trains orthogonal block rotations'],
  'examples/extras/qoft/llama3_oft_sft_gptq.yaml': ['finetuning_type', 'finetuning_type oft is not modelled: OFT trains orthogonal block rotations'],
  'examples/extras/oft/qwen2_5vl_oft_sft.yaml': ['finetuning_type', 'finetuning_type oft is not modelled: OFT trains orthogonal block rotations'],
  'examples/train_full/mossvl_full_sft.yaml': ['vision_config', 'vision tower (vision_config)'],
  'examples/train_full/qwen3vl_full_sft.yaml': ['vision_config', 'vision tower (vision_config)'],
  'examples/train_lora/mossvl_lora_sft.yaml': ['vision_config', 'vision tower (vision_config)'],
  'examples/train_lora/qwen3vl_lora_dpo.yaml': ['vision_config', 'vision tower (vision_config)'],
  'examples/train_lora/qwen3vl_lora_sft.yaml': ['vision_config', 'vision tower (vision_config)'],
  'examples/train_lora/qwen3_lora_dpo.yaml': ['stage', 'stage dpo is not modelled'],
  'examples/train_lora/qwen3_lora_kto.yaml': ['stage', 'stage kto is not modelled'],
  'examples/train_lora/qwen3_lora_reward.yaml': ['stage', 'stage rm is not modelled'],
  'examples/train_qlora/llama3_lora_sft_aqlm.yaml': ['quantization_config', 'quant_method "aqlm" is not one ftplan sizes'],
}

describe('LLaMA-Factory\'s examples, as a user runs them', () => {
  it.each(yamls)('%s', async (file) => {
    let stderr = ''
    const code = await main(['spec', 'check', file], { stdout: () => {}, stderr: (s) => void (stderr += s), cwd: HERE, env })
    const refused = REFUSED[file]
    if (!refused) {
      expect(code, stderr).toBe(0)
      return
    }
    expect(code, stderr).toBe(1)
    // the problem named on a line of its own: `file:line:col: field[ (→ spec field)]: message`
    const line = stderr.split('\n').find((l) => l.includes(refused[1]))
    expect(line, stderr).toBeDefined()
    if (refused[0]) expect(line!.includes(`: ${refused[0]}: `) || line!.includes(`: ${refused[0]} (→ `), line).toBe(true)
  }, 30_000)

  it('accepts the supported ones: the catalog\'s, the Hub\'s, AWQ and GPTQ checkpoints, DeepSpeed configs named beside them', () => {
    const accepted = yamls.filter((f) => !REFUSED[f])
    expect(accepted.length).toBeGreaterThanOrEqual(18)
    for (const f of ['examples/train_lora/qwen3_lora_sft.yaml', 'examples/train_lora/qwen3_lora_sft_ds3.yaml', 'examples/train_qlora/llama3_lora_sft_awq.yaml', 'examples/train_qlora/llama3_lora_sft_gptq.yaml', 'examples/extras/adam_mini/qwen2_full_sft.yaml']) expect(accepted).toContain(f)
  })
})
