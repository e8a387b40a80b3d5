import type { Optimizer } from '../spec/spec.js'
import { BNB_8BIT_STATE_BYTES } from './constants.js'
import type { ModelFacts } from './model-facts.js'
import type { Regime } from './regime.js'
import type { Strategy } from './strategy.js'

export interface OptimizerBytes {
  /** Optimizer state and fp32 master weights on one GPU. */
  gpu: number
  /** Part of `gpu` in CUDA unified memory (paged optimizers): outside PyTorch's allocator counters. */
  paged: number
  /** Bytes of state per trainable parameter (master included), before sharding. */
  bytesPerParam: number
  detail: string
}

/**
 * State elements per trainable parameter: AdamW two moments; Lion and SGD (with momentum) one;
 * Adafactor a factored second moment, rows + columns per matrix (Shazeer & Stern 2018; HF Adafactor keeps
 * no first moment by default). bitsandbytes 8-bit optimizers store uint8 state with an fp32 absmax per
 * 256 elements, 32-bit state for tensors under 4096 elements (optim/optimizer.py). GaLoreAdamW, GaLoreAdamW8bit and
 * GaLoreAdafactor (galore_torch/adamw.py: torch.zeros_like(grad) after the projection) keep the same state on the
 * projected gradient, and the projection matrix in the parameter's dtype.
 */
export function optimizerStateBytes(optimizer: Optimizer, facts: ModelFacts, regime: Regime): { total: number; perParam: number; paged: boolean } {
  const T = facts.trainableParams
  const master = regime.masterBytes * T
  const s = regime.stateBytes
  // GaLore/APOLLO keep the state of projected weights on their projected gradient (projection.ts), plus the projection.
  const p = facts.projection
  const plain = T - (p?.weightElements ?? 0)
  const projected = p?.projectedElements ?? 0
  let state: number
  switch (optimizer) {
    case 'adamw':
    case 'paged_adamw':
      state = 2 * s * (plain + projected)
      break
    case 'adamw_8bit':
    case 'paged_adamw_8bit':
      state = 2 * BNB_8BIT_STATE_BYTES * (plain + projected - facts.small8bitElements) + 2 * 4 * facts.small8bitElements
      break
    case 'adafactor':
      state = s * (Math.min(facts.adafactorStateElements - (p?.weightRowsCols ?? 0), plain) + (p?.projectedRowsCols ?? 0))
      break
    case 'sgd':
    case 'lion':
      state = s * (plain + projected)
      break
  }
  // Adam-mini: the first moment whole, one second moment per block; Muon: one momentum for its 2-D weights, AdamW's two
  // for the rest (optimizer-variants.ts). Both replace the spec's optimizer, in the parameter's dtype.
  const v = facts.variant
  if (v) state = s * (v.kind === 'adam_mini' ? T + v.elements : v.elements + 2 * (T - v.elements))
  const total = master + state + (p ? regime.trainableWeightBytes * p.projectorElements : 0)
  return { total, perParam: T > 0 ? total / T : 0, paged: optimizer === 'paged_adamw' || optimizer === 'paged_adamw_8bit' }
}

/**
 * The optimizer that really steps. Under ZeRO offload it is DeepSpeed's CPU optimizer whatever the trainer
 * asked for: DeepSpeed builds DeepSpeedCPUAdam (fp32 moments, engine.py _configure_basic_optimizer) or
 * DeepSpeedCPULion from the config's optimizer block, and accelerate replaces any HF-built optimizer by
 * DeepSpeedCPUAdam when offload_optimizer is set (accelerator.py _prepare_deepspeed, unless
 * zero_force_ds_cpu_optimizer is false). So 8-bit, paged, Adafactor and SGD plans run as AdamW there.
 */
export function optimizerThatRuns(optimizer: Optimizer, s: Pick<Strategy, 'zeroStage' | 'offload'>): Optimizer {
  if (s.zeroStage === 0 || s.offload === 'none') return optimizer
  return optimizer === 'lion' ? 'lion' : 'adamw'
}

/** Optimizer state on one GPU: sharded 1/N under ZeRO 1–3, moved to the CPU or NVMe by optimizer offload. */
export function optimizerBytes(asked: Optimizer, facts: ModelFacts, regime: Regime, s: Strategy): OptimizerBytes {
  const optimizer = optimizerThatRuns(asked, s)
  const { total, perParam, paged } = optimizerStateBytes(optimizer, facts, regime)
  const shard = regime.deepspeed && s.zeroStage > 0 ? s.gpus : 1
  const offloaded = regime.deepspeed && s.offload !== 'none'
  const gpu = offloaded ? 0 : Math.ceil(total / shard)
  // Adam-mini and Muon replace the spec's optimizer: the line leads with the one that steps.
  const name = facts.variant
    ? (facts.variant.kind === 'adam_mini' ? 'Adam-mini (one second moment per head or row)' : 'Muon (one momentum for 2-D weights, AdamW for the rest)')
    : optimizer === asked ? optimizer : `${asked} runs as DeepSpeed's CPU ${optimizer === 'lion' ? 'Lion' : 'Adam'} under offload`
  const detail = [
    `${name}: ${perParam.toFixed(2)} B per trainable parameter${regime.masterBytes ? ' (incl. fp32 master)' : ''}`,
    facts.projection ? `state of ${facts.projection.describe} kept on the projected gradient` : '',
    shard > 1 ? `÷ ${shard} (ZeRO-${s.zeroStage})` : '',
    offloaded ? `offloaded to ${s.offloadDevice}` : '',
    paged && !offloaded ? 'paged (unified memory, outside max_allocated)' : '',
  ]
  return { gpu, paged: paged && !offloaded ? gpu : 0, bytesPerParam: perParam, detail: detail.filter(Boolean).join(', ') }
}
