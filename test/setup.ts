import fc from 'fast-check'

// Property and fuzz tests run from a fixed seed so CI is repeatable; FC_SEED=<n> (or "random") explores others.
const seed = process.env['FC_SEED']
if (seed !== 'random') fc.configureGlobal({ seed: seed ? Number(seed) : 20_261_128 })

// No test reaches the Hugging Face Hub: a model outside the catalog is looked up only in a cache of the test's own
// (the Hub tests serve recorded config.json files from a local server and pass their own environment).
process.env['HF_HUB_OFFLINE'] = '1'
process.env['FTPLAN_CACHE_DIR'] = `${(await import('node:os')).tmpdir()}/ftplan-test-cache-${process.pid}`
