import type { ModelArch } from '../models/arch.js'
import type { Loss } from '../spec/spec.js'
import type { Regime } from './regime.js'

export interface LogitsBytes {
  /** Peak at the end of the forward pass (logits, their fp32 copy, the saved log-softmax). */
  forwardPeak: number
  /** Peak while the loss runs backward, with the layers' activations still alive. */
  backwardPeak: number
  /** The largest single block the loss allocates and frees (what the caching allocator keeps cached after it). */
  largestBlock: number
  detail: string
}

/** Chunks torchtune's CEWithChunkedOutputLoss splits the output into (num_output_chunks default). */
export const LOSS_CHUNKS = 8

/**
 * Logits and cross-entropy per GPU, bytes per logit element (tokens × vocab), memory-model §5.5:
 * - standard (transformers ForCausalLMLoss: logits.float() then cross_entropy): forward 2 (bf16 logits)
 *   + 4 (fp32 copy) + 4 (saved log-softmax) = 10; backward 12 (saved 4 + nll grad 4 + log-softmax grad 4),
 *   measured on CPU (memory-model Appendix A.2). Under fp32 the logits need no upcast copy.
 * - chunked (torchtune: 8 output chunks, each upcast and reduced alone): forward 2 (all bf16 chunks) + 4
 *   (log-softmax of every chunk) + 4/8 (one chunk's fp32 copy); backward 4 + 12/8 (one chunk's grads).
 * - fused (Liger FusedLinearCrossEntropy): logits exist one chunk of tokens at a time, chunk =
 *   next_pow2(tokens / ceil(V/h)) rows of bf16 logits and their fp32 gradients; the input gradient
 *   (tokens × h) is computed in forward and kept for backward.
 */
export function logitsBytes(arch: ModelArch, loss: Loss, tokens: number, regime: Regime): LogitsBytes {
  const V = arch.vocabSize
  const elements = tokens * V
  const a = regime.actBytes
  switch (loss) {
    case 'standard': {
      const forward = a + (a === 2 ? 4 : 0) + 4
      return { forwardPeak: forward * elements, backwardPeak: 12 * elements, largestBlock: 4 * elements, detail: `standard cross-entropy: ${forward} B forward, 12 B backward per logit (${tokens} tokens × ${V} vocab)` }
    }
    case 'chunked': {
      const forward = a + 4 + 4 / LOSS_CHUNKS
      const backward = 4 + 12 / LOSS_CHUNKS
      return { forwardPeak: forward * elements, backwardPeak: backward * elements, largestBlock: (4 * elements) / LOSS_CHUNKS, detail: `chunked cross-entropy (${LOSS_CHUNKS} chunks): ${forward} B forward, ${backward} B backward per logit` }
    }
    case 'fused': {
      const chunk = nextPow2(Math.ceil(tokens / Math.ceil(V / arch.hiddenSize)))
      const chunkBytes = Math.min(chunk, tokens) * V * (a + 4)
      const inputGrad = tokens * arch.hiddenSize * a
      return { forwardPeak: chunkBytes + inputGrad, backwardPeak: inputGrad, largestBlock: chunkBytes, detail: `fused linear cross-entropy: ${Math.min(chunk, tokens)}-token chunks, logits never whole` }
    }
  }
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)))
}
