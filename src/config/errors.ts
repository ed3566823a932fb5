/**
 * A problem with how vonode was configured or with its surroundings. The CLI prints
 * it as one line, problem then fix, and exits non-zero: no stack trace.
 */
export class ConfigError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem}; ${fix}`);
    this.name = 'ConfigError';
  }
}
