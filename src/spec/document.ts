import type { FinetuneSpec } from './spec.js'

/**
 * The spec in its own YAML format (snake_case keys, every field present): what `spec check` prints and
 * what `loadSpec` reads back to the same FinetuneSpec.
 */
export function specToDocument(spec: FinetuneSpec): Record<string, unknown> {
  const model = spec.model.kind === 'catalog' ? spec.model.id : spec.model.kind === 'config-file' ? spec.model.path : spec.model.config
  const t = spec.train
  const mfu = t?.mfu != null ? { mfu: t.mfu } : {}
  const train = t === null ? null
    : 'tokens' in t ? { tokens: t.tokens, epochs: t.epochs, ...mfu }
      : { samples: t.samples, avg_tokens: t.avgTokens, epochs: t.epochs, ...mfu }
  const c = spec.constraints
  return {
    model,
    method: spec.method,
    lora: { rank: spec.lora.rank, alpha: spec.lora.alpha, dropout: spec.lora.dropout, targets: spec.lora.targets, modules_to_save: spec.lora.modulesToSave },
    freeze: { trainable_layers: spec.freeze.trainableLayers },
    quantization: spec.quantization,
    precision: spec.precision,
    optimizer: {
      type: spec.optimizer, lr: spec.optim.lr, betas: [...spec.optim.betas], eps: spec.optim.eps, weight_decay: spec.optim.weightDecay,
      max_grad_norm: spec.optim.maxGradNorm,
    },
    scheduler: { type: spec.scheduler.type, warmup_ratio: spec.scheduler.warmupRatio, warmup_steps: spec.scheduler.warmupSteps },
    batch: { micro: spec.batch.micro, accumulation: spec.batch.accumulation, ...(spec.batch.global !== null ? { global: spec.batch.global } : {}) },
    seq_len: spec.seqLenTokens,
    gradient_checkpointing: spec.gradientCheckpointing,
    attention: spec.attention,
    loss: spec.loss,
    deepspeed: { zero: spec.deepspeed.zero, offload: spec.deepspeed.offload, offload_device: spec.deepspeed.offloadDevice, engine: spec.deepspeed.engine },
    gpus: spec.gpus,
    train,
    constraints: {
      provider: c.provider, regions: c.regions, spot: c.spot, max_nodes: c.maxNodes, gpus: c.gpus,
      max_hourly_usd: c.maxHourlyUsd, budget_usd: c.budgetUsd, min_compute_capability: c.minComputeCapability,
    },
    margin: spec.margin,
    software: { deepspeed: spec.software.deepspeed, llamafactory: spec.software.llamafactory ?? 'none', packages: [...spec.software.packages] },
  }
}
