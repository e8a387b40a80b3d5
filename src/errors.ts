/** One problem in a user's input, located in its file. Positions are 1-based. */
export interface Issue {
  file: string
  line?: number
  col?: number
  /** Field path in the user's own terms, e.g. `batch.micro` or `lora_rank (→ lora.rank)`. */
  path: string
  message: string
  /** What the field accepts, e.g. `an integer 1..65536` or `full | lora | qlora | freeze`. */
  allowed?: string
  didYouMean?: string
}

/** A user's input was wrong; `issues` holds every problem found, not only the first. */
export class SpecError extends Error {
  readonly issues: readonly Issue[]

  constructor(issues: readonly Issue[]) {
    super(issues.map(formatIssue).join('\n'))
    // In file order, so the user fixes them top to bottom.
    this.issues = [...issues].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))
    this.name = 'SpecError'
  }
}

export function formatIssue(issue: Issue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.col ?? 1}`
  const parts = [`${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`]
  if (issue.allowed) parts.push(`allowed: ${issue.allowed}`)
  if (issue.didYouMean) parts.push(`did you mean ${issue.didYouMean}?`)
  return parts.join('; ')
}
