import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'vitest'
import { fifo, runCase, type Case } from './run-case.js'

// Issue #16's adversarial suite, the other inputs: user catalogs (`plan --catalog`), DeepSpeed configs (`check`) and
// command-line arguments. Each case asserts the exit code, the message and that the folder is as it was.

const SPEC = 'model: Qwen/Qwen2.5-0.5B\nmethod: lora\nseq_len: 1024\n'
const HEADER = 'provider,region,instance_type,gpu,gpu_count,gpu_mem_gib,vcpus,ram_gib,nvme_gb,network_gbps,efa_interfaces,interconnect,price_ondemand_usd_hr,price_spot_usd_hr'
const ROW = 'aws,us-east-1,g6e.xlarge,L40S,1,44.7,4,32,250,2.5,0,PCIe,1.86,0.70'
const SKY_HEADER = 'InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,AvailabilityZone'
const skyInfo = (mib: string) => `"{'Gpus': [{'Name': 'L40S', 'Manufacturer': 'NVIDIA', 'Count': 1, 'MemoryInfo': {'SizeInMiB': ${mib}}}], 'TotalGpuMemoryInMiB': ${mib}}"`

const catalog = (name: string, csv: string, code: 0 | 1, says: RegExp): Case => ({
  name, files: { 'spec.yaml': SPEC, 'cat.csv': csv }, argv: ['plan', 'spec.yaml', '--catalog', 'cat.csv'], code, says,
})

const catalogs: Case[] = [
  catalog('a good one-row catalog plans on it', `${HEADER}\n${ROW}\n`, 0, /^Chosen: 1 × g6e\.xlarge in us-east-1/m),
  catalog('CRLF line ends', `${HEADER}\r\n${ROW}\r\n`, 0, /^Chosen: 1 × g6e\.xlarge in us-east-1/m),
  catalog('an empty file', '', 1, /cat\.csv:1:1: the catalog is empty; allowed: a header row: provider,region,/),
  catalog('a header only', `${HEADER}\n`, 1, /cat\.csv:1:1: the catalog has no GPU instance rows/),
  catalog('a missing required column', `${HEADER.replace(',gpu_count', '')}\n${ROW.replace(',1,44.7', ',44.7')}\n`, 1, /cat\.csv:1:1: the header is neither ftplan's catalog nor SkyPilot's: missing gpu_count/),
  catalog('a region that is not one', `${HEADER}\n${ROW.replace('us-east-1', 'moon-1')}\n`, 1, /cat\.csv:2:\d+: column region: "moon-1" is not an AWS region name/),
  catalog('an unknown GPU', `${HEADER}\n${ROW.replace('L40S', 'L40X')}\n`, 1, /cat\.csv:2:4: column gpu: "L40X" is not a GPU ftplan knows.*did you mean L40S\?/),
  catalog('a GPU count of -1', `${HEADER}\n${ROW.replace(',L40S,1,', ',L40S,-1,')}\n`, 1, /cat\.csv:2:5: column gpu_count: "-1" is not a decimal number > 0/),
  catalog('a GPU count in hex', `${HEADER}\n${ROW.replace(',L40S,1,', ',L40S,0x1,')}\n`, 1, /cat\.csv:2:5: column gpu_count: "0x1" is not a decimal number > 0/),
  catalog('a price that is not a number', `${HEADER}\n${ROW.replace('1.86', 'cheap')}\n`, 1, /cat\.csv:2:13: column price_ondemand_usd_hr: "cheap" is not a decimal number ≥ 0/),
  catalog('a negative price', `${HEADER}\n${ROW.replace('1.86', '-1.86')}\n`, 1, /cat\.csv:2:13: column price_ondemand_usd_hr: "-1\.86" is not a decimal number ≥ 0/),
  catalog('GPU memory of 0', `${HEADER}\n${ROW.replace(',44.7,', ',0,')}\n`, 1, /cat\.csv:2:6: column gpu_mem_gib: "0" is not a decimal number > 0/),
  catalog('an unclosed quote', `${HEADER}\n${ROW.replace('PCIe', '"PCIe')}\n`, 1, /cat\.csv:2:1: a quoted field is never closed/),
  catalog('a row with too few fields', `${HEADER}\naws,us-east-1,g6e.xlarge\n`, 1, /cat\.csv:2:1: the row has 3 fields and the header 14/),
  catalog('an identical repeated row is one offer', `${HEADER}\n${ROW}\n${ROW}\n`, 0, /^Chosen: 1 × g6e\.xlarge in us-east-1/m),
  catalog('a repeated row with another price is refused', `${HEADER}\n${ROW}\n${ROW.replace('1.86', '2.00')}\n`, 1, /cat\.csv:3:\d+: column instance_type: g6e\.xlarge in us-east-1 is listed again with different values/),
  catalog('a SkyPilot GpuInfo without a size', `${SKY_HEADER}\ng6e.xlarge,L40S,1,4,32,"{'Gpus': [{'Name': 'L40S', 'Count': 1}]}",1.86,0.7,us-east-1,us-east-1a\n`, 1, /cat\.csv:2:6: column GpuInfo: has no MemoryInfo SizeInMiB/),
  catalog('a SkyPilot GpuInfo of size 0', `${SKY_HEADER}\ng6e.xlarge,L40S,1,4,32,${skyInfo('0')},1.86,0.7,us-east-1,us-east-1a\n`, 1, /cat\.csv:2:6: column GpuInfo: SizeInMiB 0 is not a memory size/),
  catalog('a SkyPilot GpuInfo of size NaN', `${SKY_HEADER}\ng6e.xlarge,L40S,1,4,32,${skyInfo('NaN')},1.86,0.7,us-east-1,us-east-1a\n`, 1, /cat\.csv:2:6: column GpuInfo: SizeInMiB NaN is not a memory size/),
  catalog('a good SkyPilot row plans on it', `${SKY_HEADER}\ng6e.xlarge,L40S,1,4,32,${skyInfo('46068')},1.86,0.7,us-east-1,us-east-1a\n`, 0, /^Chosen: 1 × g6e\.xlarge in us-east-1/m),
  catalog('neither format', 'a,b,c\n1,2,3\n', 1, /cat\.csv:1:1: the header is neither ftplan's catalog nor SkyPilot's: missing region, instance_type/),
  { name: 'a catalog that is a folder', files: { 'spec.yaml': SPEC }, setup: (d) => mkdirSync(join(d, 'cat.csv')), argv: ['plan', 'spec.yaml', '--catalog', 'cat.csv'], code: 1, says: /cat\.csv is a folder, not a file; ftplan reads a catalog from a regular file/ },
  { name: 'a catalog that is a FIFO', files: { 'spec.yaml': SPEC }, setup: (d) => fifo(join(d, 'cat.csv')), argv: ['plan', 'spec.yaml', '--catalog', 'cat.csv'], code: 1, says: /cat\.csv is a pipe \(FIFO\), not a file/ },
  { name: 'a missing catalog', files: { 'spec.yaml': SPEC }, argv: ['plan', 'spec.yaml', '--catalog', 'cat.csv'], code: 1, says: /cat\.csv: no such file \(expected ftplan's catalog CSV or SkyPilot's vms\.csv\)/ },
]

const ds = (name: string, json: string, code: 0 | 1, says: RegExp, extra: string[] = ['--gpus', '8']): Case => ({
  name, files: { 'spec.yaml': SPEC, 'ds.json': json }, argv: ['check', 'ds.json', '--spec', 'spec.yaml', ...extra], code, says,
})
const configs: Case[] = [
  ds('a // comment', '{\n  // ZeRO-2\n  "zero_optimization": { "stage": 2 }\n}\n', 1, /ds\.json:2:3: not valid JSON .*json\.load/),
  ds('a trailing comma', '{\n  "zero_optimization": { "stage": 2, }\n}\n', 1, /ds\.json:2:\d+: not valid JSON/),
  ds('YAML, not JSON', 'zero_optimization:\n  stage: 2\n', 1, /ds\.json:1:1: not valid JSON/),
  ds('an empty file', '', 1, /ds\.json:1:1: not valid JSON \(Unexpected end of JSON input\)/),
  ds('a list', '[1, 2]\n', 1, /ds\.json:1:1: a DeepSpeed config is a JSON object/),
  ds('stage 7', '{ "zero_optimization": { "stage": 7 } }\n', 1, /ds\.json:1:35: zero_optimization\.stage: 7 is not one of 0 \| 1 \| 2 \| 3.*zero\/config\.py/),
  ds('zero_optimization as a list', '{ "zero_optimization": [3] }\n', 1, /ds\.json:1:24: zero_optimization: expected an object/),
  ds('a batch of 1e308', '{ "train_micro_batch_size_per_gpu": 1e308 }\n', 1, /ds\.json:1:37: train_micro_batch_size_per_gpu: 1e308 is too large for a count/),
  ds('a batch that is a string', '{ "train_micro_batch_size_per_gpu": "two" }\n', 1, /ds\.json:1:37: train_micro_batch_size_per_gpu: expected a whole number, got "two"/),
  ds('a batch that does not multiply out', '{ "train_batch_size": 10, "train_micro_batch_size_per_gpu": 3, "gradient_accumulation_steps": 1 }\n', 1, /train_batch_size 10 is not train_micro_batch_size_per_gpu 3 × gradient_accumulation_steps 1 × world size 8 = 24/),
  ds('bf16 and fp16 both on', '{ "bf16": { "enabled": true }, "fp16": { "enabled": true } }\n', 1, /fp16\.enabled: fp16 and bf16 are both enabled; DeepSpeed allows one/),
  ds('a good ZeRO-2 config is accepted', '{ "train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, "bf16": { "enabled": true }, "zero_optimization": { "stage": 2 } }\n', 0, /DeepSpeed accepts it/),
  ds('NaN is read, as json.load reads it', '{ "train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1, "gradient_clipping": NaN, "zero_optimization": { "stage": 2 } }\n', 0, /gradient_clipping: NaN is not a finite number: DeepSpeed takes it as it is/),
  { name: 'a config that is a folder', files: { 'spec.yaml': SPEC }, setup: (d) => mkdirSync(join(d, 'ds.json')), argv: ['check', 'ds.json', '--spec', 'spec.yaml'], code: 1, says: /ds\.json is a folder, not a file; ftplan reads a DeepSpeed config from a regular file/ },
  { name: 'a config that is a FIFO', files: { 'spec.yaml': SPEC }, setup: (d) => fifo(join(d, 'ds.json')), argv: ['check', 'ds.json', '--spec', 'spec.yaml'], code: 1, says: /ds\.json is a pipe \(FIFO\), not a file/ },
  { name: 'a missing config', files: { 'spec.yaml': SPEC }, argv: ['check', 'ds.json', '--spec', 'spec.yaml'], code: 1, says: /ds\.json: no such file/ },
  { name: 'a config over 1 MiB', files: { 'spec.yaml': SPEC, 'ds.json': `{ "x": "${'y'.repeat(1_100_000)}" }` }, argv: ['check', 'ds.json', '--spec', 'spec.yaml'], code: 1, says: /ds\.json is 1\.0 MiB; ftplan reads a DeepSpeed config of at most 1\.0 MiB/ },
]

const LF = 'model_name_or_path: Qwen/Qwen2.5-0.5B\nstage: sft\ndo_train: true\nfinetuning_type: lora\ndataset: alpaca_en_demo\ntemplate: qwen\ncutoff_len: 1024\nper_device_train_batch_size: 2\nbf16: true\noutput_dir: out\ndeepspeed: ds.json\n'
const lf = (name: string, json: string | null, code: 0 | 1, says: RegExp, more: Partial<Case> = {}): Case => ({
  name, files: { 'lf.yaml': LF, ...(json === null ? {} : { 'ds.json': json }), ...(more.files ?? {}) }, argv: ['spec', 'check', 'lf.yaml'], code, says, ...(more.setup ? { setup: more.setup } : {}),
})
const lfConfigs: Case[] = [
  lf('LF deepspeed: a ZeRO-3 config is read', '{ "train_batch_size": "auto", "zero_optimization": { "stage": 3 } }', 0, /^    zero: 3$/m),
  lf('LF deepspeed: a missing file', null, 1, /lf\.yaml:11:12: deepspeed: cannot read "ds\.json": no such file/),
  lf('LF deepspeed: a folder', null, 1, /lf\.yaml:11:12: deepspeed: cannot read "ds\.json": \S*ds\.json is a folder, not a file/, { setup: (d) => mkdirSync(join(d, 'ds.json')) }),
  lf('LF deepspeed: a FIFO', null, 1, /lf\.yaml:11:12: deepspeed: cannot read "ds\.json": \S*ds\.json is a pipe \(FIFO\), not a file/, { setup: (d) => fifo(join(d, 'ds.json')) }),
  lf('LF deepspeed: over 1 MiB', `{ "zero_optimization": { "stage": 3 }, "x": "${'y'.repeat(1_100_000)}" }`, 1, /lf\.yaml:11:12: deepspeed: cannot read "ds\.json": \S*ds\.json is 1\.0 MiB; ftplan reads a DeepSpeed config of at most 1\.0 MiB/),
  lf('LF deepspeed: a // comment, at its line in the JSON', '{\n  // ZeRO-3\n  "zero_optimization": { "stage": 3 }\n}', 1, /ds\.json:2:3: not valid JSON .*DeepSpeed reads it with Python's json\.load/),
  lf('LF deepspeed: zero_optimization as a list', '{\n  "zero_optimization": [3]\n}', 1, /ds\.json:2:24: zero_optimization: zero_optimization must be an object such as \{"stage": 3\}/),
  lf('LF deepspeed: stage 7', '{\n  "zero_optimization": { "stage": 7 }\n}', 1, /ds\.json:2:\d+: zero_optimization\.stage: 7 is not a ZeRO stage/),
  lf('LF deepspeed: an offload device DeepSpeed does not know', '{\n  "zero_optimization": { "stage": 3, "offload_optimizer": { "device": "gpu" } }\n}', 1, /ds\.json:2:\d+: zero_optimization\.offload_optimizer\.device: "gpu" is not an offload device DeepSpeed knows/),
  lf("LF deepspeed: a model's config.json, not a DeepSpeed config", '{ "hidden_size": 896, "num_hidden_layers": 24 }', 1, /lf\.yaml:11:12: deepspeed: "ds\.json" is not a DeepSpeed config: none of its keys \(hidden_size, num_hidden_layers\)/),
  lf('LF deepspeed: a number instead of a path', null, 1, /lf\.yaml:11:12: deepspeed: expected a path to a DeepSpeed JSON config/, { files: { 'lf.yaml': LF.replace('deepspeed: ds.json', 'deepspeed: 3') } }),
]

const cli = (name: string, argv: string[], code: 1 | 2, says: RegExp): Case => ({ name, files: { 'spec.yaml': SPEC, 'ds.json': '{}' }, argv, code, says })
const args: Case[] = [
  cli('estimate --gpus 0x10', ['estimate', 'spec.yaml', '--gpus', '0x10'], 2, /option '--gpus <n>' argument '0x10' is invalid\. expected an integer 1\.\.65536/),
  cli('estimate --gpus 1e3', ['estimate', 'spec.yaml', '--gpus', '1e3'], 2, /option '--gpus <n>' argument '1e3' is invalid\. expected an integer 1\.\.65536/),
  cli('estimate --gpus -1', ['estimate', 'spec.yaml', '--gpus', '-1'], 2, /option '--gpus <n>' argument '-1' is invalid/),
  cli('estimate --gpus abc', ['estimate', 'spec.yaml', '--gpus', 'abc'], 2, /option '--gpus <n>' argument 'abc' is invalid/),
  cli('estimate --nodes 1.5', ['estimate', 'spec.yaml', '--nodes', '1.5'], 2, /option '--nodes <m>' argument '1\.5' is invalid/),
  cli('check --gpus 0x10', ['check', 'ds.json', '--spec', 'spec.yaml', '--gpus', '0x10'], 2, /option '--gpus <n>' argument '0x10' is invalid\. expected the GPU count, an integer 1\.\.65536/),
  cli('plan --gpus H10, a GPU name', ['plan', 'spec.yaml', '--gpus', 'H10'], 2, /"H10" is not a GPU ftplan knows/),
  cli('plan --gpus 0x10, a GPU name', ['plan', 'spec.yaml', '--gpus', '0x10'], 2, /"0x10" is not a GPU ftplan knows/),
  cli('--tokens -5', ['plan', 'spec.yaml', '--tokens', '-5'], 2, /expected a number above 0 and at most 10000000000000000 for --tokens, got "-5"/),
  cli('--tokens 0x10', ['plan', 'spec.yaml', '--tokens', '0x10'], 2, /for --tokens, got "0x10"/),
  cli('--top -1', ['plan', 'spec.yaml', '--top', '-1'], 2, /option '--top <n>' argument '-1' is invalid\. expected an integer 0\.\.1000/),
  cli('--top 1.5', ['plan', 'spec.yaml', '--top', '1.5'], 2, /option '--top <n>' argument '1\.5' is invalid/),
  cli('--max-nodes 0', ['plan', 'spec.yaml', '--max-nodes', '0'], 2, /expected an integer above 0 and at most 1024 for --max-nodes, got "0"/),
  cli('--max-nodes 2048', ['plan', 'spec.yaml', '--max-nodes', '2048'], 2, /expected an integer above 0 and at most 1024 for --max-nodes, got "2048"/),
  cli('an unknown option', ['plan', 'spec.yaml', '--fast'], 2, /unknown option '--fast'/),
  cli('an unknown command', ['plam', 'spec.yaml'], 2, /unknown command 'plam'.*plan/s),
  cli('a missing argument', ['plan'], 2, /missing required argument 'spec'/),
  cli('--epochs without --tokens', ['plan', 'spec.yaml', '--epochs', '2'], 2, /--epochs goes with --tokens/),
  cli('check --plan with --gpus', ['check', 'ds.json', '--spec', 'spec.yaml', '--plan', '--gpus', '8'], 2, /--plan takes the hardware from the plan/),
  cli('check --instance with --gpu-memory-gb', ['check', 'ds.json', '--spec', 'spec.yaml', '--instance', 'p5.48xlarge', '--gpu-memory-gb', '10'], 2, /--instance sets the GPUs and their memory/),
  cli('check --gpus --gpu-memory-gb --instance', ['check', 'ds.json', '--spec', 'spec.yaml', '--gpus', '8', '--gpu-memory-gb', '10', '--instance', 'p4d.24xlarge'], 2, /--instance sets the GPUs and their memory/),
  cli('check --nodes without --instance', ['check', 'ds.json', '--spec', 'spec.yaml', '--nodes', '2'], 2, /--nodes counts nodes of --instance/),
  cli('check --catalog without --plan or --instance', ['check', 'ds.json', '--spec', 'spec.yaml', '--catalog', 'x.csv'], 2, /--catalog is read for --plan or --instance/),
  cli('check --gpu-memory-gb -3', ['check', 'ds.json', '--spec', 'spec.yaml', '--gpu-memory-gb', '-3'], 2, /option '--gpu-memory-gb <gb>' argument '-3' is invalid\. expected a size in GB/),
  cli('check without --spec', ['check', 'ds.json'], 2, /required option '--spec <file>' not specified/),
  cli('ds-config --force without an output', ['ds-config', 'spec.yaml', '--force'], 2, /--force lets -o and --launch-dir replace what they write/),
  cli('ds-config --style json', ['ds-config', 'spec.yaml', '--style', 'json'], 2, /argument 'json' is invalid\. expected hf or deepspeed/),
  cli('estimate --rule seed --compare', ['estimate', 'spec.yaml', '--rule', 'seed', '--compare'], 2, /--rule prints only the rule of thumb; --compare would be ignored/),
  cli('estimate --zero 4', ['estimate', 'spec.yaml', '--zero', '4'], 2, /argument '4' is invalid\. expected 0, 1, 2 or 3/),
  cli('estimate --offload optimizer without ZeRO', ['estimate', 'spec.yaml', '--offload', 'optimizer', '--zero', '0'], 2, /--offload optimizer needs DeepSpeed ZeRO 1, 2 or 3/),
  cli('estimate --gpus 3 --nodes 2', ['estimate', 'spec.yaml', '--gpus', '3', '--nodes', '2'], 2, /--gpus 3 do not split evenly over --nodes 2/),
  cli('estimate --gpu H10', ['estimate', 'spec.yaml', '--gpu', 'H10'], 2, /argument 'H10' is invalid\. expected one of .*\(did you mean H100\?\)/),
  cli('plan --update on a plain spec', ['plan', 'spec.yaml', '--update'], 1, /--update pins the plan of a Pulumi stack file/),
  cli('instances --region moon-1', ['instances', '--region', 'moon-1'], 1, /no offers in region moon-1/),
]

describe('user catalogs', () => {
  for (const c of catalogs) it(c.name, async () => void (await runCase(c)))
})
describe('DeepSpeed configs', () => {
  for (const c of configs) it(c.name, async () => void (await runCase(c)))
})
describe("LLaMA-Factory YAMLs' DeepSpeed configs", () => {
  for (const c of lfConfigs) it(c.name, async () => void (await runCase(c)))
})
describe('command-line arguments', () => {
  for (const c of args) it(c.name, async () => void (await runCase(c)))
})
