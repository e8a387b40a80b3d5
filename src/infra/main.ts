// Pulumi's entry point (Pulumi.yaml `main`): each export is a stack output. The cost outputs are plain values
// from the plan, so `pulumi preview` prints them before anything exists.
import { ftplanProgram } from './program.js'

const { outputs } = ftplanProgram()

export const instanceType = outputs.instanceType
export const region = outputs.region
export const nodes = outputs.nodes
export const gpus = outputs.gpus
export const gpuModel = outputs.gpuModel
export const gpuMemoryNeededGb = outputs.gpuMemoryNeededGb
export const gpuMemoryAvailableGb = outputs.gpuMemoryAvailableGb
export const market = outputs.market
export const hourlyCostUsd = outputs.hourlyCostUsd
export const spotHourlyCostUsd = outputs.spotHourlyCostUsd
export const estimatedJobHours = outputs.estimatedJobHours
export const estimatedJobCostUsd = outputs.estimatedJobCostUsd
export const estimatedJobHoursRange = outputs.estimatedJobHoursRange
export const estimatedJobCostUsdRange = outputs.estimatedJobCostUsdRange
export const catalogAsOf = outputs.catalogAsOf
export const launchCommand = outputs.launchCommand
export const maxHours = outputs.maxHours
export const idleMinutes = outputs.idleMinutes
export const natHourlyCostUsd = outputs.natHourlyCostUsd
export const natDownloadCostUsd = outputs.natDownloadCostUsd
export const trainCommand = outputs.trainCommand
export const bootstrapLog = outputs.bootstrapLog
export const privateIps = outputs.privateIps
export const instanceIds = outputs.instanceIds
export const ssmCommands = outputs.ssmCommands
export const checkpointBucket = outputs.checkpointBucket
export const startJob = outputs.startJob
