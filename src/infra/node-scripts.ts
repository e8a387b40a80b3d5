// The scripts every node runs, as fixed text: nothing from a spec is in them. What differs per cluster or node is
// data in /etc/ftplan (cluster.env, node.env, requirements.txt, the launch folder) or the node's own tags, read
// through IMDSv2. Each is checked by shellcheck and run against stubbed commands in node-scripts.test.ts.

/** Where every node keeps the run's files. */
export const CONFIG_DIR = '/etc/ftplan'
/** Markers (bootstrap.done / bootstrap.failed / job.started) and the bootstrap's log. */
export const STATE_DIR = '/var/lib/ftplan'
export const BOOTSTRAP_LOG = '/var/log/ftplan-bootstrap.log'
/** The PyTorch DLAMI's environment (DLAMI release notes: python_location /opt/pytorch/bin/python). */
export const DEFAULT_PYTHON_ENV = '/opt/pytorch'

/** Shared helpers, sourced by the others. Paths can be moved by the environment so that tests run them in a sandbox. */
export const LIB_SH = `# ftplan: helpers the node scripts share; sourced, never run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # conf, state and pyenv are for the scripts that source this file
conf=\${FTPLAN_CONF:-${CONFIG_DIR}}
# shellcheck disable=SC2034
state=\${FTPLAN_STATE:-${STATE_DIR}}
imds_base=\${FTPLAN_IMDS:-http://169.254.169.254/latest}
# shellcheck source=/dev/null
. "$conf/cluster.env"
# shellcheck source=/dev/null
. "$conf/node.env"
user=\${FTPLAN_USER:-ubuntu}
home=\${FTPLAN_HOME:-$(getent passwd "$user" | cut -d: -f6)}
# shellcheck disable=SC2034
pyenv=\${FTPLAN_PYENV:-${DEFAULT_PYTHON_ENV}}

# IMDSv2: a session token, then the path (EC2 user guide, "Use IMDSv2").
imds() {
  local token
  token=$(curl -sf -X PUT "$imds_base/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') || return 1
  curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds_base/$1"
}
my_tag() { imds "meta-data/tags/instance/$1"; }
tag_self() {
  local id
  id=$(imds meta-data/instance-id) || return 1
  aws ec2 create-tags --region "$FTPLAN_REGION" --resources "$id" --tags "Key=$1,Value=$2"
}
# The job's folder, the same path on every node: the instance-store NVMe where the DLAMI mounts it, else the root volume.
work_dir() {
  if [ -d "\${FTPLAN_NVME:-/opt/dlami/nvme}" ]; then echo "\${FTPLAN_NVME:-/opt/dlami/nvme}/ftplan"; else echo "$home/ftplan"; fi
}
# Copies this node's checkpoints and outputs to the cluster's bucket (its name is the node's ftplan:bucket tag).
sync_checkpoints() {
  local bucket dir
  bucket=$(my_tag ftplan:bucket) || { echo "ftplan: no ftplan:bucket tag; nothing synced" >&2; return 1; }
  dir=$(work_dir)
  [ -d "$dir" ] || return 0
  aws s3 sync "$dir" "s3://$bucket/node-$NODE_RANK/" --region "$FTPLAN_REGION" --only-show-errors --exclude 'launch/*'
}
# Terminates every node of this cluster (its ftplan:cluster tag): one lost node leaves the others unable to train.
stop_group() {
  local cluster ids
  cluster=$(my_tag ftplan:cluster) || return 1
  ids=$(aws ec2 describe-instances --region "$FTPLAN_REGION" --filters "Name=tag:ftplan:cluster,Values=$cluster" \\
    "Name=instance-state-name,Values=pending,running,stopping,stopped" --query 'Reservations[].Instances[].InstanceId' --output text)
  # shellcheck disable=SC2086 # one argument per id
  [ -n "$ids" ] && aws ec2 terminate-instances --region "$FTPLAN_REGION" --instance-ids $ids >/dev/null
}
`

/**
 * Stops the bill: runs first at the first boot, and at every boot after (ftplan-time-limit.service), and schedules the
 * shutdown (so, with shutdown behaviour terminate, the termination) at the first boot + the minutes in the node's
 * `ftplan:max-minutes` tag (EC2 user guide, "View tags for your EC2 instances from instance metadata"). The first boot's
 * time is kept on disk, so a reboot does not restart the clock and a changed tag counts from the first boot. Without the
 * tag, the default limit.
 */
export function armShutdown(defaultMinutes: number): string {
  return `#!/bin/bash
# ftplan: the node's time limit. Scheduled before anything else, so a failed bootstrap still stops billing.
set -euo pipefail
imds=\${FTPLAN_IMDS:-http://169.254.169.254/latest}
state=\${FTPLAN_STATE:-${STATE_DIR}}
token=$(curl -sf -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' || true)
minutes=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/tags/instance/ftplan:max-minutes" || true)
case "$minutes" in
  ''|*[!0-9]*) minutes=${defaultMinutes}; echo "ftplan: no ftplan:max-minutes tag; the node stops $minutes minutes after its first boot" >&2 ;;
esac
mkdir -p "$state"
now=$(date +%s)
[ -s "$state/first-boot" ] || echo "$now" > "$state/first-boot"
first=$(cat "$state/first-boot")
left=$(( (first + minutes * 60 - now + 59) / 60 ))
[ "$left" -ge 1 ] || left=1
shutdown -h "+$left" "ftplan: max_hours reached, this node shuts down and terminates"
echo "ftplan: this node shuts down (and terminates) in $left minutes"
`
}

/**
 * The bootstrap: the training stack, SSH between the nodes for DeepSpeed's pdsh launcher, the job folder, and the
 * watchers. Any failing step stops it; the EXIT trap leaves bootstrap.done or bootstrap.failed (naming the step)
 * and the node's `ftplan:bootstrap` tag, which the user reads from their laptop.
 */
export const BOOTSTRAP_SH = `#!/bin/bash
# ftplan node bootstrap. Log: ${BOOTSTRAP_LOG}; result: ${STATE_DIR}/bootstrap.done or bootstrap.failed, and the
# instance tag ftplan:bootstrap (ready, or failed:<step>).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "\${FTPLAN_CONF:-${CONFIG_DIR}}/lib.sh"
log=\${FTPLAN_LOG:-${BOOTSTRAP_LOG}}
mkdir -p "$state"
rm -f "$state/bootstrap.done" "$state/bootstrap.failed"
exec >>"$log" 2>&1
step=start
finish() {
  local rc=$? status
  if [ "$rc" -eq 0 ]; then
    date -u +%FT%TZ > "$state/bootstrap.done"; status=ready
    echo "ftplan: bootstrap finished; this node is ready"
  else
    echo "bootstrap failed at step $step (exit $rc); see $log" > "$state/bootstrap.failed"; status="failed:$step"
    echo "ftplan: bootstrap FAILED at step $step (exit $rc)"
  fi
  tag_self ftplan:bootstrap "$status" || echo "ftplan: could not tag this instance ftplan:bootstrap=$status"
}
trap finish EXIT
echo "ftplan: bootstrap of node $NODE_RANK of $NNODES starts $(date -u +%FT%TZ)"

step=ssh-key
# The key's SSM parameter is the node's ftplan:ssh-key tag: one per stack, and not in the user data.
install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
key=$(mktemp)
for _ in $(seq 1 30); do
  param=$(my_tag ftplan:ssh-key) &&
    aws ssm get-parameter --region "$FTPLAN_REGION" --with-decryption --name "$param" --query Parameter.Value --output text > "$key" && break
  sleep "\${FTPLAN_RETRY_SECONDS:-10}"
done
[ -s "$key" ]
install -m 600 -o "$user" -g "$user" "$key" "$home/.ssh/id_rsa"
rm -f "$key"
ssh-keygen -y -f "$home/.ssh/id_rsa" > "$home/.ssh/id_rsa.pub"
cat "$home/.ssh/id_rsa.pub" >> "$home/.ssh/authorized_keys"
chown "$user:$user" "$home/.ssh/id_rsa.pub" "$home/.ssh/authorized_keys"
chmod 600 "$home/.ssh/authorized_keys"
prefix=$(echo "$FTPLAN_SUBNET" | cut -d. -f1-3)
printf 'Host %s.*\\n  StrictHostKeyChecking accept-new\\n  UserKnownHostsFile /dev/null\\n  LogLevel ERROR\\n' "$prefix" > "\${FTPLAN_SSH_CONFIG:-/etc/ssh/ssh_config.d/90-ftplan.conf}"
if [ -f "$conf/launch/.deepspeed_env" ]; then install -m 644 -o "$user" -g "$user" "$conf/launch/.deepspeed_env" "$home/.deepspeed_env"; fi

step=pdsh
if [ "$NNODES" -gt 1 ] && ! command -v pdsh >/dev/null; then
  if [ "$FTPLAN_OFFLINE" = 1 ]; then echo "ftplan: pdsh is missing and the node is offline: bake pdsh into the AMI"; exit 1; fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q pdsh
fi

step=python
if [ ! -x "$pyenv/bin/python" ]; then
  if [ "$FTPLAN_OFFLINE" = 1 ]; then echo "ftplan: no Python environment at $pyenv and the node is offline: bake one into the AMI"; exit 1; fi
  # An image without the PyTorch DLAMI's environment (the base DLAMI, for GPUs the PyTorch DLAMI does not list).
  python3 -m venv "$pyenv"
  "$pyenv/bin/pip" install -q "torch==$FTPLAN_TORCH.*"
fi

step=pip
if [ "$FTPLAN_OFFLINE" = 1 ]; then
  echo "ftplan: offline: installing nothing; the AMI must hold what requirements.txt pins"
else
  "$pyenv/bin/pip" install -q -r "$conf/requirements.txt"
fi

step=check
"$pyenv/bin/python" - "$GPUS_PER_NODE" "$FTPLAN_DEEPSPEED" "$FTPLAN_LLAMAFACTORY" <<'PY'
import importlib, sys
import torch, deepspeed
want, pinned, lf = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
have = torch.cuda.device_count()
print(f"ftplan: torch {torch.__version__} (CUDA {torch.version.cuda}), deepspeed {deepspeed.__version__}, {have} GPUs")
if lf:
    importlib.import_module("llamafactory")
if deepspeed.__version__ != pinned:
    print(f"ftplan: WARNING: deepspeed {deepspeed.__version__} is not the pinned {pinned}")
if have != want:
    sys.exit(f"ftplan: {have} GPUs visible, the plan has {want} per node")
PY

step=job-folder
work=$(work_dir)
install -d -o "$user" -g "$user" "$work"
cp -r "$conf/launch" "$work/"
# LLaMA-Factory's own datasets (identity, alpaca_en_demo, …) live in its repository's data/ folder, which pip does not
# install: fetch it at the pinned ref, so YAMLs that name them train as they do in a checkout (dataset_dir: data).
if [ "$FTPLAN_OFFLINE" != 1 ] && [ -n "\${FTPLAN_LF_REF:-}" ] && [ ! -d "$work/data" ]; then
  if curl -fsSL "https://github.com/hiyouga/LLaMA-Factory/archive/$FTPLAN_LF_REF.tar.gz" | tar -xz -C "$work" --strip-components=1 --wildcards '*/data/*'; then
    chown -R "$user:$user" "$work/data"
  else
    echo "ftplan: WARNING: could not fetch LLaMA-Factory's data/ at $FTPLAN_LF_REF; YAMLs that name its bundled datasets will not find them"
  fi
fi
chown -R "$user:$user" "$work/launch"
# shellcheck disable=SC2016 # $PATH is for the login shell to expand
printf 'export PATH=%s/bin:$PATH\\nexport FTPLAN_WORK=%s\\n' "$pyenv" "$work" > "\${FTPLAN_PROFILE:-/etc/profile.d/ftplan.sh}"

step=watchers
systemctl daemon-reload
systemctl enable --now ftplan-sync.timer ftplan-final-sync.service
if [ "\${FTPLAN_IDLE_MINUTES:-0}" -gt 0 ]; then systemctl enable --now ftplan-idle-stop.service; fi
if [ "$FTPLAN_MARKET" = spot ]; then systemctl enable --now ftplan-spot-watch.service; fi
# ftplan-train, run as the user, marks the job's start here.
chown "$user" "$state"
step=finished
`

/**
 * An all-reduce across every GPU of the cluster, timed as nccl-tests does: bus bandwidth = bytes × 2(n−1)/n ÷ time
 * (nccl-tests doc/PERFORMANCE.md, "All-Reduce"), against the ring bandwidth the time model assumed.
 */
export const NCCL_CHECK_PY = `# ftplan: all-reduce bus bandwidth across every GPU, as nccl-tests reports it.
import os, sys, time
import torch
import torch.distributed as dist

dist.init_process_group("nccl")
torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
world = dist.get_world_size()
x = torch.zeros(128 * 2**20, dtype=torch.bfloat16, device="cuda")
for _ in range(5):
    dist.all_reduce(x)
torch.cuda.synchronize()
iters = 20
start = time.perf_counter()
for _ in range(iters):
    dist.all_reduce(x)
torch.cuda.synchronize()
seconds = (time.perf_counter() - start) / iters
bus = x.numel() * x.element_size() * 2 * (world - 1) / world / seconds / 1e9
if dist.get_rank() == 0:
    assumed = float(sys.argv[1])
    print(f"ftplan-train: all-reduce of 256 MiB over {world} GPUs: bus bandwidth {bus:.1f} GB/s; the plan assumed {assumed:.1f} GB/s")
    if bus < 0.5 * assumed:
        print("ftplan-train: WARNING: under half the assumed bandwidth; the job will take longer than estimated "
              "(on EFA nodes check fi_info -p efa and NCCL_DEBUG=INFO in the log)")
dist.destroy_process_group()
`

/**
 * The one command that starts the job, on node 0: every node bootstrapped, the all-reduce check, then the launch
 * folder's launch.sh (DeepSpeed's launcher reaches the other nodes itself; torchrun and LLaMA-Factory are
 * started on every node through pdsh).
 */
export const FTPLAN_TRAIN_SH = `#!/bin/bash
# usage: ftplan-train [--skip-check] [hf|deepspeed|torchrun|llamafactory]
#   hf, deepspeed, torchrun: TRAIN_SCRIPT=/path/to/train.py (the same path on every node); llamafactory: launch/train.yaml
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "\${FTPLAN_CONF:-${CONFIG_DIR}}/lib.sh"
export PATH="$pyenv/bin:$PATH"
check=1
if [ "\${1:-}" = --skip-check ]; then check=0; shift; fi
launcher=\${1:-$FTPLAN_LAUNCHER}
case "$launcher" in hf|deepspeed|torchrun|llamafactory) ;; *) echo "usage: ftplan-train [--skip-check] [hf|deepspeed|torchrun|llamafactory]" >&2; exit 2 ;; esac
if [ "$NODE_RANK" != 0 ]; then echo "ftplan-train: run it on node 0 ($MASTER_ADDR); it starts the other nodes" >&2; exit 2; fi
work=$(work_dir)
hosts=
if [ -s "$conf/launch/hostfile" ]; then hosts=$(cut -d' ' -f1 "$conf/launch/hostfile" | paste -sd, -); fi
on_all() { if [ -n "$hosts" ]; then pdsh -R ssh -w "$hosts" "$1"; else bash -c "$1"; fi; }

echo "ftplan-train: checking that every node finished its bootstrap"
if ! on_all "test -f $state/bootstrap.done || { cat $state/bootstrap.failed 2>/dev/null || echo 'bootstrap still running'; exit 1; }"; then
  echo "ftplan-train: a node is not ready; its log is ${BOOTSTRAP_LOG}" >&2; exit 1
fi
if [ "$check" = 1 ]; then
  if [ -n "$hosts" ]; then
    (cd "$HOME" && deepspeed --hostfile "$conf/launch/hostfile" --num_nodes "$NNODES" --num_gpus "$GPUS_PER_NODE" --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" "$conf/nccl_check.py" "$FTPLAN_BUS_GBPS")
  else
    deepspeed --num_gpus "$GPUS_PER_NODE" "$conf/nccl_check.py" "$FTPLAN_BUS_GBPS"
  fi
fi
on_all "touch $state/job.started"
cd "$work"
case "$launcher" in
  hf|deepspeed) exec ./launch/launch.sh "$launcher" ;;
  *) on_all "set -a; . $conf/node.env; set +a; export PATH=$pyenv/bin:\\$PATH; cd $work && ./launch/launch.sh $launcher" ;;
esac
`

/** Spot: on the two-minute interruption notice, save what can be saved and end the whole group. */
export const SPOT_WATCH_SH = `#!/bin/bash
# ftplan: watches for the spot interruption notice (EC2 user guide, "Spot Instance interruption notices").
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "\${FTPLAN_CONF:-${CONFIG_DIR}}/lib.sh"
while sleep "\${FTPLAN_TICK:-5}"; do
  if imds meta-data/spot/instance-action >/dev/null; then
    echo "ftplan: spot interruption notice; syncing checkpoints and terminating the whole cluster"
    sync_checkpoints || echo "ftplan: checkpoint sync failed"
    stop_group || shutdown -h now "ftplan: spot interruption"
    exit 0
  fi
done
`

/** Idle stop: once a job has started, GPUs idle for FTPLAN_IDLE_MINUTES in a row mean the job is over. */
export const IDLE_STOP_SH = `#!/bin/bash
# ftplan: shuts the node down (and so terminates it) when its GPUs stay idle after a job.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "\${FTPLAN_CONF:-${CONFIG_DIR}}/lib.sh"
limit=\${FTPLAN_IDLE_MINUTES:-0}
[ "$limit" -gt 0 ] || exit 0
idle=0
while sleep "\${FTPLAN_TICK:-60}"; do
  if [ ! -f "$state/job.started" ]; then idle=0; continue; fi
  # a GPU is busy above 5 % (nvidia-smi's share of the last sample period a kernel ran): an idle GPU reads 0, one that
  # trains reads near 100; 5 is a choice that lets a stray monitoring kernel through
  busy=$(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | awk '$1 > 5' | wc -l)
  if [ "$busy" -eq 0 ]; then idle=$((idle + 1)); else idle=0; fi
  if [ "$idle" -ge "$limit" ]; then
    echo "ftplan: GPUs idle for $limit minutes after the job; syncing and shutting down"
    sync_checkpoints || echo "ftplan: checkpoint sync failed"
    shutdown -h now "ftplan: GPUs idle after the job"
    exit 0
  fi
done
`

export const SYNC_SH = `#!/bin/bash
# ftplan: copies this node's job folder (checkpoints, outputs) to the cluster's S3 bucket.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "\${FTPLAN_CONF:-${CONFIG_DIR}}/lib.sh"
sync_checkpoints
`

/**
 * systemd units: a periodic sync, one at shutdown (ExecStop runs before the network goes down), and the watchers.
 * Every 15 minutes is a choice: a spot reclaim's two-minute notice loses at most a quarter hour of checkpoints, and
 * `aws s3 sync` sends only what changed. TimeoutStopSec=900 gives the last sync the same quarter hour.
 */
export const SYSTEMD_UNITS: Record<string, string> = {
  'ftplan-sync.service': `[Unit]\nDescription=ftplan: sync checkpoints to S3\n[Service]\nType=oneshot\nExecStart=${CONFIG_DIR}/sync.sh\n`,
  'ftplan-sync.timer': `[Unit]\nDescription=ftplan: sync checkpoints to S3 every 15 minutes\n[Timer]\nOnBootSec=15min\nOnUnitActiveSec=15min\n[Install]\nWantedBy=timers.target\n`,
  'ftplan-final-sync.service': `[Unit]\nDescription=ftplan: sync checkpoints to S3 at shutdown\nWants=network-online.target\nAfter=network-online.target\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=${CONFIG_DIR}/sync.sh\nTimeoutStopSec=900\n[Install]\nWantedBy=multi-user.target\n`,
  'ftplan-time-limit.service': `[Unit]\nDescription=ftplan: re-arm the node's time limit at every boot\n[Service]\nType=oneshot\nExecStart=${CONFIG_DIR}/arm-shutdown.sh\n[Install]\nWantedBy=multi-user.target\n`,
  'ftplan-idle-stop.service': `[Unit]\nDescription=ftplan: stop the node when its GPUs stay idle after a job\n[Service]\nExecStart=${CONFIG_DIR}/idle-stop.sh\nRestart=on-failure\n[Install]\nWantedBy=multi-user.target\n`,
  'ftplan-spot-watch.service': `[Unit]\nDescription=ftplan: end the cluster on a spot interruption notice\n[Service]\nExecStart=${CONFIG_DIR}/spot-watch.sh\nRestart=on-failure\n[Install]\nWantedBy=multi-user.target\n`,
}
