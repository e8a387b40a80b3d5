import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCli } from '../../test/helpers/run-cli.js'

const run = runCli

describe('ftplan ds-config', () => {
  it('prints the config for the chosen plan; the same plan gives byte-identical output', async () => {
    const a = await run('ds-config', 'stacks/Pulumi.example.yaml')
    const b = await run('ds-config', 'stacks/Pulumi.example.yaml')
    expect(a.code).toBe(0)
    expect(a.stdout).toBe(b.stdout)
    const c = JSON.parse(a.stdout) as Record<string, any>
    // the example's global batch, micro 1 × accumulation 16 on 1 GPU, kept on the chosen 1 × H100 (1 × p5.4xlarge costs
    // what 1 × p5.48xlarge does within the time band, and the rule takes the fewer GPUs)
    expect(c['train_batch_size']).toBe(16)
    expect(c['train_batch_size']).toBe(c['train_micro_batch_size_per_gpu'] * c['gradient_accumulation_steps'] * 1)
  })

  it('-o writes atomically and refuses to overwrite without --force; --launch-dir writes a self-contained launch folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-'))
    const out = join(dir, 'ds_config.json')
    expect((await run('ds-config', 'stacks/Pulumi.example.yaml', '-o', out, '--style', 'hf')).code).toBe(0)
    expect(JSON.parse(readFileSync(out, 'utf8'))['train_batch_size']).toBe('auto')
    writeFileSync(out, 'mine\n')
    const refused = await run('ds-config', 'stacks/Pulumi.example.yaml', '-o', out)
    expect(refused).toMatchObject({ code: 1 })
    expect(refused.stderr).toContain('exists; ftplan does not overwrite files without --force')
    expect(readFileSync(out, 'utf8')).toBe('mine\n')
    expect((await run('ds-config', 'stacks/Pulumi.example.yaml', '-o', out, '--force')).code).toBe(0)
    expect(readFileSync(out, 'utf8')).not.toBe('mine\n')
    // -o and --launch-dir together: the folder still has its own config, which launch.sh names.
    const launch = join(dir, 'launch')
    const other = join(dir, 'elsewhere.json')
    expect((await run('ds-config', 'stacks/Pulumi.example.yaml', '--launch-dir', launch, '-o', other)).code).toBe(0)
    expect(readFileSync(join(launch, 'ds_config.json'), 'utf8')).toBe(readFileSync(other, 'utf8'))
    const script = readFileSync(join(launch, 'launch.sh'), 'utf8')
    // one node (1 × p5.4xlarge): no hostfile, so DeepSpeed's runner stays on localhost without an SSH check
    expect(existsSync(join(launch, 'hostfile'))).toBe(false)
    expect(script).toContain('exec deepspeed --num_gpus 1 "$TRAIN_SCRIPT" --deepspeed --deepspeed_config "$HERE"/ds_config.json')
    expect(statSync(join(launch, 'launch.sh')).mode & 0o111).not.toBe(0)
    // the plan runs without DeepSpeed (one GPU, ZeRO-0): LLaMA-Factory's YAML names no config
    expect(readFileSync(join(launch, 'train.yaml'), 'utf8')).not.toMatch(/^deepspeed:/m)
    // --force replaces a launch folder, never a folder that holds other files.
    expect((await run('ds-config', 'stacks/Pulumi.example.yaml', '--launch-dir', launch, '--force')).code).toBe(0)
    writeFileSync(join(launch, 'notes.txt'), 'mine\n')
    const foreign = await run('ds-config', 'stacks/Pulumi.example.yaml', '--launch-dir', launch, '--force')
    expect(foreign.code).toBe(1)
    expect(foreign.stderr).toContain('holds files ftplan did not write (notes.txt)')
    expect(readFileSync(join(launch, 'notes.txt'), 'utf8')).toBe('mine\n')
    // A refusal writes nothing: with the folder in the way, the -o file does not appear either.
    const other2 = join(dir, 'other.json')
    const r = await run('ds-config', 'stacks/Pulumi.example.yaml', '--launch-dir', launch, '-o', other2)
    expect(r.code).toBe(1)
    expect(existsSync(other2)).toBe(false)
  })
})

describe('ftplan ds-config on a LLaMA-Factory YAML', () => {
  it('hf style by default, the YAML\'s own batch and precision where the plan keeps them, the edits printed and written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-'))
    const r = await run('ds-config', 'test/fixtures/specs/llamafactory-qlora.yaml', '--launch-dir', join(dir, 'run'))
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('hf style')
    const c = JSON.parse(readFileSync(join(dir, 'run', 'ds_config.json'), 'utf8'))
    expect(c.train_micro_batch_size_per_gpu).toBe('auto')
    const yaml = readFileSync(join(dir, 'run', 'train.yaml'), 'utf8')
    // every printed edit is in the written YAML
    const edits = [...r.stderr.matchAll(/^ {2}(\w+): \S+ → (\S+)/gm)].map((m) => [m[1], m[2]])
    expect(edits.length).toBeGreaterThan(0)
    for (const [key, to] of edits) {
      if (to === '(removed)') expect(yaml).not.toMatch(new RegExp(`^${key}:`, 'm'))
      else expect(yaml).toMatch(new RegExp(`^${key}: ${to}$`, 'm'))
    }
    expect(readFileSync(join(dir, 'run', 'launch.sh'), 'utf8')).toContain('case "${1:-llamafactory}" in')
  })
})

describe('ftplan check', () => {
  it('--plan: a config ftplan wrote passes against the plan\'s own hardware and run, both styles', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-'))
    for (const style of ['deepspeed', 'hf']) {
      const out = join(dir, `${style}.json`)
      await run('ds-config', 'stacks/Pulumi.llama70b-full.yaml', '-o', out, '--style', style)
      const r = await run('check', out, '--spec', 'stacks/Pulumi.llama70b-full.yaml', '--plan')
      expect(r.code, r.stdout).toBe(0)
      expect(r.stdout).toMatch(/DeepSpeed accepts it; checked for the plan, 3 × p5\.48xlarge/)
      expect(r.stdout).toMatch(/^fits: /m)
    }
    const both = await run('check', join(dir, 'hf.json'), '--spec', 'stacks/Pulumi.llama70b-full.yaml', '--plan', '--gpus', '8')
    // Options that contradict each other are usage errors (issue #16), as commander's own.
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('--plan takes the hardware from the plan')
  })
  it('--json: the verdicts with their DeepSpeed source, and no estimate when DeepSpeed would refuse', async () => {
    const r = await run('check', 'test/fixtures/ds/batch-mismatch.json', '--spec', 'test/fixtures/specs/llama2-7b-full.yaml', '--gpus', '8', '--json')
    expect(r.code).toBe(1)
    const j = JSON.parse(r.stdout)
    expect(j).toMatchObject({ version: 1, accepted: false, memory: null, strategy: null, fits: null })
    expect(j.findings).toEqual([{ verdict: 'error', line: 2, col: 23, path: 'train_batch_size', message: 'train_batch_size 64 is not train_micro_batch_size_per_gpu 2 × gradient_accumulation_steps 2 × world size 8 = 32', source: 'runtime/config.py:937-940', allowed: '32, or change the micro-batch or accumulation' }])
    const ok = JSON.parse((await run('check', 'test/fixtures/llamafactory-ds/ds_z2_config.json', '--spec', 'test/fixtures/specs/llama2-7b-full.yaml', '--gpus', '8', '--gpu-memory-gb', '80', '--json')).stdout)
    expect(ok).toMatchObject({ accepted: true, findings: [], strategy: { zeroStage: 2, gpus: 8 } })
    // Llama-2-7B, P = 6,738,415,616: bf16 weights 2P on every GPU; ZeRO-2 splits fp32 master and Adam's two moments (12P) over 8 GPUs
    const P = 6_738_415_616
    expect(ok.memory.perGpu.breakdown.weights).toBe(2 * P)
    expect(ok.memory.perGpu.breakdown.optimizerStates).toBe((12 * P) / 8)
  })
  it('a batch mismatch: exit 1 with the three numbers', async () => {
    const r = await run('check', 'test/fixtures/ds/batch-mismatch.json', '--spec', 'test/fixtures/specs/llama2-7b-full.yaml', '--gpus', '8', '--gpu-memory-gb', '80')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('DeepSpeed would refuse it: 1 error')
    expect(r.stdout).toContain('  error   test/fixtures/ds/batch-mismatch.json:2:23: train_batch_size: train_batch_size 64 is not train_micro_batch_size_per_gpu 2 × gradient_accumulation_steps 2 × world size 8 = 32; allowed: 32, or change the micro-batch or accumulation  [DeepSpeed runtime/config.py:937-940]')
  })
  it('a config that cannot fit: exit 1, the overflowing term and what fits', async () => {
    const r = await run('check', 'test/fixtures/ds/too-big.json', '--spec', 'test/fixtures/specs/llama2-7b-full.yaml', '--instance', 'p4de.24xlarge')
    expect(r.code).toBe(1)
    // A100-80GB: nvidia-smi's 81920 MiB × CUDA's share (150,109,880,320 B of 143771 MiB on our H200) × (1 − 0.12) = 75.27 GB
    expect(81920 * 150_109_880_320 / 143771 * 0.88 / 1e9).toBeCloseTo(75.27, 2)
    expect(r.stdout).toMatch(/^does not fit: needs \d+\.\d\d GB per GPU, 75\.27 GB usable, over by \d+\.\d\d GB$/m)
    expect(r.stdout).toMatch(/^ {2}largest terms: activations /m)
    expect(r.stdout).toContain('any one of these fits:')
  })
  it('a generated config fits the plan it was made for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ftplan-'))
    const out = join(dir, 'ds.json')
    await run('ds-config', 'stacks/Pulumi.example.yaml', '-o', out)
    const plan = JSON.parse((await run('plan', 'stacks/Pulumi.example.yaml', '--json')).stdout)['plan']
    const r = await run('check', out, '--spec', 'stacks/Pulumi.example.yaml', '--instance', plan.instanceType, '--nodes', String(plan.nodes))
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^fits: /m)
  })
  it('malformed JSON: exit 1 with file:line:col', async () => {
    const r = await run('check', 'test/fixtures/ds/malformed.json', '--spec', 'test/fixtures/specs/llama2-7b-full.yaml')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/test\/fixtures\/ds\/malformed\.json:3:38: not valid JSON \(Expected double-quoted property name\): DeepSpeed reads it with Python's json\.load/)
  })
})
