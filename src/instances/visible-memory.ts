
/**
 * The memory each GPU shows: nvidia-smi's "Memory-Usage" total, MiB, as printed on the card (public nvidia-smi
 * outputs, e.g. "0MiB / 15360MiB" on a Tesla T4). EC2's DescribeInstanceTypes reports the marketed size instead
 * (T4: 16384 MiB, 1 GiB more than the card has). GPUs missing here fall back to EC2's figure.
 */
export const NVIDIA_SMI_TOTAL_MIB: Record<string, { mib: number; source: string }> = {
  T4: { mib: 15360, source: 'nvidia-smi on Tesla T4 (g4dn): "0MiB / 15360MiB"' },
  T4G: { mib: 15360, source: 'the T4 chip: nvidia-smi "15360MiB"' },
  A10G: { mib: 23028, source: 'nvidia-smi on NVIDIA A10G (g5): "0MiB / 23028MiB"' },
  L4: { mib: 23034, source: 'nvidia-smi on NVIDIA L4 (g6): "0MiB / 23034MiB"' },
  L40S: { mib: 46068, source: 'nvidia-smi on NVIDIA L40S (g6e): "0MiB / 46068MiB"' },
  'A100-40GB': { mib: 40960, source: 'nvidia-smi on NVIDIA A100-SXM4-40GB: "40960MiB"' },
  'A100-80GB': { mib: 81920, source: 'nvidia-smi on NVIDIA A100-SXM4-80GB: "0MiB / 81920MiB"' },
  H100: { mib: 81559, source: 'nvidia-smi on NVIDIA H100 80GB HBM3 (p5): "0MiB / 81559MiB"' },
  H200: { mib: 143771, source: 'nvidia-smi on NVIDIA H200 (p5e/p5en): "0MiB / 143771MiB"' },
  B200: { mib: 183359, source: 'nvidia-smi on NVIDIA B200 (p6-b200): "0MiB / 183359MiB"' },
}

/**
 * The share of nvidia-smi's total that CUDA hands a process (cudaMemGetInfo's total): measured on our H200,
 * torch.cuda.mem_get_info() total 150,109,880,320 B against nvidia-smi's 143771 MiB = 150,753,837,056 B
 * (test/fixtures/measured/README.md), 0.99573. Taken for every GPU [HEUR: one card measured].
 */
export const CUDA_VISIBLE_FRACTION = 150_109_880_320 / (143771 * 2 ** 20)

/**
 * Bytes a training process can hold on one GPU of the offer: the smaller of what EC2 reports for the instance (a
 * fractional GPU such as g6f's half L4 reports its share) and what the card shows, as CUDA gives it to a process.
 */
export function gpuVisibleBytes(offer: { gpu: string; gpuMemoryMiB: number }): number {
  const shown = NVIDIA_SMI_TOTAL_MIB[offer.gpu]?.mib
  const mib = shown === undefined ? offer.gpuMemoryMiB : Math.min(shown, offer.gpuMemoryMiB)
  return Math.floor(mib * 2 ** 20 * CUDA_VISIBLE_FRACTION)
}
