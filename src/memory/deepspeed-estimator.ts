/**
 * DeepSpeed's own model-state estimators, transcribed from deepspeed/runtime/zero/stage_1_and_2.py
 * (estimate_zero2_model_states_mem_needs) and stage3.py (estimate_zero3_model_states_mem_needs) at
 * microsoft/DeepSpeed@38327e07 (memory-model §3.2). They count model states only (no activations, no
 * buffers) and print GiB labelled "GB". ftplan shows them beside its own estimate (`estimate --compare`).
 */
export interface DeepSpeedEstimate {
  cpuBytes: number
  gpuBytes: number
}

export function deepSpeedZero2Estimate(totalParams: number, gpusPerNode = 1, nodes = 1, cpuOffload = true, additionalBufferFactor = 1.5): DeepSpeedEstimate {
  const totalGpus = nodes * gpusPerNode
  let gpuMem: number
  let cpuMem: number
  if (cpuOffload) {
    gpuMem = 2 * totalParams
    cpuMem = totalParams * Math.max(4 * totalGpus, 16) * additionalBufferFactor
  } else {
    // 2 = params_16bit; 18 = 2 grads_16bit + 4 grads_32bit + 4 params_32bit + 8 optimizer states (DeepSpeed's comment)
    gpuMem = 2 * totalParams + Math.trunc((18 * totalParams) / totalGpus)
    cpuMem = totalParams * 4 * gpusPerNode * additionalBufferFactor
  }
  return { cpuBytes: Math.trunc(cpuMem), gpuBytes: Math.trunc(gpuMem) }
}

export function deepSpeedZero3Estimate(
  totalParams: number, largestLayerParams: number, gpusPerNode = 1, nodes = 1, cpuOffload = true, cpuOffloadParams = true,
  zeroInit = true, additionalBufferFactor = 1.5,
): DeepSpeedEstimate & { largestLayerBytes: number } {
  const totalGpus = nodes * gpusPerNode
  const gpusFactor = 1 / nodes
  const largestLayerMemory = 4 * largestLayerParams
  let gpuMem: number
  let cpuMem: number
  if (cpuOffload) {
    if (cpuOffloadParams) {
      gpuMem = largestLayerMemory
      cpuMem = zeroInit ? totalParams * 18 * gpusFactor * additionalBufferFactor : totalParams * Math.max(4 * gpusPerNode, 18 * gpusFactor) * additionalBufferFactor
    } else {
      gpuMem = largestLayerMemory + Math.trunc((2 * totalParams) / totalGpus)
      cpuMem = zeroInit ? totalParams * 16 * gpusFactor * additionalBufferFactor : totalParams * Math.max(4 * gpusPerNode, 16 * gpusFactor) * additionalBufferFactor
    }
  } else {
    gpuMem = largestLayerMemory + Math.trunc((18 * totalParams) / totalGpus)
    cpuMem = zeroInit ? largestLayerParams * 4 * gpusPerNode * additionalBufferFactor : totalParams * 4 * gpusPerNode * additionalBufferFactor
  }
  return { cpuBytes: Math.trunc(cpuMem), gpuBytes: Math.trunc(gpuMem), largestLayerBytes: largestLayerMemory }
}
