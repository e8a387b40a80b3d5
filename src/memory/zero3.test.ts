import { describe, expect, it } from 'vitest'
import { memorySources } from '../../test/helpers/memory-sources.js'
import { loadSpec } from '../spec/load.js'
import { estimateMemory, type MemoryEstimate } from './estimate.js'
import { strategyFromSpec, type StrategyOverrides } from './strategy.js'

// ZeRO-3 on Meta-Llama-3-70B, derived from DeepSpeed's source (deepspeedai/DeepSpeed@edaa7221) with HF's "auto" values
// (transformers integrations/deepspeed.py: reduce_bucket_size h², stage3_prefetch_bucket_size 0.9·h²,
// stage3_param_persistence_threshold 10·h) and DeepSpeed's defaults (stage3_max_live_parameters 1e9, sub_group_size 1e9).
// Meta-Llama-3-70B: P = 70,553,706,496; h = 8192; L = 80; V = 128256; no biases; two RMSNorms per layer and a final one.
const P = 70_553_706_496
const h = 8192
const EMBEDDING = 128256 * h // 1,050,673,152: the largest module (the input embedding, and lm_head of the same size)

const SPEC = 'model: meta-llama/Meta-Llama-3-70B\nmethod: full\nprecision: bf16\nseq_len: 2048\ngradient_checkpointing: true\n'
function estimate(o: StrategyOverrides): MemoryEstimate {
  const l = loadSpec(SPEC, 'spec.yaml', memorySources())
  return estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch, { zeroStage: 3, ...o }))
}
const phase = (e: MemoryEstimate, name: string) => e.phases.find((p) => p.phase === name)!

describe('ZeRO-3 gathered parameters on Meta-Llama-3-70B (partitioned_param_coordinator.py)', () => {
  it('the embedding is gathered whole although it is over stage3_max_live_parameters; the last modules stay gathered for their reuse', () => {
    expect(EMBEDDING).toBe(1_050_673_152)
    // fetch_sub_module gathers the running module's parameters unconditionally; prefetching may add
    // min(max_live − available, prefetch_bucket) = min(1e9 − 1,050,673,152, 60,397,977) < 0 → none (lines 452-454).
    const prefetched = Math.max(0, Math.min(Math.floor(0.9 * h * h), 1e9 - EMBEDDING))
    expect(prefetched).toBe(0)
    // __params_to_release keeps a parameter whose next use is within stage3_max_reuse_distance (1e9) parameters of
    // the trace (lines 653-659): where forward turns into backward, that is the last 1e9 / 2 parameters of forward.
    const retained = 5e8
    const live = EMBEDDING + Math.max(prefetched, retained)
    // bf16 gathered parameters, the module's bf16 gradients in backward, the persistent small tensors (161 norms of
    // 8192 < 10·h, parameters and gradients, 2 B each) and the contiguous-gradients bucket (stage3.py:731-735, h² × 2 B)
    const steady = (live + EMBEDDING) * 2 + 161 * h * 2 * 2 + h * h * 2
    expect(steady).toBe(5_342_185_984)
    for (const gpus of [16, 32]) expect(phase(estimate({ gpus, offload: 'none' }), 'forward').terms.zeroBuffers).toBe(steady)
    // with offload_param the partitions of what is gathered come to the GPU first, one copy each
    // (partition_parameters.py:1331-1333): ceil(live / N) × 2 B more
    for (const gpus of [16, 32]) expect(phase(estimate({ gpus, offload: 'optimizer+params' }), 'forward').terms.zeroBuffers).toBe(steady + Math.ceil(live / gpus) * 2)
  })
})

describe('ZeRO-3 gradient partition on Meta-Llama-3-70B over 16 and 32 GPUs (stage3.py:742-744)', () => {
  it.each([[16, 4_409_606_656], [32, 2_204_803_328]])('%i GPUs: the bf16 partition buffer (%i parameters) exists from the start, the forward included', (gpus, partition) => {
    expect(Math.ceil(P / gpus)).toBe(partition)
    const e = estimate({ gpus, offload: 'none' })
    expect(phase(e, 'forward').terms.gradients).toBe(partition * 2)
    // at the step DeepSpeed makes the fp32 gradients of one sub-group: 4 B × min(partition, sub_group_size 1e9)
    expect(phase(e, 'optimizer step').terms.gradients).toBe(partition * 2 + 4 * 1e9)
  })
})

describe('ZeRO-3 optimizer offload on Meta-Llama-3-70B: host RAM per 8-GPU node', () => {
  it.each([[16, 4_409_606_656], [32, 2_204_803_328]])('%i GPUs: 8 × (fp32 master 4 + Adam 8 + bf16 gradient partition 2) B per parameter + one fp32 sub-group', (gpus, partition) => {
    // 8 GPUs per node (strategyFromSpec: min(gpus, 8)). stage3.py:742-746: the gradient partition lives on the CPU (pinned) in the model's dtype (engine.py:1492);
    // the CPU optimizer keeps fp32 master weights and both Adam moments of the partition; the step converts one
    // sub-group of gradients to fp32.
    const perGpu = partition * (4 + 8 + 2) + 4 * 1e9
    const e = estimate({ gpus, offload: 'optimizer' })
    expect(e.perNode.cpuBytes).toBe(8 * perGpu)
    // nothing of the optimizer or its gradients stays on the GPU
    expect(phase(e, 'optimizer step').terms.optimizerStates).toBe(0)
    expect(phase(e, 'forward').terms.gradients).toBe(0)
    // parameter offload adds the bf16 parameter partition to the host and takes it off the GPU
    const both = estimate({ gpus, offload: 'optimizer+params' })
    expect(both.perNode.cpuBytes).toBe(8 * (perGpu + Math.ceil((P * 2) / gpus)))
    expect(phase(both, 'forward').terms.weights).toBe(0)
  })
})

describe('a mixture of experts under ZeRO-3: one layer\'s experts are one module', () => {
  it('Qwen3-30B-A3B: 128 experts × (gate_up 2 × 768 × 2048 + down 768 × 2048) = 603,979,776 parameters gathered together', async () => {
    // transformers ≥ 5 holds a layer's experts as fused 3-D parameters of one module (Qwen3MoeExperts), and DeepSpeed
    // gathers a module's parameters together; the embedding (151936 × 2048 = 311,164,928) is smaller.
    const { modelFacts } = await import('./model-facts.js')
    const l = loadSpec('model: Qwen/Qwen3-30B-A3B\nmethod: full\n', 'spec.yaml', memorySources())
    expect(modelFacts(l.spec, l.model.arch, 0).largestModuleParams).toBe(128 * 3 * 768 * 2048)
  })
})

describe('a 4-bit base under ZeRO-3 is whole on every GPU while it loads (transformers get_init_context, bnb update_device_map)', () => {
  // Meta-Llama-3-70B per layer: q and o 8192², k and v 8192 × 1024, gate, up and down 8192 × 28672.
  const perLayer = 2 * h * h + 2 * h * 1024 + 3 * h * 28672
  const quantized = 80 * perLayer
  const sixteenBit = 2 * EMBEDDING + 161 * h // embedding, lm_head and the norms stay bf16 (get_keys_to_not_convert)
  const adapters = 80 * 8 * (h + h + h + 1024) // LoRA r8 on q_proj and v_proj: A (h × r) and B (r × out)
  const QLORA = 'model: meta-llama/Meta-Llama-3-70B\nmethod: qlora\nquantization: 4bit\nprecision: bf16\nseq_len: 2048\ngradient_checkpointing: true\nlora: { rank: 8, alpha: 16, targets: [q_proj, v_proj] }\n'
  const qlora = (o: StrategyOverrides) => {
    const l = loadSpec(QLORA, 'spec.yaml', memorySources())
    return estimateMemory(l.spec, l.model.arch, strategyFromSpec(l.spec, l.model.arch, { zeroStage: 3, ...o }))
  }

  it.each([16, 32])('%i GPUs with parameter offload: the load phase holds every weight, NF4 with double quantization at 0.5159 B', (gpus) => {
    expect(perLayer).toBe(855_638_016)
    expect(quantized + sixteenBit).toBe(P)
    // NF4: 4 bits, one 8-bit absmax per 64 weights, one fp32 absmax per 256 blocks (bitsandbytes quantize_4bit)
    const whole = Math.ceil(quantized * (0.5 + 1 / 64 + 4 / (64 * 256)) + sixteenBit * 2 + adapters * 2)
    expect(whole).toBe(39_549_878_272)
    const e = qlora({ gpus, offload: 'optimizer+params' })
    expect(phase(e, 'model load').allocatedBytes).toBe(whole)
    expect(e.peakPhase).toBe('model load')
    // partitioned and offloaded afterwards: no weights stay on the GPU in training
    expect(phase(e, 'forward').terms.weights).toBe(0)
    // the loading reserve is one 16-bit copy of the largest weight, the embedding, being placed
    expect(e.perGpu.peakReservedBytes).toBe(whole + EMBEDDING * 2)
    // the host keeps the partition at its stored width (4-bit packed), beside the adapters' optimizer state:
    // fp32 master and Adam 12 B, bf16 gradient partition 2 B and one fp32 sub-group of gradients 4 B per parameter
    const adapterPartition = Math.ceil(adapters / gpus)
    expect(e.perNode.cpuBytes).toBe(8 * (adapterPartition * (12 + 2 + 4) + Math.ceil(whole / gpus)))
  })

  it('no load phase without quantization (zero.Init shards while it builds) or below ZeRO-3 (the weights stay whole anyway)', () => {
    expect(estimate({ gpus: 16, offload: 'optimizer+params' }).phases.map((p) => p.phase)).toEqual(['forward', 'backward', 'optimizer step'])
    expect(qlora({ zeroStage: 2, gpus: 16, offload: 'optimizer' }).phases.map((p) => p.phase)).toEqual(['forward', 'backward', 'optimizer step'])
  })
})
