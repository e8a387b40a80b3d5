import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { armShutdown, BOOTSTRAP_SH, FTPLAN_TRAIN_SH, IDLE_STOP_SH, LIB_SH, SPOT_WATCH_SH, SYNC_SH } from './node-scripts.js'

// Every script the nodes run, as cloud-init writes it, checked by shellcheck (Debian's package; .ci/run installs it)
// and run against stub commands on PATH that log their arguments, in a sandbox the scripts' FTPLAN_* paths point to.

const SCRIPTS: Record<string, string> = {
  'lib.sh': LIB_SH, 'bootstrap.sh': BOOTSTRAP_SH, 'ftplan-train': FTPLAN_TRAIN_SH, 'spot-watch.sh': SPOT_WATCH_SH,
  'idle-stop.sh': IDLE_STOP_SH, 'sync.sh': SYNC_SH, 'arm-shutdown.sh': armShutdown(1440),
}

describe('shellcheck passes every node script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftplan-sc-'))
  for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(dir, name), text, { mode: 0o755 })
  it.each(Object.keys(SCRIPTS))('%s', (name) => {
    const r = spawnSync('shellcheck', ['-x', '-s', 'bash', '--severity=style', join(dir, name)], { encoding: 'utf8' })
    if (r.error) throw new Error('shellcheck is not installed: apt-get install shellcheck (Debian), as .ci/run does')
    expect(r.stdout + r.stderr).toBe('')
    expect(r.status).toBe(0)
  })
})

interface Sandbox {
  dir: string
  log: () => string[]
  env: Record<string, string>
  stub: (name: string, body: string) => void
  run: (script: string, args?: string[], extra?: Record<string, string>) => { code: number; out: string }
}

/**
 * A node in a folder: /etc/ftplan → conf, /var/lib/ftplan → state, the user's home, a Python environment. Stubs log
 * "name args…" to calls.log. curl answers as IMDSv2 does from files under imds/ (a path with no file is a 404).
 */
function sandbox(node: Record<string, string> = {}, cluster: Record<string, string> = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'ftplan-node-'))
  const [bin, conf, state, home, pyenv, imds] = ['bin', 'conf', 'state', 'home', 'pyenv', 'imds'].map((d) => join(dir, d))
  for (const d of [bin, conf, state, home, join(pyenv!, 'bin'), join(imds!, 'meta-data/tags/instance'), join(conf!, 'launch')]) mkdirSync(d!, { recursive: true })
  const calls = join(dir, 'calls.log')
  writeFileSync(calls, '')
  const stub = (name: string, body: string) => writeFileSync(join(bin!, name), `#!/bin/bash\necho "${name} $*" >> ${calls}\n${body}\n`, { mode: 0o755 })
  const envFile = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${v}\n`).join('')
  writeFileSync(join(conf!, 'cluster.env'), envFile({
    FTPLAN_REGION: 'us-east-1', FTPLAN_SUBNET: '10.42.1.0/24', FTPLAN_MARKET: 'on-demand', FTPLAN_OFFLINE: '0', FTPLAN_IDLE_MINUTES: '30',
    FTPLAN_BUS_GBPS: '450', FTPLAN_LAUNCHER: 'hf', FTPLAN_DEEPSPEED: '0.19.5', FTPLAN_LLAMAFACTORY: '1', FTPLAN_TORCH: '2.11', FTPLAN_PYENV: pyenv!, ...cluster,
  }))
  writeFileSync(join(conf!, 'node.env'), envFile({ NODE_RANK: '0', NNODES: '2', GPUS_PER_NODE: '8', MASTER_ADDR: '10.42.1.10', MASTER_PORT: '29500', ...node }))
  writeFileSync(join(conf!, 'requirements.txt'), 'deepspeed==0.19.5\n')
  writeFileSync(join(conf!, 'launch/launch.sh'), '#!/bin/bash\n', { mode: 0o755 })
  writeFileSync(join(conf!, 'launch/hostfile'), node['NNODES'] === '1' ? '' : '10.42.1.10 slots=8\n10.42.1.11 slots=8\n')
  writeFileSync(join(conf!, 'launch/.deepspeed_env'), 'FI_PROVIDER=efa\n')
  for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(conf!, name), text, { mode: 0o755 })
  // IMDSv2: PUT api/token, then GET with the token; files under imds/ are the answers
  stub('curl', `for a in "$@"; do case "$a" in http*) url=$a ;; esac; done; case "$url" in */api/token) echo TOKEN ;; https://github.com/*) [ -f "${dir}/lf.tar.gz" ] && cat "${dir}/lf.tar.gz" || exit 22 ;; *) f="${imds}/\${url#*/latest/}"; [ -f "$f" ] && cat "$f" || exit 22 ;; esac`)
  const tag = (k: string, v: string) => writeFileSync(join(imds!, 'meta-data/tags/instance', k), v)
  tag('ftplan:ssh-key', '/ftplan/dev/ssh/id_rsa')
  tag('ftplan:bucket', 'dev-checkpoints-1234')
  tag('ftplan:cluster', 'dev')
  writeFileSync(join(imds!, 'meta-data/instance-id'), 'i-0aaa')
  stub('aws', `case "$1 $2" in "ssm get-parameter") echo "-----BEGIN OPENSSH PRIVATE KEY-----" ;; "ec2 describe-instances") echo "i-0aaa	i-0bbb" ;; esac`)
  stub('ssh-keygen', 'echo "ssh-rsa AAAA ftplan"')
  // install and chown need the ubuntu user and root; the stubs do the copy without the ownership
  stub('install', 'args=(); while [ $# -gt 0 ]; do case "$1" in -m|-o|-g) shift 2 ;; -d) dirs=1; shift ;; *) args+=("$1"); shift ;; esac; done\nif [ -n "${dirs:-}" ]; then mkdir -p "${args[@]}"; else cp "${args[0]}" "${args[1]}"; fi')
  for (const name of ['chown', 'systemctl', 'apt-get', 'shutdown', 'sleep']) stub(name, '')
  stub('pip', '')
  writeFileSync(join(pyenv!, 'bin/pip'), `#!/bin/bash\necho "pip $*" >> ${calls}\n`, { mode: 0o755 })
  writeFileSync(join(pyenv!, 'bin/python'), `#!/bin/bash\necho "python $*" >> ${calls}\ncat > /dev/null\n`, { mode: 0o755 })
  const env: Record<string, string> = {
    PATH: `${bin}:/usr/bin:/bin`, HOME: home!, FTPLAN_CONF: conf!, FTPLAN_STATE: state!, FTPLAN_HOME: home!, FTPLAN_USER: 'ubuntu', FTPLAN_IMDS: 'http://imds/latest',
    FTPLAN_LOG: join(dir, 'bootstrap.log'), FTPLAN_SSH_CONFIG: join(dir, 'ssh_config'), FTPLAN_PROFILE: join(dir, 'profile.sh'), FTPLAN_NVME: join(dir, 'no-nvme'),
    FTPLAN_RETRY_SECONDS: '0', FTPLAN_TICK: '0',
  }
  return {
    dir, env, stub,
    log: () => readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean),
    run: (script, args = [], extra = {}) => {
      const r = spawnSync('bash', [join(conf!, script), ...args], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 20_000 })
      return { code: r.status ?? -1, out: r.stdout + r.stderr }
    },
  }
}

describe('arm-shutdown.sh', () => {
  it('schedules the shutdown after the node\'s ftplan:max-minutes tag', () => {
    const s = sandbox()
    writeFileSync(join(s.dir, 'imds/meta-data/tags/instance/ftplan:max-minutes'), '90')
    const r = s.run('arm-shutdown.sh')
    expect(r.code).toBe(0)
    expect(s.log()).toContain('shutdown -h +90 ftplan: max_hours reached, this node shuts down and terminates')
    expect(r.out).toContain('in 90 minutes')
  })
  it('a reboot does not restart the clock: the first boot\'s time is kept, and a changed tag counts from it', () => {
    const s = sandbox()
    writeFileSync(join(s.dir, 'imds/meta-data/tags/instance/ftplan:max-minutes'), '90')
    // first boot 30 minutes ago
    writeFileSync(join(s.dir, 'state/first-boot'), String(Math.floor(Date.now() / 1000) - 30 * 60))
    expect(s.run('arm-shutdown.sh').code).toBe(0)
    expect(s.log().filter((l) => l.startsWith('shutdown'))).toEqual(['shutdown -h +60 ftplan: max_hours reached, this node shuts down and terminates'])
    // past the limit: at once (one minute)
    writeFileSync(join(s.dir, 'state/first-boot'), String(Math.floor(Date.now() / 1000) - 120 * 60))
    s.run('arm-shutdown.sh')
    expect(s.log().filter((l) => l.startsWith('shutdown')).at(-1)).toBe('shutdown -h +1 ftplan: max_hours reached, this node shuts down and terminates')
  })

  it('without the tag, or with garbage in it, the default (a day)', () => {
    const s = sandbox()
    expect(s.run('arm-shutdown.sh').code).toBe(0)
    writeFileSync(join(s.dir, 'imds/meta-data/tags/instance/ftplan:max-minutes'), '12x')
    expect(s.run('arm-shutdown.sh').code).toBe(0)
    expect(s.log().filter((l) => l.startsWith('shutdown'))).toEqual(['shutdown -h +1440 ftplan: max_hours reached, this node shuts down and terminates', 'shutdown -h +1440 ftplan: max_hours reached, this node shuts down and terminates'])
  })
})

describe('bootstrap.sh', () => {
  it('installs pdsh and the pinned requirements, sets up SSH for the launcher, starts the watchers, and says ready', () => {
    const s = sandbox()
    const r = s.run('bootstrap.sh')
    expect(r.code, readFileSync(s.env['FTPLAN_LOG']!, 'utf8')).toBe(0)
    const log = s.log()
    expect(log).toContain('aws ssm get-parameter --region us-east-1 --with-decryption --name /ftplan/dev/ssh/id_rsa --query Parameter.Value --output text')
    expect(readFileSync(join(s.dir, 'home/.ssh/id_rsa'), 'utf8')).toBe('-----BEGIN OPENSSH PRIVATE KEY-----\n')
    expect(readFileSync(join(s.dir, 'home/.ssh/authorized_keys'), 'utf8')).toBe('ssh-rsa AAAA ftplan\n')
    expect(readFileSync(join(s.dir, 'home/.deepspeed_env'), 'utf8')).toBe('FI_PROVIDER=efa\n')
    expect(readFileSync(s.env['FTPLAN_SSH_CONFIG']!, 'utf8')).toBe('Host 10.42.1.*\n  StrictHostKeyChecking accept-new\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n')
    // pdsh from Ubuntu's archive (two nodes need it); the stack into the image's PyTorch environment
    expect(log).toContain('apt-get install -y -q pdsh')
    expect(log).toContain(`pip install -q -r ${join(s.dir, 'conf/requirements.txt')}`)
    expect(log).toContain('python - 8 0.19.5 1')
    expect(log).toContain('systemctl enable --now ftplan-sync.timer ftplan-final-sync.service')
    expect(log).toContain('systemctl enable --now ftplan-idle-stop.service')
    expect(log.some((l) => l.includes('ftplan-spot-watch'))).toBe(false)
    expect(log).toContain('aws ec2 create-tags --region us-east-1 --resources i-0aaa --tags Key=ftplan:bootstrap,Value=ready')
    expect(existsSync(join(s.dir, 'state/bootstrap.done'))).toBe(true)
    // the job folder: the launch files on the root volume (no instance-store NVMe here)
    expect(existsSync(join(s.dir, 'home/ftplan/launch/launch.sh'))).toBe(true)
    expect(readFileSync(s.env['FTPLAN_PROFILE']!, 'utf8')).toBe(`export PATH=${join(s.dir, 'pyenv')}/bin:$PATH\nexport FTPLAN_WORK=${join(s.dir, 'home/ftplan')}\n`)
  })

  it('fetches LLaMA-Factory\'s data/ folder at the pinned ref, so YAMLs naming its bundled datasets find them; a failed fetch only warns', () => {
    const s = sandbox({}, { FTPLAN_LF_REF: 'ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30' })
    // a GitHub archive as it comes: one top folder named after the ref
    const src = join(s.dir, 'src/LLaMA-Factory-ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30/data')
    mkdirSync(src, { recursive: true })
    writeFileSync(join(src, 'dataset_info.json'), '{"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}}')
    execFileSync('tar', ['-czf', join(s.dir, 'lf.tar.gz'), '-C', join(s.dir, 'src'), 'LLaMA-Factory-ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30'])
    expect(s.run('bootstrap.sh').code).toBe(0)
    expect(s.log()).toContain('curl -fsSL https://github.com/hiyouga/LLaMA-Factory/archive/ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30.tar.gz')
    expect(readFileSync(join(s.dir, 'home/ftplan/data/dataset_info.json'), 'utf8')).toContain('alpaca_en_demo')
    const unreachable = sandbox({}, { FTPLAN_LF_REF: 'v0.9.4' })
    expect(unreachable.run('bootstrap.sh').code).toBe(0)
    expect(readFileSync(unreachable.env['FTPLAN_LOG']!, 'utf8')).toContain('WARNING: could not fetch LLaMA-Factory\'s data/ at v0.9.4')
  })

  it('a failing step stops it: bootstrap.failed names the step, the tag says failed:<step>, the exit code is not 0', () => {
    const s = sandbox()
    writeFileSync(join(s.dir, 'pyenv/bin/pip'), '#!/bin/bash\necho "ERROR: No matching distribution found for deepspeed==0.19.5" >&2\nexit 1\n', { mode: 0o755 })
    const r = s.run('bootstrap.sh')
    expect(r.code).toBe(1)
    expect(readFileSync(join(s.dir, 'state/bootstrap.failed'), 'utf8')).toBe(`bootstrap failed at step pip (exit 1); see ${s.env['FTPLAN_LOG']}\n`)
    expect(existsSync(join(s.dir, 'state/bootstrap.done'))).toBe(false)
    expect(s.log()).toContain('aws ec2 create-tags --region us-east-1 --resources i-0aaa --tags Key=ftplan:bootstrap,Value=failed:pip')
    const log = readFileSync(s.env['FTPLAN_LOG']!, 'utf8')
    expect(log).toContain('No matching distribution found for deepspeed==0.19.5')
    expect(log).toContain('ftplan: bootstrap FAILED at step pip (exit 1)')
    // nothing after the failing step ran
    expect(s.log().some((l) => l.startsWith('systemctl'))).toBe(false)
  })

  it('without its key parameter tag the SSH step fails after its retries, and says so', () => {
    const s = sandbox()
    execFileSync('rm', [join(s.dir, 'imds/meta-data/tags/instance/ftplan:ssh-key')])
    expect(s.run('bootstrap.sh').code).toBe(1)
    expect(readFileSync(join(s.dir, 'state/bootstrap.failed'), 'utf8')).toContain('at step ssh-key')
    expect(s.log().filter((l) => l.startsWith('aws ssm'))).toEqual([])
  })

  it('offline: installs nothing, and a missing pdsh on a multi-node cluster is an error that names the AMI', () => {
    const s = sandbox({}, { FTPLAN_OFFLINE: '1' })
    expect(s.run('bootstrap.sh').code).toBe(1)
    expect(readFileSync(s.env['FTPLAN_LOG']!, 'utf8')).toContain('pdsh is missing and the node is offline: bake pdsh into the AMI')
    expect(s.log().some((l) => l.startsWith('apt-get') || l.startsWith('pip'))).toBe(false)
    const one = sandbox({ NNODES: '1' }, { FTPLAN_OFFLINE: '1' })
    expect(one.run('bootstrap.sh').code).toBe(0)
    expect(one.log().some((l) => l.startsWith('apt-get') || l.startsWith('pip'))).toBe(false)
  })

  it('an image without the PyTorch environment gets one with pip\'s torch of the pinned minor version', () => {
    const pyenv = join(mkdtempSync(join(tmpdir(), 'ftplan-env-')), 'fresh-env')
    const s = sandbox({}, { FTPLAN_PYENV: pyenv })
    s.stub('python3', `mkdir -p "${pyenv}/bin"; printf '#!/bin/bash\\necho "pip $*" >> ${join(s.dir, 'calls.log')}\\n' > "${pyenv}/bin/pip"; cp "${join(s.dir, 'pyenv/bin/python')}" "${pyenv}/bin/python"; chmod +x "${pyenv}/bin/pip"`)
    expect(s.run('bootstrap.sh').code).toBe(0)
    expect(s.log()).toEqual(expect.arrayContaining([`python3 -m venv ${pyenv}`, 'pip install -q torch==2.11.*']))
  })

  it('spot nodes start the interruption watcher', () => {
    const s = sandbox({}, { FTPLAN_MARKET: 'spot' })
    expect(s.run('bootstrap.sh').code).toBe(0)
    expect(s.log()).toContain('systemctl enable --now ftplan-spot-watch.service')
  })
})

describe('ftplan-train', () => {
  const ready = (s: Sandbox) => writeFileSync(join(s.dir, 'state/bootstrap.done'), 'x')
  const withLaunch = (s: Sandbox) => {
    mkdirSync(join(s.dir, 'home/ftplan/launch'), { recursive: true })
    writeFileSync(join(s.dir, 'home/ftplan/launch/launch.sh'), `#!/bin/bash\necho "launch.sh $* in $PWD" >> ${join(s.dir, 'calls.log')}\n`, { mode: 0o755 })
  }
  /** Two ready nodes: pdsh runs its command here, deepspeed only logs. */
  const twoReady = () => {
    const s = sandbox()
    ready(s)
    withLaunch(s)
    s.stub('pdsh', 'bash -c "${@: -1}"')
    s.stub('deepspeed', '')
    return s
  }
  it('two nodes: every node ready (through pdsh), the all-reduce check against the planned bus bandwidth, then the launch', () => {
    const s = twoReady()
    const r = s.run('ftplan-train', ['hf'])
    expect(r.code, r.out).toBe(0)
    const log = s.log()
    expect(log[0]).toMatch(/^pdsh -R ssh -w 10\.42\.1\.10,10\.42\.1\.11 test -f .*bootstrap\.done/)
    expect(log).toContain(`deepspeed --hostfile ${join(s.dir, 'conf/launch/hostfile')} --num_nodes 2 --num_gpus 8 --master_addr 10.42.1.10 --master_port 29500 ${join(s.dir, 'conf/nccl_check.py')} 450`)
    expect(log.at(-1)).toBe(`launch.sh hf in ${join(s.dir, 'home/ftplan')}`)
    // the job has started: idle stop is armed
    expect(existsSync(join(s.dir, 'state/job.started'))).toBe(true)
  })

  it('LLaMA-Factory and torchrun run on every node, each with its own rank', () => {
    const s = twoReady()
    expect(s.run('ftplan-train', ['--skip-check', 'llamafactory']).code).toBe(0)
    const log = s.log()
    expect(log.some((l) => l.startsWith('deepspeed'))).toBe(false)
    const last = log.filter((l) => l.startsWith('pdsh')).at(-1)!
    expect(last).toContain(`. ${join(s.dir, 'conf')}/node.env`)
    expect(last).toContain('./launch/launch.sh llamafactory')
    expect(log.at(-1)).toBe(`launch.sh llamafactory in ${join(s.dir, 'home/ftplan')}`)
  })

  it('refuses to start while a node is not ready, and points at the bootstrap log', () => {
    const s = sandbox()
    s.stub('pdsh', 'bash -c "${@: -1}"')
    s.stub('deepspeed', '')
    const r = s.run('ftplan-train')
    expect(r.code).toBe(1)
    expect(r.out).toContain('bootstrap still running')
    expect(r.out).toContain('a node is not ready; its log is /var/log/ftplan-bootstrap.log')
    expect(s.log().some((l) => l.startsWith('deepspeed'))).toBe(false)
  })

  it('runs on node 0 only, and knows its launchers', () => {
    const s = sandbox({ NODE_RANK: '1' })
    expect(s.run('ftplan-train').out).toContain('run it on node 0 (10.42.1.10)')
    expect(sandbox().run('ftplan-train', ['slurm']).code).toBe(2)
  })

  it('one node: no pdsh, the check on the local GPUs', () => {
    const s = sandbox({ NNODES: '1' })
    ready(s)
    withLaunch(s)
    s.stub('deepspeed', '')
    expect(s.run('ftplan-train').code).toBe(0)
    expect(s.log()).toEqual([`deepspeed --num_gpus 8 ${join(s.dir, 'conf/nccl_check.py')} 450`, `launch.sh hf in ${join(s.dir, 'home/ftplan')}`])
  })
})

describe('the watchers', () => {
  it('spot: on the interruption notice, sync the checkpoints and terminate every node of the cluster', () => {
    const s = sandbox()
    mkdirSync(join(s.dir, 'imds/meta-data/spot'), { recursive: true })
    writeFileSync(join(s.dir, 'imds/meta-data/spot/instance-action'), '{"action": "terminate", "time": "2026-12-04T22:00:00Z"}')
    mkdirSync(join(s.dir, 'home/ftplan'), { recursive: true })
    expect(s.run('spot-watch.sh').code).toBe(0)
    expect(s.log().filter((l) => l.startsWith('aws'))).toEqual([
      `aws s3 sync ${join(s.dir, 'home/ftplan')} s3://dev-checkpoints-1234/node-0/ --region us-east-1 --only-show-errors --exclude launch/*`,
      'aws ec2 describe-instances --region us-east-1 --filters Name=tag:ftplan:cluster,Values=dev Name=instance-state-name,Values=pending,running,stopping,stopped --query Reservations[].Instances[].InstanceId --output text',
      'aws ec2 terminate-instances --region us-east-1 --instance-ids i-0aaa i-0bbb',
    ])
  })

  it('idle stop: after a job started, N idle minutes in a row (busy GPUs reset the count) → sync, then shutdown', () => {
    const s = sandbox({}, { FTPLAN_IDLE_MINUTES: '2' })
    writeFileSync(join(s.dir, 'state/job.started'), '')
    const n = join(s.dir, 'polls')
    // utilisation per GPU: busy at the first poll, idle after
    s.stub('nvidia-smi', `c=$(cat ${n} 2>/dev/null || echo 0); echo $((c + 1)) > ${n}; if [ "$c" = 0 ]; then printf '97\\n88\\n'; else printf '0\\n3\\n'; fi`)
    expect(s.run('idle-stop.sh').code).toBe(0)
    expect(readFileSync(n, 'utf8').trim()).toBe('3')
    const log = s.log().filter((l) => !l.startsWith('curl') && !l.startsWith('sleep') && !l.startsWith('nvidia-smi'))
    expect(log).toEqual(['shutdown -h now ftplan: GPUs idle after the job'])
  })

  it('idle stop off: 0 minutes', () => {
    const s = sandbox({}, { FTPLAN_IDLE_MINUTES: '0' })
    expect(s.run('idle-stop.sh').code).toBe(0)
    expect(s.log()).toEqual([])
  })
})

describe('the files cloud-init writes are executable where they must be', () => {
  it('scripts start with a bash shebang', () => {
    for (const [name, text] of Object.entries(SCRIPTS)) if (name !== 'lib.sh') expect(text.startsWith('#!/bin/bash\n'), name).toBe(true)
  })
})
