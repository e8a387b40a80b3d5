import fc from 'fast-check'

// Property and fuzz tests run from a fixed seed so CI is repeatable; FC_SEED=<n> (or "random") explores others.
const seed = process.env['FC_SEED']
if (seed !== 'random') fc.configureGlobal({ seed: seed ? Number(seed) : 20_261_128 })
