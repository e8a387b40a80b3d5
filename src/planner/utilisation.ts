import type { GpuName } from '../instances/names.js'

/**
 * Hardware FLOPs utilisation (executed FLOPs incl. recompute ÷ peak dense) a well-configured bf16 fine-tune
 * reaches per GPU model. "calibrated": the median implied by the expressible rows of
 * shared/reference/throughput-calibration.yaml on that GPU (llm-foundry, torchtune, NeMo AutoModel, InternEvo;
 * test/calibration/throughput-calibration.test.ts prints them). "heuristic": no published row; set below the
 * calibrated cards for the reason given. `train.mfu` in the spec overrides it. One value serves every method:
 * the 8 LoRA and QLoRA rows are estimated within −7 % … +8 % with it, once LoRA's 4N FLOPs are counted.
 */
export interface Utilisation {
  hfu: number
  basis: 'calibrated' | 'heuristic'
  why: string
}

const A100: Utilisation = { hfu: 0.65, basis: 'calibrated', why: 'median implied by the 28 A100 rows (0.48–0.74)' }
const H100: Utilisation = { hfu: 0.48, basis: 'calibrated', why: 'median implied by the 24 H100 rows (0.40–0.58)' }
const HOPPER_LIKE = (why: string): Utilisation => ({ hfu: 0.48, basis: 'heuristic', why })
const PCIE_CARD = (hfu: number, why: string): Utilisation => ({ hfu, basis: 'heuristic', why })

export const UTILISATION: Record<GpuName, Utilisation> = {
  'A100-40GB': A100,
  'A100-80GB': A100,
  H100,
  H200: HOPPER_LIKE('same GH100 compute as H100; its extra bandwidth is not credited'),
  B200: HOPPER_LIKE('no published fine-tuning rows; H100 value'),
  B300: HOPPER_LIKE('no published fine-tuning rows; H100 value'),
  L40S: PCIE_CARD(0.4, 'Ada PCIe card: peak needs sustained boost clocks at 350 W; below the SXM cards'),
  A10G: PCIE_CARD(0.35, 'peak is the A10 datasheet figure, an upper bound for the A10G'),
  L4: PCIE_CARD(0.3, '72 W card: clocks throttle under sustained tensor load'),
  T4: PCIE_CARD(0.3, '70 W card, fp16 only (no bf16): clocks throttle under sustained tensor load'),
  V100: PCIE_CARD(0.4, 'Volta, fp16 with loss scaling; no flash-attention 2 kernels'),
  'V100-32GB': PCIE_CARD(0.4, 'Volta, fp16 with loss scaling; no flash-attention 2 kernels'),
  'RTX-PRO-4500': PCIE_CARD(0.35, 'Blackwell workstation card; no published rows'),
  'RTX-PRO-6000': PCIE_CARD(0.35, 'Blackwell workstation card; no published rows'),
  K80: PCIE_CARD(0.3, 'no peak tensor figure; cannot be timed'),
  M60: PCIE_CARD(0.3, 'no peak tensor figure; cannot be timed'),
  T4G: PCIE_CARD(0.3, 'no peak tensor figure; cannot be timed'),
}
