import { fileURLToPath } from 'node:url'
import { main } from '../../src/cli/main.js'

/** The repository root, the CLI's working directory in tests. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Runs the CLI in process, capturing its output and exit code (no subprocess). */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd: ROOT })
  return { code, stdout, stderr }
}
