/** What the command line exits with: 1 for a failure, 2 for a usage mistake (SPEC section 7). */

export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  readonly exitCode: number = 1;
}

export class UsageError extends CliFailure {
  override readonly exitCode = 2;
}
