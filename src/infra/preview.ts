import * as pulumi from '@pulumi/pulumi'
import type { LoadedSpec } from '../spec/load.js'
import type { ClusterOutputs, ClusterPlan } from './cluster-types.js'
import { buildCluster, clusterFromPlan } from './program.js'
import type { ClusterSettings } from './settings.js'

export interface PreviewResource {
  type: string
  name: string
  inputs: Record<string, unknown>
  /** An existing resource the program reads (its id given), not one it creates. */
  read?: boolean
}

export interface MockPreview {
  resources: PreviewResource[]
  outputs: ClusterOutputs & { privateIps: string[] }
}

/** Pulumi marks secret values in serialized inputs with this key (sdk/nodejs/runtime/rpc.ts specialSigKey). */
const SECRET_SIG = '4dabf18193072939515e22adb298388d'

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact)
  if (value && typeof value === 'object') {
    if (SECRET_SIG in value) return '[secret]'
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v)]))
  }
  return value
}

/**
 * Runs the program in Pulumi's mock mode (no CLI, no credentials, nothing created) and returns every resource
 * it registers, with its inputs as the program passed them, and the stack outputs. The zone lookup cannot run
 * without AWS, so the preview shows where the zone will come from.
 */
export async function mockPreview(loaded: LoadedSpec, settings: ClusterSettings, inheritProvider = false, pinned: ClusterPlan | null = null): Promise<MockPreview> {
  const resources: PreviewResource[] = []
  await pulumi.runtime.setMocks({
    newResource(a) {
      const inputs = redact(a.inputs) as Record<string, unknown>
      if (a.type === 'aws:ssm/parameter:Parameter') inputs['value'] = '[secret]'
      resources.push({ type: a.type, name: a.name, inputs, ...(a.id ? { read: true } : {}) })
      const computed: Record<string, unknown> = { name: a.name, arn: `(arn of ${a.name})` }
      if (a.type === 'aws:ec2/launchTemplate:LaunchTemplate') computed['latestVersion'] = 1
      if (a.type === 'aws:s3/bucket:Bucket') computed['bucket'] = `(name of ${a.name}, chosen at deploy)`
      if (a.type === 'aws:ec2/capacityReservation:CapacityReservation') computed['availabilityZone'] = '(the reservation\'s zone, read at deploy)'
      return { id: `(id of ${a.name})`, state: { ...computed, ...a.inputs } }
    },
    call(a) {
      if (a.token === 'aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings') return { locations: ['(first zone offering the instance type, looked up at deploy)'] }
      if (a.token === 'aws:ec2/getVpc:getVpc') return { cidrBlock: '(the VPC\'s CIDR, looked up at deploy)' }
      return a.inputs
    },
  }, 'ftplan', 'preview', true)
  // As the root program: a stack's pinned plan is what it creates.
  const r = pinned ? clusterFromPlan(pinned, false, inheritProvider) : buildCluster(loaded, settings, false, inheritProvider)
  await Promise.all(r.outputs.instanceIds.map((id) => new Promise<string>((resolve) => id.apply(resolve))))
  await pulumi.runtime.disconnect()
  const { instanceIds: _ids, ssmCommands: _ssm, checkpointBucket: _bucket, startJob: _start, ...outputs } = r.outputs
  return { resources, outputs }
}
