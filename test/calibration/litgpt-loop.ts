import type { TrainingLoop } from '../../src/memory/estimate.js'
import type { LogitsBytes } from '../../src/memory/logits.js'
import type { ModelFacts } from '../../src/memory/model-facts.js'
import type { Regime } from '../../src/memory/regime.js'
import type { ModelArch } from '../../src/models/arch.js'
import type { FinetuneSpec } from '../../src/spec/spec.js'

// LitGPT's finetune loop, which the published LitGPT measurements ran: ftplan never launches it, so it lives beside the
// calibration that needs it, and estimateMemory takes it as a TrainingLoop.

/** Tokens per lm_head chunk in LitGPT's finetune loop: `model(input_ids, lm_head_chunk_size=128)`. */
export const LITGPT_HEAD_CHUNK = 128

export interface LitgptLoopBytes {
  /** Parameters of lm_head that Lightning's bitsandbytes plugin quantizes too (transformers keeps them 16-bit). */
  quantizedHeadParams: number
  /** The previous step's saved tensors still alive while the next forward runs. */
  forwardCarry: number
  logits: LogitsBytes
}

/**
 * What LitGPT's finetune loop (litgpt/finetune/lora.py and full.py, 2024: fit() and chunked_cross_entropy)
 * keeps beyond a HF Trainer step:
 * - fit() rebinds `logits` only once model() returns, so the previous step's logits (128-token chunks in the
 *   activation dtype) live through the next forward, and with them the previous autograd graph. Backward
 *   frees what nodes saved with save_for_backward, but bitsandbytes' MatMul4Bit keeps its input as a ctx
 *   attribute (`ctx.tensors = (A, B)`), freed only with the graph: under QLoRA the previous step's input of
 *   every quantized Linear is still alive.
 * - Lightning's BitsandbytesPrecision swaps every torch.nn.Linear, lm_head included, for a 4-bit one, and
 *   quantizes each weight after `.to(dtype=torch.half)` (lightning/fabric/plugins/precision/bitsandbytes.py,
 *   _Linear4bit.quantize, following bitsandbytes 0.41's Params4bit.cuda). Each chunk's forward and backward
 *   dequantizes the whole V×h head to fp16 and copies it to bf16: two head-sized temporaries.
 * - chunked_cross_entropy calls F.cross_entropy on each 16-bit chunk: the saved log-softmax has the logits'
 *   dtype and there is no fp32 copy. The logits list stays referenced through backward.
 */
export function litgptLoopBytes(spec: FinetuneSpec, arch: ModelArch, facts: ModelFacts, microBatch: number, regime: Regime): LitgptLoopBytes {
  const tokens = microBatch * spec.seqLenTokens
  const V = arch.vocabSize
  const a = regime.actBytes
  const elements = tokens * V
  const quantized = spec.quantization !== 'none'
  // LitGPT's GPT always has its own lm_head Linear (a tied checkpoint is copied into it on conversion).
  const headParams = V * arch.hiddenSize
  // Lightning quantizes from torch.half, so QuantState.dtype is fp16: MatMul4Bit's
  // dequantize_4bit(B).to(A.dtype) makes an fp16 head and then its copy in the activation dtype.
  const dequantized = quantized ? headParams * (2 + (spec.precision === 'fp16' ? 0 : a)) : 0
  const chunk = microBatch * Math.min(LITGPT_HEAD_CHUNK, spec.seqLenTokens) * V
  const carriedInputs = quantized ? quantizedInputElementsPerToken(arch, facts) * tokens * a : 0
  // This step's lm_head input (the final norm's output), which the 4-bit head keeps for its chunks' backward.
  const headInput = quantized ? arch.hiddenSize * tokens * a : 0
  return {
    quantizedHeadParams: quantized ? headParams : 0,
    forwardCarry: carriedInputs,
    logits: {
      // The previous step's logits and this step's, the head's dequantized copies, its kept input.
      forwardPeak: 2 * a * elements + dequantized + headInput,
      // Logits and every chunk's log-softmax, one chunk's two gradients, the dequantized head, its input.
      backwardPeak: 2 * a * elements + 2 * a * chunk + dequantized + headInput,
      // LitGPT's chunks: one chunk's log-softmax gradient is the largest block the loss frees.
      largestBlock: a * chunk,
      detail: `LitGPT chunked cross-entropy in ${a === 2 ? '16-bit' : 'fp32'}: ${2 * a} B per logit, previous step's logits alive through forward${quantized ? ', 4-bit lm_head dequantized per chunk (fp16, then a copy)' : ''}`,
    },
  }
}

/**
 * Elements per token of the distinct inputs of the quantized Linears, which MatMul4Bit keeps: per backward
 * layer the attention input, o_proj's input, the MLP input (shared by gate and up) and down_proj's input;
 * for a routed MoE layer the k gathered copies; plus lm_head's input.
 */
function quantizedInputElementsPerToken(arch: ModelArch, facts: ModelFacts): number {
  const h = arch.hiddenSize
  const oIn = arch.mla ? arch.numHeads * arch.mla.vHeadDim : arch.numHeads * arch.headDim
  let perLayerSum = 0
  for (let i = arch.numLayers - facts.backwardLayers; i < arch.numLayers; i++) {
    const moe = arch.moe?.layers[i] ? arch.moe : null
    const mlp = moe
      ? moe.expertsPerToken * (h + moe.expertIntermediateSize) + (moe.sharedIntermediateSize > 0 ? h + moe.sharedIntermediateSize : 0)
      : h + arch.intermediateSize
    perLayerSum += h + oIn + mlp
  }
  return perLayerSum + h
}

/** LitGPT 2024 pins bitsandbytes 0.42.0 ("LitGPT only supports bitsandbytes v0.42.0", finetune/lora.py), whose 4-bit Linears keep their inputs. */
export const LITGPT_LOOP: TrainingLoop = { nf4KeepsInputs: true, extras: litgptLoopBytes }
