import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec } from '../spec/load.js'
import { NF4_DQ_BYTES_PER_PARAM } from './constants.js'
import { estimateMemory, type MemoryEstimate } from './estimate.js'
import { strategyFromSpec, type StrategyOverrides } from './strategy.js'

function estimate(yaml: string, o: StrategyOverrides = {}): MemoryEstimate {
  const l = loadSpec(yaml, 'spec.yaml', memorySources())
  return estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch, o))
}
const phase = (e: MemoryEstimate, name: string) => e.phases.find((p) => p.phase === name)!

// Llama-2-7B: P = 6,738,415,616, h = 4096, L = 32, F = 11008, V = 32000, MHA (q_dim = kv_dim = 4096).
const P2 = 6_738_415_616
// Llama-3-8B: P = 8,030,261,248, h = 4096, L = 32, F = 14336, V = 128256, 8 KV heads.
const P3 = 8_030_261_248
const s = 2048

describe('Llama-2-7B full fine-tuning, bf16 autocast, 1 GPU, s=2048, b=1, checkpointing on (memory-model §10, S1)', () => {
  const e = estimate('model: meta-llama/Llama-2-7b-hf\nmethod: full\nprecision: bf16\nseq_len: 2048\ngradient_checkpointing: true\nattention: sdpa\n')
  // HF AMP: fp32 weights (4P) plus autocast's bf16 copies (2P), fp32 grads (4P), AdamW m and v (8P): 18 B/param.
  it('weights, gradients, optimizer: 6P, 4P, 8P', () => {
    expect(e.perGpu.breakdown.weights).toBe(6 * P2)
    expect(e.perGpu.breakdown.gradients).toBe(4 * P2)
    expect(e.perGpu.breakdown.optimizerStates).toBe(8 * P2)
  })
  it('activations: the backward of the last layer, recomputed, after every gradient exists', () => {
    // One recomputed layer, SDPA, fp32 residual stream (the weights are fp32), bytes per token:
    // norms 2·(4h fp32 input + 4 rstd + 4h fp32 normalized copy), q/k/v input 2h, Q + repeated K,V + O 2·4·h,
    // o_proj contiguous copy 2h, lse 4·32, MLP input 2h + gate/SiLU/up outputs 2·3F + down input 2F.
    const layer = 2 * (4 * 4096 + 4 + 4 * 4096) + 2 * 4096 + 8 * 4096 + 2 * 4096 + 128 + 2 * 4096 + 6 * 11008 + 2 * 11008
    const transient = 6 * 11008 // the MLP's input gradients while the layer runs backward
    expect(phase(e, 'backward').terms.activations).toBe((layer + transient) * s)
    expect(e.peakPhase).toBe('backward')
    expect(e.perGpu.peakAllocatedBytes).toBe(18 * P2 + (layer + transient) * s)
  })
  it('logits: 10 bytes per logit element at the end of forward (memory-model §5.5); gone when the backward peaks', () => {
    // The loss backward (12 B per logit) comes before the gradients exist, so for full fine-tuning the backward
    // phase peaks later, at the last layer, where the logits are freed.
    expect(e.phases.map((p) => p.terms.logits)).toEqual([10 * s * 32000, 0, 0])
  })
  it('reserved = allocated + 0.75 GB + 0.85 × the fp32 logits block (2048 × 32000 × 4 B) + 4% of allocated; total = reserved + 0.81 GB context (no NCCL on 1 GPU)', () => {
    const alloc = e.perGpu.peakAllocatedBytes
    expect(e.perGpu.peakReservedBytes).toBe(alloc + Math.round(0.75e9 + 0.85 * 2048 * 32000 * 4 + 0.04 * alloc))
    expect(e.perGpu.totalBytes).toBe(e.perGpu.peakReservedBytes + 0.81e9)
  })
  it('lands at or above the LLaMA-Factory table (18x GB for full bf16) and near memory-model S1 (123.9 GB)', () => {
    expect(e.perGpu.totalBytes / 1e9).toBeGreaterThanOrEqual(18 * 6.738)
    expect(e.perGpu.peakAllocatedBytes / 1e9).toBeCloseTo(121.86, 1)
  })
})

describe('Llama-3-8B QLoRA r16 on all linears, LLaMA-Factory defaults, s=2048, b=1, checkpointing on (S7)', () => {
  const e = estimate('model: meta-llama/Meta-Llama-3-8B\nmethod: qlora\nlora: { rank: 16, dropout: 0 }\nprecision: bf16\nseq_len: 2048\ngradient_checkpointing: true\nattention: sdpa\n')
  const T = 41_943_040 // LoRA r16, all 7 projections (memory-model §1.4)
  const linear = 6_979_321_856 // decoder Linear weights, NF4 (memory-model §6.2)
  it('weights: NF4 + double-quantization linears, bf16 embeddings, norms and lm_head, fp32 adapters and their autocast copies', () => {
    expect(e.perGpu.breakdown.weights).toBe(linear * NF4_DQ_BYTES_PER_PARAM + (P3 - linear) * 2 + 4 * T + 2 * T)
    expect(e.perGpu.breakdown.weights / 1e9).toBeCloseTo(5.70 + 0.25, 1) // §6.2: 5.70 GB, plus the adapters
  })
  it('gradients and AdamW state of the adapters only: 4T and 8T', () => {
    expect(phase(e, 'optimizer step').terms.gradients).toBe(4 * T)
    expect(e.perGpu.breakdown.optimizerStates).toBe(8 * T)
  })
  it('the peak is the loss backward: checkpoints L·2sbh + final norm + 12·s·V, not summed with a recomputed layer', () => {
    expect(e.peakPhase).toBe('backward')
    expect(e.perGpu.breakdown.logits).toBe(12 * s * 128256)
    expect(e.perGpu.breakdown.logits / 1e9).toBeCloseTo(3.152, 3)
    // 32 layer inputs in bf16, plus the frozen final norm's fp32 input (4h + 4 bytes per token).
    expect(e.perGpu.breakdown.activations).toBe(32 * 2 * 4096 * s + (4 * 4096 + 4) * s)
  })
})

describe('ZeRO model states per GPU match the code-read formulas (memory-model §3.5)', () => {
  const full = 'model: meta-llama/Llama-2-7b-hf\nmethod: full\nprecision: bf16\nseq_len: 2048\ngradient_checkpointing: true\n'
  it('ZeRO-2 over 8 GPUs at the optimizer step: 2P + 2P/8 + 4P/8 (fp32 grads) + 12P/8 = 2P + 18P/8 (DeepSpeed estimator)', () => {
    const e = estimate(full, { zeroStage: 2, gpus: 8 })
    const t = phase(e, 'optimizer step').terms
    expect(t.weights + t.gradients + t.optimizerStates).toBe(2 * P2 + 18 * (P2 / 8))
    expect(t.zeroBuffers).toBe(2 * 4096 * 4096) // HF auto reduce_bucket_size = h², bf16
  })
  it('ZeRO-3 over 8 GPUs: 20P/8 at the step (2 + 2 + 4 + 12), the code-read value', () => {
    const e = estimate(full, { zeroStage: 3, gpus: 8 })
    const t = phase(e, 'optimizer step').terms
    expect(t.weights + t.gradients + t.optimizerStates).toBe(20 * (P2 / 8))
    expect((t.weights + t.gradients + t.optimizerStates) / 1e9).toBeCloseTo(16.85, 2)
  })
  it('ZeRO paper sanity (§11 #1): ZeRO-3 model states of a 7.5B-parameter model over 64 GPUs are below 2.5 GB', () => {
    const e = estimate('model:\n  hidden_size: 4096\n  num_hidden_layers: 36\n  num_attention_heads: 32\n  intermediate_size: 11008\n  vocab_size: 32000\nmethod: full\n', { zeroStage: 3, gpus: 64 })
    const t = phase(e, 'optimizer step').terms
    expect(e.model.params / 1e9).toBeCloseTo(7.5, 1)
    expect((t.weights + t.gradients + t.optimizerStates) / 1e9).toBeLessThan(2.5) // paper 1.9 GB at 16 B/param; DeepSpeed keeps 20
  })
})

describe('activation terms', () => {
  const base = 'model: meta-llama/Meta-Llama-3-8B\nmethod: full\nprecision: pure_bf16\nseq_len: 2048\ngradient_checkpointing: false\n'
  it('flash vs SDPA for Llama-3-8B: 49h vs 54h bytes per token per layer, plus norms (memory-model §5.2)', () => {
    const flash = estimate(base + 'attention: flash\n')
    const sdpa = estimate(base + 'attention: sdpa\n')
    // SDPA repeats K and V to 32 heads (2·2·(4096 − 1024)) and copies O for o_proj (2·4096): 20,480 bytes more per token.
    const diff = phase(sdpa, 'forward').terms.activations - phase(flash, 'forward').terms.activations
    expect(diff).toBe(32 * (2 * 2 * (4096 - 1024) + 2 * 4096) * s)
  })
  it('eager adds 6·a·s² bytes per layer (fp32 softmax and its bf16 copy)', () => {
    const sdpa = estimate(base + 'attention: sdpa\n')
    const eager = estimate(base + 'attention: eager\n')
    const diff = phase(eager, 'forward').terms.activations - phase(sdpa, 'forward').terms.activations
    // eager saves no separate kernel output O (−2 q_dim) nor the lse (−4a), and adds 6·a·s per token.
    expect(diff).toBe(32 * (6 * 32 * s - 2 * 4096 - 4 * 32) * s)
  })
  it('lora_dropout > 0 makes LoRA activations larger, not smaller', () => {
    const lora = 'model: meta-llama/Llama-2-7b-hf\nmethod: lora\nprecision: pure_bf16\nseq_len: 2048\ngradient_checkpointing: false\n'
    const a0 = phase(estimate(lora + 'lora: { dropout: 0 }\n'), 'forward').terms.activations
    const a1 = phase(estimate(lora + 'lora: { dropout: 0.1 }\n'), 'forward').terms.activations
    expect(a1).toBeGreaterThan(a0)
  })
  it('freeze-tuning keeps activations only from the lowest trained layer up', () => {
    const f = 'model: meta-llama/Llama-2-7b-hf\nmethod: freeze\nprecision: pure_bf16\nseq_len: 2048\ngradient_checkpointing: false\n'
    const two = phase(estimate(f + 'freeze: { trainable_layers: 2 }\n'), 'forward').terms.activations
    const four = phase(estimate(f + 'freeze: { trainable_layers: 4 }\n'), 'forward').terms.activations
    const head = (4 * 4096 + 4) * s
    expect((four - head) / (two - head)).toBeCloseTo(2, 10)
  })
})

describe('logits by loss', () => {
  const y = 'model: meta-llama/Meta-Llama-3-8B\nmethod: lora\nprecision: pure_bf16\nseq_len: 4096\ngradient_checkpointing: true\n'
  it('standard 12, chunked 4 + 12/8, fused: no whole logits', () => {
    const sv = 4096 * 128256
    expect(estimate(y + 'loss: standard\n').perGpu.breakdown.logits).toBe(12 * sv)
    expect(phase(estimate(y + 'loss: chunked\n'), 'backward').terms.logits).toBe(5.5 * sv)
    expect(estimate(y + 'loss: fused\n').perGpu.breakdown.logits).toBeLessThan(sv)
  })
})

describe('offload and several GPUs', () => {
  const y = 'model: meta-llama/Llama-2-7b-hf\nmethod: full\nprecision: bf16\nseq_len: 2048\ngradient_checkpointing: true\n'
  it('ZeRO-3 optimizer+params offload on 1 GPU: nothing of the model states stays on the GPU; the CPU holds 16 B/param + one fp32 sub-group', () => {
    const e = estimate(y, { zeroStage: 3, offload: 'optimizer+params', gpus: 1 })
    expect(phase(e, 'optimizer step').terms.optimizerStates).toBe(0)
    expect(phase(e, 'forward').terms.weights).toBe(0)
    // fp32 master 4 + Adam 8 + the bf16 gradient partition 2 (stage3.py:742-746, in the model's dtype) + bf16
    // params 2, and one sub-group's fp32 gradients at the step: 4 × min(P, sub_group_size 1e9)
    expect(e.perNode.cpuBytes).toBe(16 * P2 + 4 * Math.min(P2, 1e9))
  })
  it('under offload every optimizer but Lion steps as DeepSpeed\'s CPU Adam: 8-bit AdamW, Adafactor and SGD budget its fp32 state', () => {
    // ZeRO-2 optimizer offload over 8 GPUs of one node: each GPU's partition ceil(P/8) keeps fp32 master 4 + two
    // fp32 moments 8 + fp32 grads 4 = 16 B per parameter in host RAM (engine.py _configure_basic_optimizer builds
    // DeepSpeedCPUAdam; accelerate swaps an HF optimizer for it), whatever the spec named.
    const host = 8 * Math.ceil(P2 / 8) * 16
    for (const optimizer of ['adamw', 'adamw_8bit', 'adafactor', 'sgd']) {
      const e = estimate(`${y}optimizer: ${optimizer}\n`, { zeroStage: 2, offload: 'optimizer', gpus: 8 })
      expect(e.perNode.cpuBytes, optimizer).toBe(host)
    }
    // DeepSpeedCPULion keeps one moment: 4 + 4 + 4 = 12 B
    expect(estimate(`${y}optimizer: lion\n`, { zeroStage: 2, offload: 'optimizer', gpus: 8 }).perNode.cpuBytes).toBe(8 * Math.ceil(P2 / 8) * 12)
    // without offload the 8-bit state stays 8-bit on the GPU
    const gpu8 = estimate(`${y}optimizer: adamw_8bit\n`, { zeroStage: 2, gpus: 8 })
    const gpu32 = estimate(`${y}optimizer: adamw\n`, { zeroStage: 2, gpus: 8 })
    expect(phase(gpu8, 'optimizer step').terms.optimizerStates).toBeLessThan(phase(gpu32, 'optimizer step').terms.optimizerStates)
    expect(estimate(`${y}optimizer: adamw_8bit\n`, { zeroStage: 2, offload: 'optimizer', gpus: 8 }).assumptions).toContain("optimizer adamw_8bit runs as DeepSpeed's CPU Adam under offload (fp32 state): estimated as adamw")
  })
  it('NVMe at ZeRO-2 is CPU offload (stage_1_and_2.py:186): host RAM, no NVMe', () => {
    const e = estimate(`${y}deepspeed: { offload_device: nvme }\n`, { zeroStage: 2, offload: 'optimizer', gpus: 8 })
    expect(e.perNode.nvmeBytes).toBe(0)
    expect(e.perNode.cpuBytes).toBe(8 * Math.ceil(P2 / 8) * 16)
  })
  it('ZeRO-2 CPU offload stages each gradient through a GPU buffer of the largest trained tensor (stage_1_and_2.py:558-567, 591-593)', () => {
    // Llama-2-7B full: the embedding, 32000 × 4096 = 131,072,000 elements, at 2 B; beside the reduce bucket h² × 2 B
    // (HF "auto", overlap_comm off at stage 2)
    const bucket = 4096 * 4096 * 2
    expect(phase(estimate(y, { zeroStage: 2, offload: 'optimizer', gpus: 8 }), 'forward').terms.zeroBuffers).toBe(bucket + 32000 * 4096 * 2)
    expect(phase(estimate(y, { zeroStage: 2, gpus: 8 }), 'forward').terms.zeroBuffers).toBe(bucket)
    // LoRA r16 on q_proj and v_proj: the largest adapter matrix is 16 × 4096 (q_proj's A or B)
    const lora = y.replace('method: full', 'method: lora\nlora: { rank: 16, targets: [q_proj, v_proj] }')
    expect(phase(estimate(lora, { zeroStage: 2, offload: 'optimizer', gpus: 8 }), 'forward').terms.zeroBuffers).toBe(bucket + 16 * 4096 * 2)
  })
  it('NCCL joins the CUDA context on more than one GPU', () => {
    expect(estimate(y, { zeroStage: 2, gpus: 8 }).perGpu.breakdown.cudaContext).toBe(0.81e9 + Math.round(1.5 * 2 ** 30))
  })
})

describe("LLaMA-Factory's hardware table (memory-model §6.3, §11 #16): ftplan lands at or above it", () => {
  // The table's per-billion rule (18x full bf16, 8x pure_bf16, 2x LoRA, x QLoRA-8, x/2 QLoRA-4 GB) counts
  // weights and optimizer state with small activations; ftplan adds activations, logits and overheads on top.
  const x = P2 / 1e9
  it.each([
    ['full, bf16', 'method: full\nprecision: bf16', 18 * x],
    ['full, pure_bf16', 'method: full\nprecision: pure_bf16', 8 * x],
    ['LoRA', 'method: lora\nprecision: bf16', 2 * x],
    ['QLoRA 8-bit', 'method: qlora\nquantization: 8bit\nprecision: bf16', x],
    ['QLoRA 4-bit', 'method: qlora\nquantization: 4bit\nprecision: bf16', x / 2],
  ])('Llama-2-7B %s ≥ %s GB', (_name, yaml, floorGb) => {
    const e = estimate(`model: meta-llama/Llama-2-7b-hf\n${yaml}\nseq_len: 512\ngradient_checkpointing: true\n`)
    expect(e.perGpu.totalBytes / 1e9).toBeGreaterThanOrEqual(floorGb)
  })
})
