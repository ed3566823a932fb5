import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_VARIABLES } from '../../src/auth/index.js';
import { CONFIG_VARIABLES } from '../../src/config/index.js';
import { RUCIO_VARIABLES } from '../../src/rucio/index.js';
import { USER_TABLE_VARIABLES } from '../../src/usertables/index.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('the README stays true', () => {
  it('documents every configuration variable the code reads', () => {
    for (const v of [...CONFIG_VARIABLES, ...AUTH_VARIABLES, ...USER_TABLE_VARIABLES, ...RUCIO_VARIABLES])
      expect(readme, v.name).toContain(`\`${v.name}\``);
  });

  it('keeps the two commands, and .ci/run calls the test command', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('bash .ci/run');
    expect(readFileSync(join(import.meta.dirname, '..', '..', '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
