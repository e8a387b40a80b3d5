/**
 * GPU model names as ftplan spells them in `constraints.gpus`: the NVIDIA GPUs of AWS's GPU instance
 * families in ftplan's reference catalog (shared/reference/aws-gpu-catalog.csv, specs as of 2026-07-11).
 * A100 and V100 come in two memory sizes, so their names carry the size.
 */
export const GPU_NAMES = [
  'K80', 'M60', 'T4', 'T4G', 'V100', 'V100-32GB', 'A10G', 'L4', 'L40S', 'A100-40GB', 'A100-80GB',
  'H100', 'H200', 'B200', 'B300', 'RTX-PRO-4500', 'RTX-PRO-6000',
] as const
export type GpuName = (typeof GPU_NAMES)[number]

/**
 * AWS commercial and GovCloud regions (AWS "Regions and Availability Zones" documentation, read
 * 2026-11-28). A well-formed region not listed here is accepted with a note: AWS adds regions.
 */
export const AWS_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-south-1',
  'ap-south-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
  'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7', 'ca-central-1', 'ca-west-1',
  'eu-central-1', 'eu-central-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-south-1', 'eu-south-2',
  'eu-north-1', 'il-central-1', 'me-south-1', 'me-central-1', 'mx-central-1', 'sa-east-1',
  'us-gov-east-1', 'us-gov-west-1',
] as const

export const AWS_REGION_PATTERN = /^[a-z]{2}(-gov)?-[a-z]+-\d{1,2}$/
