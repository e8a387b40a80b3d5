import type { Command } from 'commander'
import type { CommandContext } from './plan-command.js'

// The provisioning commands load their code, and @pulumi for preview, only when they run: start-up stays lean.
export function addInfraCommands(program: Command, ctx: CommandContext): void {
  program
    .command('emit')
    .description('write a self-contained Pulumi project that provisions the chosen plan (the same GpuCluster component)')
    .argument('<spec>', 'spec file (a Pulumi stack file also brings its ftplan:* settings)')
    .requiredOption('--out <dir>', 'the project folder to write (atomically)')
    .option('--force', 'replace a folder that is not empty')
    .addHelpText('after', '\nExample:\n  ftplan emit stacks/Pulumi.example.yaml --out cluster/')
    .action(async (file: string, opts: { out: string; force?: boolean }) => {
      const { emitProject } = await import('./infra-actions.js')
      await emitProject(ctx, file, opts)
    })

  program
    .command('preview')
    .description("run the provisioning program in Pulumi's mock mode: every resource it would create, and the cost outputs (no CLI, no credentials)")
    .argument('<spec>', 'spec file (a Pulumi stack file also brings its ftplan:* settings)')
    .option('--json', 'print JSON: { version, resources: [{ type, name, inputs }], outputs }')
    .addHelpText('after', '\nExample:\n  ftplan preview stacks/Pulumi.example.yaml')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { previewStack } = await import('./infra-actions.js')
      await previewStack(ctx, file, opts)
    })
}
