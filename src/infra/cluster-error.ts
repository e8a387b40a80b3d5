/** A cluster the inputs cannot make (addresses that do not fit the subnet, user data over EC2's limit): the user's to fix. */
export class ClusterError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ClusterError'
  }
}
