/** Parameter counts as people say them: 6.74B, 135M, 41.9M. Three significant digits. */
export function formatCount(n: number): string {
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']]
  for (const [size, suffix] of units) if (n >= size) return `${(n / size).toPrecision(3)}${suffix}`
  return String(n)
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
