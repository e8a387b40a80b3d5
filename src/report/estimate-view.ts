import { gpuVisibleBytes, NVIDIA_SMI_TOTAL_MIB } from '../instances/visible-memory.js'
import type { MemoryEstimate, Term, TimeSection } from '../memory/estimate.js'
import type { Strategy } from '../memory/strategy.js'
import type { LoadedSpec } from '../spec/load.js'
import { formatCount, formatInt } from './format.js'
import { band } from '../planner/time-band.js'

const LABELS: Record<Term, string> = {
  weights: 'weights', gradients: 'gradients', optimizerStates: 'optimizer states', activations: 'activations',
  logits: 'logits and loss', zeroBuffers: 'ZeRO buffers', allocatorOverhead: 'allocator reserve', cudaContext: 'CUDA context',
}
const ORDER: Term[] = ['weights', 'gradients', 'optimizerStates', 'activations', 'logits', 'zeroBuffers', 'allocatorOverhead', 'cudaContext']
const BAR = 24

export const gb = (bytes: number) => (bytes / 1e9).toFixed(2)
export const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2)

export interface FitRow {
  label: string
  /** What the GPU shows a process (visible-memory.ts), or the size given with --gpu-memory-gb. */
  shownBytes: number
  usableBytes: number
  fits: boolean
  spareBytes: number
}

/**
 * Whether the estimate's total fits each common training GPU, on the memory the card shows (nvidia-smi's total as
 * CUDA gives it to a process, visible-memory.ts), and each extra size given in GB, with `margin` kept free.
 */
export function fitRows(totalBytes: number, margin: number, extraSizesGb: readonly number[] = []): FitRow[] {
  const rows = [
    ...Object.entries(NVIDIA_SMI_TOTAL_MIB).filter(([gpu]) => gpu !== 'T4G').map(([gpu, m]) => ({ label: gpu, shownBytes: gpuVisibleBytes({ gpu, gpuMemoryMiB: m.mib }) })),
    ...extraSizesGb.map((g) => ({ label: `${g} GB`, shownBytes: g * 1e9 })),
  ].sort((a, b) => a.shownBytes - b.shownBytes)
  return rows.map(({ label, shownBytes }) => {
    const usableBytes = shownBytes * (1 - margin)
    return { label, shownBytes, usableBytes, fits: totalBytes <= usableBytes, spareBytes: usableBytes - totalBytes }
  })
}

export function describeRun(loaded: LoadedSpec, s: Strategy): string[] {
  const spec = loaded.spec
  const method = spec.method === 'lora' || spec.method === 'qlora' ? `${spec.method} r${spec.lora.rank}` : spec.method === 'freeze' ? `freeze (${spec.freeze.trainableLayers} layers train)` : 'full fine-tuning'
  const ds = s.zeroStage === 0 ? (s.deepspeedAtZero0 ? 'DeepSpeed ZeRO-0' : 'no DeepSpeed') : `DeepSpeed ZeRO-${s.zeroStage}${s.offload === 'none' ? '' : `, offload ${s.offload} to ${s.offloadDevice}`}`
  return [
    `${loaded.model.arch.name} · ${method} · ${formatInt(loaded.trainable.trainable)} trainable of ${formatInt(loaded.params.total)} (${formatCount(loaded.params.total)})`,
    `${s.gpus} GPU${s.gpus > 1 ? 's' : ''}, ${ds} · ${spec.precision} · ${spec.optimizer} · micro-batch ${s.microBatch} × ${spec.seqLenTokens} tokens · checkpointing ${s.gradientCheckpointing ? 'on' : 'off'} · attention ${spec.attention} · loss ${spec.loss}`,
  ]
}

/** The human view of `ftplan estimate`: an Infracost-style tree, bars, the fit table, CPU RAM, assumptions. */
export function renderEstimate(loaded: LoadedSpec, s: Strategy, e: MemoryEstimate, extraSizesGb: readonly number[] = [], time: TimeSection | null = null): string {
  const out = [...describeRun(loaded, s), '']
  const b = e.perGpu.breakdown
  const total = e.perGpu.totalBytes
  out.push(`Memory per GPU, peak in the ${e.peakPhase} phase`.padEnd(46) + 'GB'.padStart(9) + 'GiB'.padStart(9))
  ORDER.forEach((term, i) => {
    const filled = total > 0 ? Math.round((b[term] / total) * BAR) : 0
    const bar = '█'.repeat(filled) + '░'.repeat(BAR - filled)
    const branch = i === ORDER.length - 1 ? '└─' : '├─'
    out.push(`${branch} ${LABELS[term].padEnd(18)} ${bar} ${gb(b[term]).padStart(9)}${gib(b[term]).padStart(9)}   ${e.details[term]}`)
  })
  const line = (label: string, bytes: number) => `   ${label.padEnd(43)}${gb(bytes).padStart(9)}${gib(bytes).padStart(9)}`
  out.push(line('peak allocated (torch max_memory_allocated)', e.perGpu.peakAllocatedBytes))
  out.push(line('peak reserved (torch max_memory_reserved)', e.perGpu.peakReservedBytes))
  out.push(line('total on the GPU (nvidia-smi)', total), '')
  out.push(`Phases, allocated: ${e.phases.map((p) => `${p.phase} ${gb(p.allocatedBytes)} GB`).join(' · ')}`, '')
  if (time) {
    out.push(`Time on ${time.gpus} × ${time.gpu}${time.nodes > 1 ? ` over ${time.nodes} nodes` : ''}: ${time.stepSeconds.toFixed(2)} s per step, ${formatInt(Math.round(time.tokensPerSecond))} tokens/s (${formatInt(Math.round(time.tokensPerSecondPerGpu))} per GPU), MFU ${(time.mfu * 100).toFixed(1)}%${time.jobHours !== null ? `, job ${time.jobHours.toFixed(2)} hours (p10–p90 ${band(time.jobHours).map((h) => h.toFixed(2)).join('–')})` : ''}`, '')
  }
  const margin = loaded.spec.margin
  out.push(`Fits a GPU (the memory it shows a process, GB = 10^9 bytes; margin ${margin}: ${Math.round(margin * 100)}% kept free):`)
  for (const f of fitRows(total, margin, extraSizesGb)) {
    out.push(`  ${f.label.padEnd(10)} ${gb(f.shownBytes).padStart(7)} GB  ${f.fits ? 'yes' : 'no '}  ${f.fits ? `${gb(f.spareBytes)} GB to spare` : `needs ${gb(total)} GB, ${gb(f.usableBytes)} GB usable`}`)
  }
  out.push('')
  const cpu = e.perNode.cpuBytes
  out.push(`CPU RAM per node: ${cpu === 0 ? 'nothing offloaded' : `${gb(cpu)} GB (${gib(cpu)} GiB)`}${e.perNode.nvmeBytes > 0 ? `; NVMe per node: ${gb(e.perNode.nvmeBytes)} GB` : ''}`, '')
  out.push('Assumptions:', ...e.assumptions.map((a) => `  - ${a}`))
  return out.join('\n') + '\n'
}
