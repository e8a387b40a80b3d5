import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'vitest'
import { fifo, runCase, type Case } from './run-case.js'

// Issue #16's adversarial suite, specs: what `spec check` says of malformed, hostile and odd spec files. Each case
// asserts the exit code, the message and that the folder is as it was.

const BASE = 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\n'
const check = (yaml: string | Buffer, says: RegExp, code: 0 | 1 = 1, name?: string): Case => ({
  name: name ?? String(yaml).slice(0, 60), files: { 'spec.yaml': yaml }, argv: ['spec', 'check', 'spec.yaml'], code, says,
})

const cases: Case[] = [
  // The document as a whole.
  check('', /spec\.yaml:1:1: the file is empty; a spec needs at least `model`/, 1, 'empty file'),
  check('# only a comment\n', /the file is empty/, 1, 'only comments'),
  check('- model: x\n', /spec\.yaml:1:1: expected a mapping of spec fields/, 1, 'a list at the top'),
  check('just text\n', /spec\.yaml:1:1: expected a mapping of spec fields/, 1, 'a scalar at the top'),
  check(`${BASE}---\n${BASE}`, /a spec is one YAML document, and this file has more/, 1, 'two documents'),
  check(`${BASE}model: Qwen/Qwen2.5-7B\n`, /spec\.yaml:3:1: model: map keys must be unique: "model" is already set at line 1/, 1, 'a duplicate key'),
  check(`${BASE}seq_lenn: 1024\n`, /seq_lenn: unknown key.*did you mean seq_len\?/, 1, 'a misspelt key'),
  check('model: Qwen/Qwen2.5-0.5B\nmethod: [lora\n', /spec\.yaml:\d+:\d+: YAML syntax error/, 1, 'an unclosed flow list'),
  check(`${BASE}\tseq_len: 1024\n`, /YAML syntax error/, 1, 'a tab as indentation'),
  check(`${BASE}a: &a [*a]\n`, /spec\.yaml:3:8: alias \*a refers to the value that contains it/, 1, 'an alias to itself'),
  check(`${BASE}seq_len: *nowhere\n`, /spec\.yaml:3:10: alias \*nowhere has no anchor/, 1, 'an alias with no anchor'),
  check(`${BASE}x: ${'['.repeat(200)}${']'.repeat(200)}\n`, /nested (too deeply|deeper than 64)/, 1, 'nesting 200 deep'),
  check(`${BASE}lora:\n  targets: [${Array.from({ length: 10_001 }, (_, i) => `m${i}`).join(', ')}]\n`, /a list of 10,001 items; ftplan reads lists of at most 10,000/, 1, 'a list of 10,001 items'),
  check(`${BASE}<<: 3\n`, /spec\.yaml:3:5: <<: a merge key \(<<\) takes a mapping or a list of mappings/, 1, 'a merge key onto a number'),
  check(`model: Qwen/Qwen2.5-0.5B\nbatch: &b { micro: 2 }\nconstraints: { <<: *b }\n`, /constraints\.micro: unknown key/, 1, 'a merge key brings its keys, checked as written there'),
  check('\uFEFF' + BASE, /Qwen\/Qwen2\.5-0\.5B/, 0, 'a UTF-8 byte-order mark'),
  check(Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x00]), /spec\.yaml:1:1: expected a mapping of spec fields/, 1, 'binary bytes'),
  check(`${BASE}ftplan:spec: { secure: AAABAxyz }\n`, /spec\.yaml:3:1: ftplan:spec: unknown key/, 1, 'a Pulumi key in a plain spec'),
  check('config:\n  ftplan:spec:\n    secure: AAABAxyz\n', /spec\.yaml:3:5: config\.ftplan:spec: is a Pulumi secret \(secure: …\), which only the Pulumi CLI can decrypt/, 1, 'a Pulumi secret as the stack spec'),
  check('model: no-such-org/no-such-model-xyz\nmethod: lora\n', /model: unknown model "no-such-org\/no-such-model-xyz".*HF_HUB_OFFLINE is set and no-such-org\/no-such-model-xyz@main is not in ftplan's cache/, 1, 'an unknown Hub model, offline'),
  { name: "a model folder whose config.json is a folder", files: { 'spec.yaml': 'model: ./mdl\nmethod: lora\n' }, setup: (d) => mkdirSync(join(d, 'mdl', 'config.json'), { recursive: true }), argv: ['spec', 'check', 'spec.yaml'], code: 1, says: /spec\.yaml:1:8: model: cannot read the config\.json of "\.\/mdl": \S*mdl\/config\.json is a folder, not a file/ },
  check('model: ./nowhere/\nmethod: lora\n', /spec\.yaml:1:8: model: no config\.json at "\.\/nowhere\/"/, 1, 'a model path that does not exist'),
  check(`${BASE}method: lora\n`, /map keys must be unique/, 1, 'method twice'),
  check('model: Qwen/Qwen2.5-0.5B\nmethod: lorra\n', /method: "lorra" is not allowed.*did you mean lora\?/, 1, 'a misspelt method'),
  check(`${BASE}precision: bf17\n`, /precision: "bf17" is not allowed/, 1, 'an unknown precision'),
  check(`${BASE}attention: [flash]\n`, /attention: expected one of .*got a list/, 1, 'a list for a choice'),
  check(`${BASE}gradient_checkpointing: maybe\n`, /gradient_checkpointing: "maybe" is not allowed; allowed: true \| false \| auto/, 1, 'maybe for a boolean'),
  check(`${BASE}margin: 2\n`, /margin: 2 is out of range; allowed: a number ≥ 0 and ≤ 0\.9/, 1, 'margin 2'),
  check(`${BASE}margin: 1e308\n`, /margin: 1e308 is out of range/, 1, 'margin 1e308 echoed as written'),
  check(`${BASE}margin: .nan\n`, /margin: expected a number, got \.nan/, 1, 'margin NaN'),
  check(`${BASE}margin: -.inf\n`, /margin: expected a number, got -\.inf/, 1, 'margin -infinity'),
  check(`${BASE}train: { tokens: -5 }\n`, /train\.tokens: -5 is out of range; allowed: a number > 0/, 1, 'negative tokens'),
  check(`${BASE}train: { tokens: 1e9 }\n`, /train:\n\s+tokens: 1000000000\n/, 0, 'tokens in exponent form are a number'),
  check(`${BASE}constraints: { max_nodes: 1025 }\n`, /constraints\.max_nodes: 1025 is out of range/, 1, 'max_nodes over 1024'),
  check(`${BASE}constraints: { gpus: [H10] }\n`, /constraints\.gpus\[0\]: "H10" is not allowed.*did you mean H100\?/, 1, 'a misspelt GPU'),
  check(`${BASE}constraints: { regions: [us-east-9x] }\n`, /constraints\.regions\[0\]: "us-east-9x" is not an AWS region name.*did you mean us-east-1\?/, 1, 'a region that is not one'),
  check(`${BASE}lora: { rank: 8, targets: [] }\n`, /lora\.targets: an empty list targets nothing/, 1, 'no LoRA targets'),
]

// Every integer field, every wrong shape of integer, each echoed as written.
const INT_FIELDS: [string, (v: string) => string][] = [
  ['batch.micro', (v) => `batch: { micro: ${v} }`],
  ['seq_len', (v) => `seq_len: ${v}`],
  ['lora.rank', (v) => `lora: { rank: ${v} }`],
  ['gpus', (v) => `gpus: ${v}`],
]
const BAD_INTS: [string, RegExp][] = [
  ['0', /0 is out of range/],
  ['-1', /-1 is out of range/],
  ['1.5', /expected an integer, got 1\.5/],
  ['"8"', /expected an integer, got "8"/],
  ['1e400', /expected an integer, got 1e400/],
  ['0x10', /0x10 is not written in decimal digits; write 16/],
  ['1e3', /1e3 is not written in decimal digits; write 1000/],
  ['[2]', /expected an integer, got a list/],
  ['{ n: 2 }', /expected an integer, got a mapping/],
  ['null', /expected an integer, got nothing/],
  ['true', /expected an integer, got true/],
  ['99999999999999999999', /99999999999999999999 is out of range/],
]
for (const [field, line] of INT_FIELDS) {
  for (const [value, says] of BAD_INTS) {
    cases.push(check(`${BASE}${line(value)}\n`, new RegExp(`spec\\.yaml:3:\\d+: ${field.replace('.', '\\.')}: ${says.source}`), 1, `${field}: ${value}`))
  }
}

// LLaMA-Factory YAMLs and Pulumi stack files: problems at the key the user wrote, never at one ftplan derived.
const LF = 'model_name_or_path: Qwen/Qwen2.5-0.5B\nstage: sft\ndo_train: true\nfinetuning_type: lora\ndataset: a\ntemplate: qwen\noutput_dir: o\n'
const STACK = 'config:\n  aws:region: us-east-1\n  ftplan:spec:\n    model: Qwen/Qwen2.5-0.5B\n    method: lora\n    train: { tokens: 1e6 }\n'
const forms: Case[] = [
  { name: 'LF lora_rank 1e400: the rank alone, no alpha derived from it', files: { 'lf.yaml': `${LF}lora_rank: 1e400\n` }, argv: ['spec', 'check', 'lf.yaml'], code: 1, says: /^error: 1 problem in lf\.yaml:\n  lf\.yaml:8:12: lora_rank \(→ lora\.rank\): expected an integer, got 1e400/ },
  { name: 'LF cutoff_len 0x400', files: { 'lf.yaml': `${LF}cutoff_len: 0x400\n` }, argv: ['spec', 'check', 'lf.yaml'], code: 1, says: /lf\.yaml:8:13: cutoff_len \(→ seq_len\): 0x400 is not written in decimal digits; write 1024/ },
  { name: 'LF per_device_train_batch_size [2]', files: { 'lf.yaml': `${LF}per_device_train_batch_size: [2]\n` }, argv: ['spec', 'check', 'lf.yaml'], code: 1, says: /per_device_train_batch_size \(→ batch\.micro\): expected an integer, got a list/ },
  { name: 'stack settings: every problem at once, each at its key, in file order', files: { 'stacks/Pulumi.bad.yaml': `${STACK}  ftplan:market: capacity-block\n  ftplan:maxHourz: 3\n  ftplan:sshCidr: 0.0.0.0/0\n` }, argv: ['preview', 'stacks/Pulumi.bad.yaml'], code: 1,
    says: /3 problems in the stack settings of stacks\/Pulumi\.bad\.yaml:\n  stacks\/Pulumi\.bad\.yaml:7:3: ftplan:market capacity-block needs ftplan:capacityReservationId.*\n  stacks\/Pulumi\.bad\.yaml:8:3: ftplan:maxHourz is not a setting; did you mean ftplan:maxHours\?.*\n  stacks\/Pulumi\.bad\.yaml:9:3: ftplan:sshCidr: 0\.0\.0\.0\/0 opens SSH to the whole internet/ },
  { name: 'stack settings echoed as written, as Pulumi hands them over', files: { 'stacks/Pulumi.w.yaml': `${STACK}  ftplan:maxHours: 1e400\n  ftplan:idleMinutes: 0x10\n` }, argv: ['preview', 'stacks/Pulumi.w.yaml'], code: 1,
    says: /stacks\/Pulumi\.w\.yaml:7:3: ftplan:maxHours: "1e400" is not hours, a number such as 12 or 0\.5\n  stacks\/Pulumi\.w\.yaml:8:3: ftplan:idleMinutes: "0x10" is not whole minutes/ },
  { name: 'a stack spec with a list for a count', files: { 'stacks/Pulumi.x.yaml': `${STACK}    batch: { micro: [2] }\n` }, argv: ['spec', 'check', 'stacks/Pulumi.x.yaml'], code: 1, says: /stacks\/Pulumi\.x\.yaml:7:21: batch\.micro: expected an integer, got a list/ },
]

// The spec path itself.
const kinds: Case[] = [
  { name: 'no such file', argv: ['spec', 'check', 'missing.yaml'], code: 1, says: /^error: missing\.yaml: no such file \(expected a spec YAML, a Pulumi stack file or a LLaMA-Factory YAML\)$/m },
  { name: 'a folder', setup: (d) => mkdirSync(join(d, 'specs')), argv: ['spec', 'check', 'specs'], code: 1, says: /specs is a folder, not a file; ftplan reads a spec from a regular file/ },
  { name: 'a FIFO', setup: (d) => fifo(join(d, 'pipe.yaml')), argv: ['spec', 'check', 'pipe.yaml'], code: 1, says: /pipe\.yaml is a pipe \(FIFO\), not a file; ftplan reads a spec from a regular file/ },
  { name: 'standard input as -', argv: ['spec', 'check', '-'], code: 1, says: /- \(standard input\): ftplan reads a spec from a file, not from standard input/ },
  { name: '/dev/null, a device', argv: ['spec', 'check', '/dev/null'], code: 1, says: /\/dev\/null is a device, not a file/ },
  { name: 'a file over 1 MiB', files: { 'big.yaml': `${BASE}# ${'x'.repeat(1_100_000)}\n` }, argv: ['spec', 'check', 'big.yaml'], code: 1, says: /big\.yaml is 1\.0 MiB; ftplan reads a spec of at most 1\.0 MiB/ },
  { name: 'a dangling symbolic link', setup: (d) => void symlinkSync('gone.yaml', join(d, 'spec.yaml')), argv: ['spec', 'check', 'spec.yaml'], code: 1, says: /spec\.yaml: no such file/ },
  { name: 'a symbolic link to a spec is read', files: { 'real.yaml': BASE }, setup: (d) => void symlinkSync('real.yaml', join(d, 'spec.yaml')), argv: ['spec', 'check', 'spec.yaml'], code: 0, says: /Qwen\/Qwen2\.5-0\.5B/ },
  { name: 'a path through a file', files: { 'f': 'x' }, argv: ['spec', 'check', 'f/spec.yaml'], code: 1, says: /f\/spec\.yaml: a part of .* is a file, not a folder/ },
]

describe('specs', () => {
  for (const c of [...cases, ...forms, ...kinds]) it(c.name, async () => void (await runCase(c)))
})
