import fc from 'fast-check'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { listing } from './run-case.js'

// Issue #16: random command lines. Whatever the options and their values, every command ends in exit 0, 1 or 2 with
// a message, never a crash (exit 70) or a stack trace; and a command that fails writes nothing.

const SPEC = 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\nseq_len: 1024\ntrain: { tokens: 1e6 }\n'
const DS = '{ "train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, "zero_optimization": { "stage": 2 } }\n'
const CSV = 'provider,region,instance_type,gpu,gpu_count,gpu_mem_gib,vcpus,ram_gib,nvme_gb,network_gbps,efa_interfaces,interconnect,price_ondemand_usd_hr,price_spot_usd_hr\naws,us-east-1,g6e.xlarge,L40S,1,44.7,4,32,250,2.5,0,PCIe,1.86,0.70\n'

const value = fc.constantFrom('1', '2', '8', '0', '-1', '1.5', '1e3', '0x10', 'abc', '', 'H100', 'A10G,L4', 'us-east-1', 'spec.yaml', 'ds.json', 'cat.csv', 'missing', '.', '/dev/null', 'seed', 'hf', 'deepspeed', '3', 'optimizer', 'p5.48xlarge', 'Infinity', 'NaN', '--json')
const COMMANDS: Record<string, { base: string[]; options: string[]; flags: string[] }> = {
  'spec check': { base: ['spec', 'check', 'spec.yaml'], options: [], flags: ['--json'] },
  estimate: { base: ['estimate', 'spec.yaml'], options: ['--gpus', '--gpu', '--nodes', '--zero', '--offload', '--gpu-memory-gb', '--rule'], flags: ['--compare', '--json'] },
  plan: { base: ['plan', 'spec.yaml'], options: ['--catalog', '--top', '--tokens', '--epochs', '--gpus', '--regions', '--max-nodes', '--max-hourly'], flags: ['--json', '--spot', '--update'] },
  instances: { base: ['instances'], options: ['--region', '--catalog'], flags: ['--json'] },
  'ds-config': { base: ['ds-config', 'spec.yaml'], options: ['--style', '--catalog', '-o', '--launch-dir'], flags: ['--force'] },
  check: { base: ['check', 'ds.json', '--spec', 'spec.yaml'], options: ['--gpus', '--gpu-memory-gb', '--instance', '--nodes', '--catalog'], flags: ['--plan', '--json'] },
  models: { base: ['models'], options: [], flags: ['--json'] },
}

const commandLine = fc.constantFrom(...Object.keys(COMMANDS)).chain((name) => {
  const c = COMMANDS[name]!
  const opt = c.options.length > 0 ? fc.tuple(fc.constantFrom(...c.options), value).map(([o, v]) => [o, v]) : fc.constant([] as string[])
  const flag = fc.constantFrom(...c.flags).map((f) => [f])
  return fc.array(fc.oneof(opt, flag), { maxLength: 4 }).map((parts) => [...c.base, ...parts.flat()])
})

describe('random command lines', () => {
  it('exit 0, 1 or 2, never a crash; a failure writes nothing (150 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(commandLine, async (argv) => {
        const dir = mkdtempSync(join(tmpdir(), 'ftplan-args-'))
        writeFileSync(join(dir, 'spec.yaml'), SPEC)
        writeFileSync(join(dir, 'ds.json'), DS)
        writeFileSync(join(dir, 'cat.csv'), CSV)
        const before = listing(dir)
        let stderr = ''
        const code = await main(argv, { stdout: () => {}, stderr: (s) => void (stderr += s), cwd: dir, env: { HF_HUB_OFFLINE: '1', FTPLAN_CACHE_DIR: join(dir, '.cache') } })
        expect([0, 1, 2], `${argv.join(' ')}\n${stderr}`).toContain(code)
        expect(stderr).not.toMatch(/internal error|\n\s+at \S+ \(/)
        if (code !== 0) {
          const now = listing(dir)
          for (const k of Object.keys(now)) if (k === '.cache' || k.startsWith('.cache/')) delete now[k]
          expect(now, argv.join(' ')).toEqual(before)
        }
      }),
      { numRuns: 150 },
    )
  }, 120_000)
})
