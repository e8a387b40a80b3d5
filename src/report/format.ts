/** Parameter counts as people say them: 6.74B, 135M, 41.9M. Three significant digits. */
export function formatCount(n: number): string {
  // The largest unit whose 3-digit rounding is at least 1: 999.95M rounds to 1.00B, never to "1.00e+3M".
  let out = String(n)
  for (const [size, suffix] of [[1e3, 'K'], [1e6, 'M'], [1e9, 'B'], [1e12, 'T']] as const) {
    const digits = (n / size).toPrecision(3)
    if (Number(digits) >= 1) out = `${digits}${suffix}`
  }
  return out
}

/** 1,234,567. By hand for integers: the first toLocaleString loads ICU data, 5 ms of every CLI run. */
export function formatInt(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US')
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** A plain text table: left-aligned text, right-aligned numbers, two spaces between columns. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

/** A catalog's date as a clause: a user's catalog has no date, and says so rather than "as of as given by the user". */
export function pricesAsOf(asOf: string): string {
  return /^\d{4}-\d{2}-\d{2}/.test(asOf) ? `prices as of ${asOf}` : `prices ${asOf}`
}
