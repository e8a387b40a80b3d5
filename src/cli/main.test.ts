import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT as root, runCli } from '../../test/helpers/run-cli.js'
import { EXIT, main } from './main.js'

const run = runCli

describe('ftplan CLI, in process', () => {
  it('--help lists the commands, examples and exit codes', async () => {
    const r = await run('--help')
    expect(r.code).toBe(EXIT.ok)
    expect(r.stdout).toContain('models')
    expect(r.stdout).toContain('ftplan spec check stacks/Pulumi.example.yaml')
    expect(r.stdout).toContain('70 internal error')
  })

  it('--version prints the package version', async () => {
    const r = await run('--version')
    expect(r).toMatchObject({ code: 0, stdout: '0.1.0\n' })
  })

  it('models: a table with exact counts, and --json', async () => {
    const table = await run('models')
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/meta-llama\/Llama-2-7b-hf\s+6\.74B\s+6\.74B\s+32\s+4096\s+32\/32\s+32000\s+4096/)
    expect(table.stdout).toMatch(/mistralai\/Mixtral-8x7B-v0\.1\s+46\.7B\s+12\.9B\s+2 of 8/)
    const json = JSON.parse((await run('models', '--json')).stdout) as { version: number; models: { id: string; params: { total: number } }[] }
    expect(json.version).toBe(1)
    expect(json.models).toHaveLength(50)
    expect(json.models.find((m) => m.id === 'Qwen/Qwen2.5-7B')?.params.total).toBe(7_615_616_512)
  })

  it('spec check: the example stack, with the defaults it filled in', async () => {
    const r = await run('spec', 'check', 'stacks/Pulumi.example.yaml')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('valid Pulumi stack config ftplan:spec')
    expect(r.stdout).toContain('8,030,261,248 parameters')
    expect(r.stdout).toContain('trainable  41,943,040')
    expect(r.stdout).toContain('  margin = 0.1')
  })

  it('spec check --json: a LLaMA-Factory file, mapped', async () => {
    const r = await run('spec', 'check', 'test/fixtures/specs/llamafactory-qlora.yaml', '--json')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as Record<string, any>
    expect(out).toMatchObject({ version: 1, source: 'llamafactory', spec: { model: 'meta-llama/Meta-Llama-3-8B', method: 'qlora', quantization: '4bit', seq_len: 2048, batch: { micro: 1, accumulation: 8 } } })
    expect(out['model']['params']).toBe(8_030_261_248)
    expect(out['notes']).toEqual([
      'method lora with quantization 4bit is QLoRA: normalized to method qlora',
      'meta-llama/Meta-Llama-3-8B-Instruct is not in the catalog by that name; using meta-llama/Meta-Llama-3-8B (same architecture: llama-3-8b)',
    ])
  })

  it('bad input: exit 1, every problem with file:line:col, no stack trace', async () => {
    const r = await run('spec', 'check', 'test/fixtures/specs/bad-types.yaml')
    expect(r.code).toBe(EXIT.userError)
    expect(r.stdout).toBe('')
    expect(r.stderr.split('\n')).toEqual([
      'error: 4 problems in test/fixtures/specs/bad-types.yaml:',
      '  test/fixtures/specs/bad-types.yaml:3:15: lora.rank: expected an integer, got "eight"; allowed: an integer 1..65536',
      '  test/fixtures/specs/bad-types.yaml:4:17: batch.micro: -2 is out of range; allowed: an integer 1..65536',
      '  test/fixtures/specs/bad-types.yaml:5:12: precision: "bf61" is not allowed; allowed: bf16 | fp16 | pure_bf16 | fp32; did you mean bf16?',
      '  test/fixtures/specs/bad-types.yaml:6:1: optimiser: unknown key; allowed: version, model, method, lora, freeze, quantization, precision, optimizer, scheduler, batch, seq_len, gradient_checkpointing, attention, loss, deepspeed, gpus, train, constraints, margin, software; did you mean optimizer?',
      '',
    ])
    expect(r.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/)
  })

  it('YAML syntax error: exit 1 with its line and column', async () => {
    const r = await run('spec', 'check', 'test/fixtures/specs/syntax-error.yaml')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: 1 problem in test\/fixtures\/specs\/syntax-error\.yaml:\n  test\/fixtures\/specs\/syntax-error\.yaml:\d+:\d+: YAML syntax error: .+\n$/)
  })

  it('unknown model: exit 1 with the three nearest ids', async () => {
    const r = await run('spec', 'check', 'test/fixtures/specs/unknown-model.yaml')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('unknown-model.yaml:1:8: model: unknown model "Llama-2-8b-hf"')
    expect(r.stderr).toContain('did you mean "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-13b-hf" or "meta-llama/Llama-2-70b-hf"?')
  })

  it('a model given as a folder: read from its config.json where it exists, and the paths tried named where it does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-'))
    mkdirSync(join(dir, 'models', 'tiny'), { recursive: true })
    writeFileSync(join(dir, 'models', 'tiny', 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 688, vocab_size: 1000 }))
    writeFileSync(join(dir, 'ok.yaml'), 'model: models/tiny\n')
    expect((await run('spec', 'check', join(dir, 'ok.yaml'))).code).toBe(0)
    writeFileSync(join(dir, 'missing.yaml'), 'model: models/Llama-2-7b\n')
    const r = await run('spec', 'check', join(dir, 'missing.yaml'))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`unknown model "models/Llama-2-7b"; not in the catalog, and no model folder (with its config.json) at ${join(dir, 'models', 'Llama-2-7b')} or models/Llama-2-7b`)
  })

  it('missing file: exit 1, one line', async () => {
    const r = await run('spec', 'check', 'nope.yaml')
    expect(r).toMatchObject({ code: 1, stderr: 'error: nope.yaml: no such file (expected a spec YAML, a Pulumi stack file or a LLaMA-Factory YAML)\n' })
  })

  it('usage errors exit 2 with a suggestion', async () => {
    const r = await run('modles')
    expect(r.code).toBe(EXIT.usage)
    expect(r.stderr).toContain("unknown command 'modles'")
    expect(r.stderr).toContain('Did you mean models?')
    expect((await run('spec', 'check')).code).toBe(2)
    expect((await run('models', '--jsn')).code).toBe(2)
    const bare = await run()
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain('Usage: ftplan')
  })

  it('an internal error exits 70 with a stack trace', async () => {
    let err = ''
    const code = await main(['models'], { stdout: () => { throw new Error('disk full') }, stderr: (s) => void (err += s), cwd: root })
    expect(code).toBe(EXIT.internal)
    expect(err).toMatch(/^internal error .*\nError: disk full\n\s+at /)
  })
})
