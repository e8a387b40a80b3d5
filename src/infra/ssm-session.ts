/** The login user of the Ubuntu DLAMI, who holds the cluster's SSH key, ~/.deepspeed_env and the launch files. */
export const NODE_USER = 'ubuntu'

/**
 * The command that opens a shell on a node as the user who can start the job. A plain Session Manager session
 * lands as `ssm-user`, who has neither the SSH key pdsh needs nor ~/.deepspeed_env; AWS-StartInteractiveCommand
 * runs `sudo -iu ubuntu` instead (ssm-user may sudo: Session Manager user guide, "Turn on or turn off ssm-user
 * account administrative permissions"). The target follows.
 */
export function ssmSession(region: string): string {
  return `aws ssm start-session --region ${region} --document-name AWS-StartInteractiveCommand --parameters 'command=["sudo -iu ${NODE_USER}"]'`
}
