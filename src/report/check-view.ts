import type { CheckResult } from '../deepspeed/check.js'
import { formatIssue } from '../errors.js'
import { estimateJson } from '../memory/estimate.js'
import { gb } from './estimate-view.js'

/** `ftplan check`'s report: DeepSpeed's verdicts first, then the memory of the config when DeepSpeed would start it. */
export function renderCheck(file: string, where: string, r: CheckResult): string {
  const errors = r.findings.filter((f) => f.verdict === 'error')
  const warnings = r.findings.filter((f) => f.verdict === 'warning')
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  const out = [errors.length > 0
    ? `${file}: DeepSpeed would refuse it: ${count(errors.length, 'error')}${warnings.length ? `, ${count(warnings.length, 'warning')}` : ''}`
    : `${file}: DeepSpeed accepts it${warnings.length ? ` with ${count(warnings.length, 'warning')}` : ''}; checked for ${where}`]
  const sorted = [...r.findings].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))
  for (const f of sorted) out.push(`  ${f.verdict === 'error' ? 'error  ' : 'warning'} ${formatIssue(f)}  [DeepSpeed ${f.source}]`)
  const e = r.estimate
  const s = r.strategy
  if (e && s) {
    out.push(`  ZeRO-${s.zeroStage}, offload ${s.offload}${s.offload !== 'none' ? ` to ${s.offloadDevice}` : ''}, ${r.precision}, micro-batch ${s.microBatch} × accumulation ${s.accumulation}, checkpointing ${s.gradientCheckpointing ? 'on' : 'off'}, reduce_bucket_size ${s.zero.reduceBucketSize}`)
    out.push(`  memory per GPU: ${gb(e.perGpu.totalBytes)} GB total (peak in ${e.peakPhase}); CPU RAM per node ${gb(e.perNode.cpuBytes)} GB`)
    if (r.fits === true) out.push(`fits: ${gb(r.usableBytes! - e.perGpu.totalBytes)} GB to spare of ${gb(r.usableBytes!)} GB usable`)
    if (r.fits === null) out.push('fit not judged: give --plan, --gpu-memory-gb or --instance')
    if (r.overflow) {
      out.push(`does not fit: needs ${gb(e.perGpu.totalBytes)} GB per GPU, ${gb(r.usableBytes!)} GB usable, over by ${gb(r.overflow.overBytes)} GB`)
      out.push(`  largest terms: ${r.overflow.largest.map((t) => `${t.term} ${gb(t.bytes)} GB`).join(', ')}`)
      out.push(r.overflow.fixes.length > 0 ? '  any one of these fits:' : '  no single change to the config fits; `ftplan plan` searches the hardware too', ...r.overflow.fixes.map((f) => `    - ${f}`))
    }
  }
  out.push(...r.notes.map((n) => `note: ${n}`))
  return out.join('\n') + '\n'
}

/** `ftplan check --json`: the verdicts, and the estimate contract of the config when DeepSpeed would start it. */
export function checkJson(file: string, r: CheckResult): Record<string, unknown> {
  const s = r.strategy
  return {
    version: 1, file, accepted: !r.findings.some((f) => f.verdict === 'error'),
    findings: r.findings.map((f) => ({ verdict: f.verdict, line: f.line ?? null, col: f.col ?? null, path: f.path, message: f.message, source: f.source, ...(f.allowed ? { allowed: f.allowed } : {}), ...(f.didYouMean ? { didYouMean: f.didYouMean } : {}) })),
    strategy: s && { zeroStage: s.zeroStage, offload: s.offload, offloadDevice: s.offloadDevice, gradientCheckpointing: s.gradientCheckpointing, microBatch: s.microBatch, accumulation: s.accumulation, gpus: s.gpus, precision: r.precision },
    memory: r.estimate && estimateJson(r.estimate),
    usableBytesPerGpu: r.usableBytes === null ? null : Math.floor(r.usableBytes),
    fits: r.fits, notes: r.notes,
  }
}
