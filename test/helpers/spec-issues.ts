import { SpecError, type Issue } from '../../src/errors.js'

/** The issues of the SpecError `load` throws; fails the test when it throws none. */
export function specIssues(load: () => unknown): Issue[] {
  try {
    load()
  } catch (e) {
    if (e instanceof SpecError) return [...e.issues]
    throw e
  }
  throw new Error('expected a SpecError')
}
