/**
 * Numbers on the command line as a person writes them. JavaScript's Number() also reads hex (0x10), binary, octal,
 * padding and the empty string (0), so `--gpus 0x10` meant 16; counts take decimal digits only, and amounts a decimal
 * with an optional exponent (2e8 tokens). Anything else is NaN, which every caller refuses.
 */
export function decimalInteger(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Number.NaN
}

export function decimalNumber(value: string): number {
  return /^\d+(\.\d+)?([eE][+-]?\d+)?$|^\.\d+([eE][+-]?\d+)?$/.test(value) ? Number(value) : Number.NaN
}
