// One process: read the 100,000-row catalog (big-catalog.js) and plan Llama-3.1-8B full at max_nodes 1024 on it.
// run.js starts it with a 1 GiB heap, so finishing is the memory target met.
import { fileSources } from '../dist/cli/sources.js'
import { loadCatalog } from '../dist/instances/load.js'
import { planFinetune } from '../dist/planner/plan.js'
import { loadSpec } from '../dist/spec/load.js'
import { bigCatalogCsv } from './big-catalog.js'

const wide = loadSpec('model: meta-llama/Llama-3.1-8B\nmethod: full\nseq_len: 2048\ntrain: { tokens: 1e9 }\nconstraints: { max_nodes: 1024 }\n', 'wide.yaml', fileSources(process.cwd()))
const catalog = loadCatalog(bigCatalogCsv(100_000), 'wide.csv')
const r = planFinetune({ spec: wide.spec, arch: wide.model.arch, catalog, batch: 'free' })
if (r.status !== 'fit') process.exit(2)
